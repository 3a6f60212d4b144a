use chronicle_es::prelude::*;

#[aggregate]
pub struct Dog {
    name: String,
}

pub trait Named {
    fn name(&self) -> String;
}

#[aggregate]
impl<T: Named> Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self { name }
    }
}

fn main() {}
