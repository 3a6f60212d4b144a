//! The DogSchool aggregate of the README.

use chronicle_es::prelude::*;

/// A dog at the school.
#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
}

#[aggregate]
impl Dog {
    /// Registers a new dog.
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
        }
    }

    /// Records that the dog learnt a trick.
    #[event("TrickAdded")]
    fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }

    /// The command: rejects a trick the dog already knows.
    pub fn teach(&mut self, trick: &str) -> Result<(), String> {
        if self.tricks.iter().any(|known| known == trick) {
            return Err(format!("{} already knows {trick}", self.name));
        }
        self.add_trick(trick.to_owned());
        Ok(())
    }
}

fn main() {
    let mut dog = Dog::register("Fido".to_owned());
    dog.teach("roll over").unwrap();
    dog.teach("roll over").unwrap_err();
    assert_eq!(dog.name, "Fido");
    assert_eq!(dog.tricks, ["roll over"]);
    assert_eq!(dog.version(), 2);
    let events = dog.collect_events();
    assert_eq!(
        events[1].event,
        DogEvent::TrickAdded {
            trick: "roll over".to_owned()
        }
    );
    assert_eq!(
        <DogEvent as DomainEvent>::EVENT_TYPES,
        ["Registered", "TrickAdded"]
    );
}
