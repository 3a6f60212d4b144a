//! The test aggregates that several files share: the dog school's `Dog`,
//! the `Badge` a dog earns with its third trick, and the policy that awards
//! it. The CLI's tests (`cli/tests/common`) include this file too.
//!
//! Files whose tests need an aggregate of another shape keep their own, and
//! say why: `tests/protection.rs` (a `Dog` that snapshots every 4 events),
//! `tests/snapshots.rs` (counters with and without snapshots),
//! `tests/evolution.rs` (the old and the new shape of the dog school) and
//! `tests/aggregate.rs` (the DSL under test).

use chronicle_es::prelude::*;
use chronicle_es::{Codec, HandlerError, Policy, ProcessContext, ProcessStore};

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
        }
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }

    pub fn tricks(&self) -> &[String] {
        &self.tricks
    }
}

/// A dog named `name` that knows `tricks` tricks (`trick 0`, `trick 1`, …),
/// saved: `1 + tricks` events.
pub async fn saved_dog<S, C>(app: &Application<S, C>, name: &str, tricks: usize) -> Dog
where
    S: StreamStore + SnapshotStore,
    C: Codec,
{
    let mut dog = Dog::register(name.into());
    for t in 0..tricks {
        dog.add_trick(format!("trick {t}"));
    }
    app.save(&mut dog).await.unwrap();
    dog
}

/// The namespace of badge ids: a dog's badge id derives from the dog's.
pub const BADGES: Uuid = Uuid::from_u128(0xbad6_e000_0000_4000_8000_0000_0000_0001);

/// Awarded to a dog that knows three tricks.
#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    pub dog: Uuid,
}

#[aggregate]
impl Badge {
    #[event("BadgeAwarded", id = Uuid::new_v5(&BADGES, dog.as_bytes()))]
    pub fn award(dog: Uuid) -> Self {
        Self { dog }
    }
}

/// Awards a badge when a dog learns its third trick (its fourth event).
pub struct BadgePolicy;

impl Policy for BadgePolicy {
    type Event = DogEvent;

    fn name(&self) -> &str {
        "badges"
    }

    async fn react<S: ProcessStore, C: Codec>(
        &self,
        event: &Envelope<DogEvent>,
        process: &mut ProcessContext<'_, S, C>,
    ) -> Result<(), HandlerError> {
        if matches!(event.event, DogEvent::TrickAdded { .. }) && event.version == 4 {
            process.save(&mut Badge::award(event.stream_id))?;
        }
        Ok(())
    }
}
