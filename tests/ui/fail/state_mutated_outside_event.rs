use chronicle_es::prelude::*;

#[aggregate]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
        }
    }

    pub fn teach(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

fn main() {}
