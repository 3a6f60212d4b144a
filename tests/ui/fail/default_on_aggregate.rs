use chronicle_es::prelude::*;

#[aggregate]
#[derive(Debug, Clone, PartialEq, Default)]
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
            ..Default::default()
        }
    }
}

fn main() {
    let _dog = Dog::default();
}
