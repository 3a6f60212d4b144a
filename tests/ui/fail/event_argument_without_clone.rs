use chronicle_es::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Collar {
    colour: String,
}

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    collar: Option<String>,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self { name, collar: None }
    }

    #[event("Collared")]
    pub fn put_collar(&mut self, collar: Collar) {
        self.collar = Some(collar.colour);
    }
}

fn main() {}
