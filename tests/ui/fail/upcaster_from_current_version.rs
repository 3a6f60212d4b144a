use chronicle_es::prelude::*;
use chronicle_es::upcast::Value;

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

    #[event("TrickAdded", version = 2)]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }

    #[upcast("TrickAdded", from = 1)]
    fn trick_added_v1(payload: Value) -> Value {
        payload
    }

    #[upcast("TrickAdded", from = 2)]
    fn trick_added_v2(payload: Value) -> Value {
        payload
    }
}

fn main() {}
