use chronicle_es::prelude::*;

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(&mut self, name: String) -> Self {
        Self { name }
    }
}

fn main() {}
