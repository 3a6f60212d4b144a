use chronicle_es::prelude::*;

#[aggregate(foo)]
pub struct Dog {
    name: String,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self { name }
    }
}

fn main() {}
