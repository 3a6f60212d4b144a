use chronicle_es::prelude::*;

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
    trained: bool,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
            trained: false,
        }
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
        if self.tricks.len() == 3 {
            self.mark_trained();
        }
    }

    #[event("Trained")]
    pub fn mark_trained(&mut self) {
        self.trained = true;
    }
}

fn main() {}
