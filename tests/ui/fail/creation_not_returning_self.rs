use chronicle_es::prelude::*;

#[aggregate]
pub struct Dog {
    name: String,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> String {
        name
    }
}

fn main() {}
