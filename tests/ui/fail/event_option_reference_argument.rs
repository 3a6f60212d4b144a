use chronicle_es::prelude::*;

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    nickname: Option<String>,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String, nickname: Option<&str>) -> Self {
        Self {
            name,
            nickname: nickname.map(str::to_owned),
        }
    }
}

fn main() {}
