//! What the derives on an aggregate struct mean: `Debug` and `Serialize`
//! show the struct the user wrote with its identity in front, `PartialEq`,
//! `Eq` and `Hash` compare identity, version and fields, `Clone` copies,
//! and `Default` and `Deserialize` are for the state (a creation body's
//! `..Default::default()`, snapshots).

use std::collections::HashSet;

use chronicle_es::prelude::*;
use serde::{Deserialize, Serialize};

#[aggregate(snapshots)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
    #[serde(skip)]
    mood: u8,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            ..Default::default()
        }
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
        self.mood += 1;
    }
}

fn main() {
    let mut dog = Dog::register("Fido".to_owned());
    dog.add_trick("sit".to_owned());
    let id = dog.id();

    assert_eq!(
        format!("{dog:?}"),
        format!(r#"Dog {{ id: {id}, version: 2, name: "Fido", tricks: ["sit"], mood: 1 }}"#)
    );
    assert_eq!(
        format!("{dog:#?}"),
        format!("Dog {{\n    id: {id},\n    version: 2,\n    name: \"Fido\",\n    tricks: [\n        \"sit\",\n    ],\n    mood: 1,\n}}")
    );

    let json = serde_json::to_value(&dog).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "id": id.to_string(), "version": 2, "name": "Fido", "tricks": ["sit"] })
    );

    let copy = dog.clone();
    assert_eq!(copy, dog);
    let mut dogs = HashSet::new();
    dogs.insert(dog.clone());
    assert!(dogs.contains(&copy));
    dog.add_trick("stay".to_owned());
    assert_ne!(copy, dog);
    assert!(!dogs.contains(&dog));
    let other = Dog::register("Fido".to_owned());
    assert_ne!(other, Dog::register("Fido".to_owned()), "another id");
}
