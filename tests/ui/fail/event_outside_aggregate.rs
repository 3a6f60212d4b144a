pub struct Dog {
    tricks: Vec<String>,
}

impl Dog {
    #[chronicle::event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

fn main() {}
