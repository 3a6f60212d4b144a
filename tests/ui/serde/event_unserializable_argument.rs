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

    #[event("Collared")]
    pub fn put_collar(&mut self, collar: Collar) {
        self.name = collar.0;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Collar(String);

fn main() {}
