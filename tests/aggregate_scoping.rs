//! Events are scoped to their aggregate: a dog and a cat both have a
//! creation event named `Registered` with a `name`, and every typed follower
//! (subscription filter, projection, process application) of one of them
//! receives its own aggregate's events only, on every store. A renamed
//! aggregate's followers also receive the events stored under its former
//! name.

mod common;

use std::sync::{Arc, Mutex};

use chronicle_es::prelude::*;
use chronicle_es::{
    Codec, HandlerError, Policy, ProcessContext, ProcessRunner, ProcessStore, Projection,
    ProjectionRunner, Subscription, SubscriptionOptions,
};
use common::dogs::{Dog, DogEvent};
use common::stores::{self, Harness};

mod cats {
    use super::*;

    #[aggregate]
    #[derive(Debug, Clone, PartialEq)]
    pub struct Cat {
        name: String,
        purrs: u32,
    }

    #[aggregate]
    impl Cat {
        #[event("Registered")]
        pub fn register(name: String) -> Self {
            Self { name, purrs: 0 }
        }

        #[event("Purred")]
        pub fn purr(&mut self) {
            self.purrs += 1;
        }
    }
}

/// What `Dog` became: the same events, stored from now on as `Hound`'s.
mod hounds {
    use super::*;

    #[aggregate(aliases = ["Dog"])]
    #[derive(Debug, Clone, PartialEq)]
    pub struct Hound {
        name: String,
        tricks: Vec<String>,
    }

    #[aggregate]
    impl Hound {
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
    }
}

use cats::{Cat, CatEvent};
use hounds::{Hound, HoundEvent};

/// The names registered, in the order the projection saw them.
struct Names<E> {
    name: &'static str,
    seen: Arc<Mutex<Vec<String>>>,
    registered: fn(&E) -> Option<&String>,
}

impl<E: DomainEvent> Projection for Names<E> {
    type Event = E;
    type Writes = ();

    fn name(&self) -> &str {
        self.name
    }

    fn handle(&mut self, event: &Envelope<E>, (): &mut ()) -> Result<(), HandlerError> {
        if let Some(name) = (self.registered)(&event.event) {
            self.seen.lock().unwrap().push(name.clone());
        }
        Ok(())
    }
}

fn names<E>(
    name: &'static str,
    registered: fn(&E) -> Option<&String>,
) -> (Names<E>, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let projection = Names {
        name,
        seen: Arc::clone(&seen),
        registered,
    };
    (projection, seen)
}

/// Counts the dogs it reacts to, in a store of its own.
struct WelcomeDogs {
    welcomed: Arc<Mutex<Vec<Uuid>>>,
}

impl Policy for WelcomeDogs {
    type Event = DogEvent;

    fn name(&self) -> &str {
        "welcome_dogs"
    }

    async fn react<S: ProcessStore, C: Codec>(
        &self,
        event: &Envelope<DogEvent>,
        _: &mut ProcessContext<'_, S, C>,
    ) -> Result<(), HandlerError> {
        if let DogEvent::Registered { .. } = event.event {
            self.welcomed.lock().unwrap().push(event.stream_id);
        }
        Ok(())
    }
}

async fn each_follower_sees_its_own_aggregate<S: EventStore>(app: Application<S>) {
    // Interleaved, in one save and in several.
    let mut fido = Dog::register("Fido".into());
    let mut tom = Cat::register("Tom".into());
    app.save((&mut fido, &mut tom)).await.unwrap();
    tom.purr();
    app.save(&mut tom).await.unwrap();
    let mut felix = Cat::register("Felix".into());
    let mut rex = Dog::register("Rex".into());
    rex.add_trick("sit".into());
    app.save((&mut felix, &mut rex)).await.unwrap();

    // The log filtered by aggregate.
    let cats = app
        .read_log(LogQuery::after(0, 100).aggregate_types(["Cat"]))
        .await
        .unwrap();
    assert_eq!(
        cats.iter().map(|e| e.stream_id).collect::<Vec<_>>(),
        [tom.id(), tom.id(), felix.id()]
    );
    assert!(cats
        .iter()
        .all(|e| e.aggregate_type.as_deref() == Some("Cat")));

    // Projections typed by their events.
    let (dog_names, dogs_seen) = names("dog_names", |event: &DogEvent| match event {
        DogEvent::Registered { name } => Some(name),
        _ => None,
    });
    let (cat_names, cats_seen) = names("cat_names", |event: &CatEvent| match event {
        CatEvent::Registered { name } => Some(name),
        _ => None,
    });
    let handled = ProjectionRunner::new(app.clone(), dog_names)
        .catch_up(|_| {})
        .await
        .unwrap();
    assert_eq!(handled, 3, "Fido's registration, Rex's and his trick");
    ProjectionRunner::new(app.clone(), cat_names)
        .catch_up(|_| {})
        .await
        .unwrap();
    assert_eq!(*dogs_seen.lock().unwrap(), ["Fido", "Rex"]);
    assert_eq!(*cats_seen.lock().unwrap(), ["Tom", "Felix"]);

    // A process application typed by its events.
    let welcomed = Arc::new(Mutex::new(Vec::new()));
    let welcomes = Application::new(chronicle_es::store::MemoryStore::new());
    let policy = WelcomeDogs {
        welcomed: Arc::clone(&welcomed),
    };
    ProcessRunner::new(app.clone(), welcomes, policy)
        .catch_up(|_| {})
        .await
        .unwrap();
    assert_eq!(*welcomed.lock().unwrap(), [fido.id(), rex.id()]);

    // A subscription with an aggregate filter.
    let options = SubscriptionOptions {
        aggregate_types: Some(vec!["Dog".into()]),
        ..SubscriptionOptions::default()
    };
    let mut subscription = Subscription::new(app.clone(), 0, options);
    let batch = subscription.catch_up_batch().await.unwrap();
    assert_eq!(
        batch.iter().map(|e| e.stream_id).collect::<Vec<_>>(),
        [fido.id(), rex.id(), rex.id()]
    );

    // Dog renamed Hound (alias "Dog"): its followers read both names.
    let mut lassie = Hound::register("Lassie".into());
    lassie.add_trick("rescue".into());
    app.save(&mut lassie).await.unwrap();
    let (hound_names, hounds_seen) = names("hound_names", |event: &HoundEvent| match event {
        HoundEvent::Registered { name } => Some(name),
        _ => None,
    });
    ProjectionRunner::new(app.clone(), hound_names)
        .catch_up(|_| {})
        .await
        .unwrap();
    assert_eq!(*hounds_seen.lock().unwrap(), ["Fido", "Rex", "Lassie"]);
    let fido_as_hound: Hound = app.get(fido.id()).await.unwrap();
    assert_eq!(fido_as_hound.version(), 1);
}

async fn run<S: EventStore>(harness: Harness<S>) {
    let Harness { store, cleanup } = harness;
    each_follower_sees_its_own_aggregate(Application::new(store)).await;
    cleanup.finish().await;
}

#[tokio::test]
async fn in_memory() {
    run(stores::memory()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn in_sqlite() {
    run(stores::sqlite_file().await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_postgres() {
    let Some(harness) = common::postgres::store().await else {
        return;
    };
    run(harness).await;
}
