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

    #[event("Measured")]
    pub fn measure(&mut self, (height, weight): (u8, u8)) {
        let _ = (height, weight);
    }
}

fn main() {}
