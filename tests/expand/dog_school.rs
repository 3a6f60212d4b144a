//! The DogSchool aggregate of the README: one creation event, one event
//! with an argument, and an ordinary command method.

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
