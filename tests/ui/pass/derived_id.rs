//! A creation event whose id is derived from its arguments: registering the
//! same name twice gives the same id.

use chronicle_es::prelude::*;

const NAMESPACE: Uuid = Uuid::from_u128(0x6ba7_b810_9dad_11d1_80b4_00c0_4fd4_30c8);

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
}

#[aggregate]
impl Dog {
    #[event("Registered", id = Uuid::new_v5(&NAMESPACE, name.as_bytes()))]
    pub fn register(name: String) -> Self {
        Self { name }
    }
}

fn main() {
    let first = Dog::register("Fido".to_owned());
    let second = Dog::register("Fido".to_owned());
    let other = Dog::register("Rex".to_owned());
    assert_eq!(first.id(), second.id());
    assert_ne!(first.id(), other.id());
    assert_eq!(first.id(), Uuid::new_v5(&NAMESPACE, b"Fido"));
    assert_eq!(first.pending_events()[0].stream_id, first.id());
}
