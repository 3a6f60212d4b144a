use chronicle_es::prelude::*;
use chronicle_es::upcast::Value;

#[aggregate(snapshots, version = 3)]
#[derive(serde::Serialize, serde::Deserialize)]
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

    #[upcast(state, from = 1)]
    fn state_v1(state: Value) -> Value {
        state
    }
}

fn main() {}
