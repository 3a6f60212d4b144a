//! Events without arguments, and an event whose body takes `mut` arguments
//! (the public method does not show `mut`; the mutator keeps it).

use chronicle_es::prelude::*;

#[aggregate]
pub struct Counter {
    count: u64,
    labels: Vec<String>,
}

#[aggregate]
impl Counter {
    #[event]
    pub fn start() -> Self {
        Self {
            count: 0,
            labels: Vec::new(),
        }
    }

    #[event]
    pub fn increment(&mut self) {
        self.count += 1;
    }

    #[event("Labelled")]
    pub fn label(&mut self, mut label: String, mut times: u8) {
        label.make_ascii_uppercase();
        while times > 0 {
            self.labels.push(label.clone());
            times -= 1;
        }
    }
}
