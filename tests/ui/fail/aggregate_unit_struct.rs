use chronicle_es::prelude::*;

#[aggregate]
pub struct Dog;

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register() -> Self {
        Self
    }
}

fn main() {}
