//! A private aggregate whose event arguments have private types: the
//! generated types take the aggregate's visibility, so nothing leaks and
//! `#![deny(warnings)]` holds.

#![deny(warnings)]

mod kennel {
    use chronicle_es::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Collar {
        colour: String,
    }

    #[aggregate]
    #[derive(Debug, Clone, PartialEq)]
    struct Dog {
        collar: Option<Collar>,
    }

    #[aggregate]
    impl Dog {
        #[event("Registered")]
        fn register() -> Self {
            Self { collar: None }
        }

        #[event("Collared")]
        fn put_collar(&mut self, collar: Collar) {
            self.collar = Some(collar);
        }
    }

    pub fn run() {
        let mut dog = Dog::register();
        dog.put_collar(Collar {
            colour: "red".to_owned(),
        });
        let events: Vec<DogEvent> = dog.collect_events().into_iter().map(|e| e.event).collect();
        assert_eq!(events.len(), 2);
        assert_eq!(dog.collar.as_ref().map(|c| c.colour.as_str()), Some("red"));
    }
}

fn main() {
    kennel::run();
}
