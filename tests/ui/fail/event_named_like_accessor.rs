use chronicle_es::prelude::*;

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    number: u32,
}

#[aggregate]
impl Release {
    #[event("Started")]
    pub fn start() -> Self {
        Self { number: 0 }
    }

    #[event("Bumped")]
    pub fn version(&mut self, number: u32) {
        self.number = number;
    }
}

fn main() {}
