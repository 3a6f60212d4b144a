//! Two creation events, one with an id derived from its arguments, and a
//! private aggregate.

use chronicle_es::prelude::*;

const NAMESPACE: Uuid = Uuid::from_u128(0x6ba7_b810_9dad_11d1_80b4_00c0_4fd4_30c8);

#[aggregate]
#[derive(Debug)]
struct Customer {
    email: String,
    name: Option<String>,
    active: bool,
}

#[aggregate]
impl Customer {
    /// Signs a customer up; the same email always gives the same id.
    #[event("SignedUp", id = Uuid::new_v5(&NAMESPACE, email.as_bytes()))]
    fn sign_up(email: String, name: Option<String>) -> Self {
        Self {
            email,
            name,
            active: true,
        }
    }

    /// Imports a customer from the old system, with a fresh random id.
    #[event("Imported")]
    fn import(email: String) -> Customer {
        Self {
            email,
            name: None,
            active: false,
        }
    }

    #[event]
    fn activate(&mut self) {
        self.active = true;
    }
}
