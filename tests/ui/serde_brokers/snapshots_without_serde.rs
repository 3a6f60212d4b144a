use chronicle_es::prelude::*;

#[aggregate(snapshot_every = 10)]

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

}

fn main() {}
