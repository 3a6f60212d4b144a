//! `crate = "..."` names the library for generated code (a re-export here);
//! `Debug`, `Hash` and `Serialize` on the struct show the aggregate with its
//! identity in front; snapshots store the state.

use platform::es::aggregate;
use serde::{Deserialize, Serialize};

#[aggregate(crate = "::platform::es", snapshot_every = 50)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Counter {
    count: u64,
}

#[aggregate]
impl Counter {
    #[event("Started")]
    pub fn start() -> Self {
        Self { count: 0 }
    }

    #[event("Incremented")]
    pub fn increment(&mut self, by: u64) {
        self.count += by;
    }
}
