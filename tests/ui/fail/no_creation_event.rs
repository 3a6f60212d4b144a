use chronicle_es::prelude::*;

#[aggregate]
pub struct Dog {
    tricks: Vec<String>,
}

#[aggregate]
impl Dog {
    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

fn main() {}
