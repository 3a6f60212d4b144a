use chronicle_es::prelude::*;

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    renamed_at: u64,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            renamed_at: 0,
        }
    }

    #[event("Renamed")]
    pub fn rename(&mut self, name: String) {
        self.name = name;
        self.renamed_at = self.version();
    }
}

fn main() {}
