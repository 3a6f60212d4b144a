pub struct Dog {
    tricks: Vec<String>,
}

impl Dog {
    #[chronicle_es::event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

fn main() {}
