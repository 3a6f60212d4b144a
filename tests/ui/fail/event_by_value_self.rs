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

    #[event("Renamed")]
    pub fn rename(self, name: String) -> Self {
        Self::register(name)
    }
}

fn main() {}
