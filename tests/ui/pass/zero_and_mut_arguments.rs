//! Events without arguments, and events whose bodies take `mut` arguments.

use chronicle_es::prelude::*;

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
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

fn main() {
    let mut counter = Counter::start();
    counter.increment();
    counter.increment();
    counter.label("hot".to_owned(), 2);
    assert_eq!(counter.count, 2);
    assert_eq!(counter.labels, ["HOT", "HOT"]);
    let events = counter.collect_events();
    assert_eq!(events[1].event, CounterEvent::Increment {});
    // The event records the argument as passed, not as the body changed it.
    assert_eq!(
        events[3].event,
        CounterEvent::Labelled {
            label: "hot".to_owned(),
            times: 2
        }
    );
}
