//! Aggregates declared inside a function (a test, say), and impl blocks
//! written before their struct, work as anywhere else.

use chronicle_es::prelude::*;

#[aggregate]
impl Cat {
    #[event("Adopted")]
    pub fn adopt(name: String) -> Self {
        Self { name }
    }
}

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Cat {
    name: String,
}

fn main() {
    #[aggregate]
    #[derive(Debug, Clone, PartialEq)]
    struct Dog {
        name: String,
    }

    #[aggregate]
    impl Dog {
        #[event("Registered")]
        fn register(name: String) -> Self {
            Self { name }
        }
    }

    let dog = Dog::register("Fido".to_owned());
    assert_eq!(dog.name, "Fido");
    assert!(matches!(&dog.pending_events()[0].event, DogEvent::Registered { name } if name == "Fido"));
    let cat = Cat::adopt("Tom".to_owned());
    assert_eq!(cat.version(), 1);
}
