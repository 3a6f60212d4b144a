//! Hash chains on every store: an application with `hash_chain(true)` links
//! each event it stores to its predecessor, and a load or a verification
//! names the first bad version of a stream that was changed, cut, reordered
//! or added to, including with encrypted payloads and after
//! crypto-shredding.
//!
//! Tampering is done by writing a forged copy of a stream into a fresh
//! store of the same kind through the store's own `append` (which keeps the
//! hashes it is given), so the same cases run on every store; one case
//! changes a SQLite row in place with SQL.

mod common;

use chronicle_es::chain::{ChainBreak, ChainFault, StreamHead};
use chronicle_es::prelude::*;
use chronicle_es::store::{AnyStore, AppendRequest, NewEvent, StoredEvent, StreamAppend};
use common::dogs::{saved_dog, Dog};
use common::stores::{any_stores, Harness};

fn chained(store: &AnyStore) -> Application<AnyStore> {
    Application::builder(store.clone()).hash_chain(true).build()
}

/// A fresh store of the kind `kind`.
async fn fresh(kind: &str) -> Harness<AnyStore> {
    any_stores()
        .await
        .into_iter()
        .find(|harness| harness.store.kind() == kind)
        .unwrap_or_else(|| panic!("no {kind} store"))
}

/// A stored event as an event to append again, hash kept.
fn resend(event: &StoredEvent) -> NewEvent {
    NewEvent::from(event.clone())
}

/// Writes `events` as stream `id` of `store` from version 1.
async fn forge(store: &AnyStore, id: Uuid, events: Vec<NewEvent>) {
    store
        .append(AppendRequest::new(vec![StreamAppend {
            stream_id: id,
            expected_version: 0,
            events,
        }]))
        .await
        .unwrap();
}

fn broken_at(result: Result<impl std::fmt::Debug, Error>, version: u64) -> ChainFault {
    match result {
        Err(Error::Chain(ChainBreak {
            version: at, fault, ..
        })) if at == version => fault,
        other => panic!("expected a broken chain at version {version}, got {other:?}"),
    }
}

/// A change made to a stream's events before they are forged into a store.
type Tamper = fn(&mut Vec<NewEvent>);

/// The ways a stream of five events is tampered with, and the first bad
/// version each must be reported at.
fn tamperings() -> Vec<(&'static str, Tamper, u64)> {
    vec![
        (
            "changed payload",
            |events| events[2].payload = br#"{"trick":"sit"}"#.to_vec(),
            3,
        ),
        (
            "changed metadata",
            |events| events[1].metadata = Metadata::new().with("user", "mallory"),
            2,
        ),
        (
            "changed type",
            |events| events[3].event_type = "Renamed".into(),
            4,
        ),
        ("removed event", |events| drop(events.remove(2)), 3),
        ("reordered pair", |events| events.swap(1, 2), 2),
        (
            "inserted event",
            |events| {
                let copy = events[1].clone();
                events.insert(
                    3,
                    NewEvent {
                        event_id: Uuid::new_v4(),
                        ..copy
                    },
                );
            },
            4,
        ),
        ("hash stripped", |events| events[3].chain_hash = None, 4),
    ]
}

#[tokio::test]
async fn tampering_is_reported_at_the_first_bad_version_on_every_store() {
    for harness in any_stores().await {
        let kind = harness.store.kind();
        let app = chained(&harness.store);
        let dog = saved_dog(&app, "Fido", 2).await;
        // Saved in two appends, so the second links to a stored head.
        let mut dog: Dog = app.get(dog.id()).await.unwrap();
        dog.add_trick("roll over".into());
        dog.add_trick("play dead".into());
        app.save(&mut dog).await.unwrap();

        let stored = harness
            .store
            .read_stream(dog.id(), StreamQuery::all())
            .await
            .unwrap();
        assert_eq!(stored.len(), 5, "{kind}");
        assert!(
            stored.iter().all(|event| event.chain_hash.is_some()),
            "{kind}"
        );
        let loaded: Dog = app.get(dog.id()).await.unwrap();
        assert_eq!(loaded.tricks().len(), 4, "{kind}");
        let head = app.stream_head(dog.id()).await.unwrap().unwrap();
        assert_eq!(
            (head.version, head.hash),
            (5, stored[4].chain_hash),
            "{kind}"
        );
        assert_eq!(
            app.verify_stream(dog.id(), Some(head)).await.unwrap(),
            Some(head)
        );

        for (what, tamper, version) in tamperings() {
            let forged = fresh(kind).await;
            let mut events: Vec<NewEvent> = stored.iter().map(resend).collect();
            tamper(&mut events);
            forge(&forged.store, dog.id(), events).await;
            let forged_app = chained(&forged.store);
            let fault = broken_at(forged_app.get::<Dog>(dog.id()).await, version);
            let verified = broken_at(forged_app.verify_stream(dog.id(), None).await, version);
            assert_eq!(fault, verified, "{kind}, {what}");
            if what == "hash stripped" {
                assert_eq!(fault, ChainFault::Missing, "{kind}");
            }
            forged.finish().await;
        }

        // A truncated end passes the chain, but not a head kept before.
        let forged = fresh(kind).await;
        forge(
            &forged.store,
            dog.id(),
            stored[..4].iter().map(resend).collect(),
        )
        .await;
        let forged_app = chained(&forged.store);
        assert_eq!(forged_app.get::<Dog>(dog.id()).await.unwrap().version(), 4);
        let fault = broken_at(forged_app.verify_stream(dog.id(), Some(head)).await, 5);
        assert_eq!(fault, ChainFault::Truncated { last: 4 }, "{kind}");
        let error = forged_app
            .verify_stream(dog.id(), Some(head))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("truncated"), "{kind}: {error}");
        forged.finish().await;
        harness.finish().await;
    }
}

#[tokio::test]
async fn the_option_is_off_by_default_and_turned_on_later_links_from_unhashed_events() {
    for harness in any_stores().await {
        let kind = harness.store.kind();
        let plain = Application::new(harness.store.clone());
        let old = saved_dog(&plain, "Rex", 1).await;
        let stored = harness
            .store
            .read_stream(old.id(), StreamQuery::all())
            .await
            .unwrap();
        assert!(
            stored.iter().all(|event| event.chain_hash.is_none()),
            "{kind}: off by default"
        );

        // Turned on later: older events stay unhashed, new ones link from them.
        let app = chained(&harness.store);
        let mut rex: Dog = app.get(old.id()).await.unwrap();
        rex.add_trick("fetch".into());
        app.save(&mut rex).await.unwrap();
        let head = app.verify_stream(rex.id(), None).await.unwrap().unwrap();
        assert_eq!(head.version, 3);
        assert!(head.hash.is_some(), "{kind}");
        assert_eq!(app.get::<Dog>(rex.id()).await.unwrap().tricks().len(), 2);
        // A temporal query checks the events it reads.
        assert_eq!(
            app.repository()
                .get_at::<Dog>(rex.id(), 2)
                .await
                .unwrap()
                .version(),
            2
        );
        harness.finish().await;
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_row_changed_in_place_is_caught_on_sqlite() {
    let harness = common::stores::sqlite_file().await;
    let app = Application::builder(harness.store.clone())
        .hash_chain(true)
        .build();
    let dog = saved_dog(&app, "Fido", 3).await;
    drop(app);
    let path = harness.sqlite_path();
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute(
            "UPDATE events SET payload = '{\"trick\":\"beg\"}' WHERE version = 3",
            [],
        )
        .unwrap();
    drop(connection);
    let app = Application::builder(harness.store.clone())
        .hash_chain(true)
        .build();
    let fault = broken_at(app.get::<Dog>(dog.id()).await, 3);
    assert_eq!(fault, ChainFault::Mismatch);
    let error = app.get::<Dog>(dog.id()).await.unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "hash chain of stream {} broken at version 3",
            dog.id()
        )),
        "{error}"
    );
    harness.finish().await;
}

#[test]
fn heads_round_trip_as_json() {
    let head = StreamHead {
        stream_id: Uuid::nil(),
        version: 7,
        hash: Some("ab".repeat(32).parse().unwrap()),
    };
    let json = serde_json::to_string(&head).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"stream_id":"{}","version":7,"hash":"{}"}}"#,
            Uuid::nil(),
            "ab".repeat(32)
        )
    );
    assert_eq!(serde_json::from_str::<StreamHead>(&json).unwrap(), head);
}

#[cfg(feature = "encryption")]
mod encryption {
    use std::sync::Arc;

    use chronicle_es::protect::{CipherKey, MemoryKeyStore, Protection, ProtectionError};

    use super::*;

    #[tokio::test]
    async fn encrypted_streams_are_chained_as_stored_and_verify_after_shredding() {
        for harness in any_stores().await {
            let kind = harness.store.kind();
            let key = CipherKey::from_bytes(&[7; 32]).unwrap();
            let protection = Protection::builder()
                .encrypt_per_stream(key, Arc::new(MemoryKeyStore::new()))
                .build();
            let app = Application::builder(harness.store.clone())
                .protection(protection.clone())
                .hash_chain(true)
                .build();
            let fido = saved_dog(&app, "Fido", 3).await;
            assert_eq!(app.get::<Dog>(fido.id()).await.unwrap().tricks().len(), 3);
            let stored = harness
                .store
                .read_stream(fido.id(), StreamQuery::all())
                .await
                .unwrap();
            assert!(
                !String::from_utf8_lossy(&stored[1].payload).contains("trick"),
                "{kind}"
            );

            // A flipped ciphertext byte breaks the chain before decryption.
            let forged = fresh(kind).await;
            let mut events: Vec<NewEvent> = stored.iter().map(resend).collect();
            let last = events[2].payload.len() - 1;
            events[2].payload[last] ^= 1;
            forge(&forged.store, fido.id(), events).await;
            let forged_app = Application::builder(forged.store.clone())
                .protection(protection.clone())
                .hash_chain(true)
                .build();
            broken_at(forged_app.get::<Dog>(fido.id()).await, 3);
            forged.finish().await;

            // Shredded: unreadable, but the chain still verifies.
            protection.forget(fido.id()).await.unwrap();
            assert!(matches!(
                app.get::<Dog>(fido.id()).await,
                Err(Error::Protection(ProtectionError::Forgotten { .. }))
            ));
            let head = app.verify_stream(fido.id(), None).await.unwrap().unwrap();
            assert_eq!(
                (head.version, head.hash),
                (4, stored[3].chain_hash),
                "{kind}"
            );
            harness.finish().await;
        }
    }
}

mod snapshots {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[aggregate(snapshot_every = 4)]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Counter {
        count: u32,
    }

    #[aggregate]
    impl Counter {
        #[event("Started")]
        pub fn start() -> Self {
            Self { count: 0 }
        }

        #[event("Counted")]
        pub fn count(&mut self) {
            self.count += 1;
        }
    }

    /// A load that starts from a snapshot checks the events after it,
    /// linked to the event at the snapshot's version; `verify_stream` checks
    /// the whole stream.
    #[tokio::test]
    async fn loads_from_a_snapshot_check_the_events_after_it() {
        for harness in any_stores().await {
            let kind = harness.store.kind();
            let app = chained(&harness.store);
            let mut counter = Counter::start();
            (0..3).for_each(|_| counter.count());
            app.save(&mut counter).await.unwrap(); // snapshot at 4
            (0..2).for_each(|_| counter.count());
            app.save(&mut counter).await.unwrap();
            let id = counter.id();
            let snapshot = harness
                .store
                .latest_snapshot(id, None)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(snapshot.version, 4, "{kind}");
            let stored = harness
                .store
                .read_stream(id, StreamQuery::all())
                .await
                .unwrap();

            for (tampered, load_fails) in [(5, true), (2, false)] {
                let forged = fresh(kind).await;
                let mut events: Vec<NewEvent> = stored.iter().map(resend).collect();
                events[tampered - 1].metadata = Metadata::new().with("by", "mallory");
                forge(&forged.store, id, events).await;
                forged.store.save_snapshot(snapshot.clone()).await.unwrap();
                let forged_app = chained(&forged.store);
                let loaded = forged_app.get::<Counter>(id).await;
                if load_fails {
                    broken_at(loaded, tampered as u64);
                } else {
                    assert_eq!(loaded.unwrap().count, 5, "{kind}: before the snapshot");
                }
                broken_at(forged_app.verify_stream(id, None).await, tampered as u64);
                forged.finish().await;
            }
            harness.finish().await;
        }
    }
}

/// The memory store keeps decoded events beside its records, a save path of
/// its own: the events are linked there too.
#[tokio::test]
async fn the_memory_store_links_events_saved_with_their_decoded_form() {
    let store = chronicle_es::store::MemoryStore::new();
    let app = Application::builder(store).hash_chain(true).build();
    let dog = saved_dog(&app, "Fido", 2).await;
    let stored = app
        .store()
        .read_stream(dog.id(), StreamQuery::all())
        .await
        .unwrap();
    assert!(stored.iter().all(|event| event.chain_hash.is_some()));
    let head = app.verify_stream(dog.id(), None).await.unwrap().unwrap();
    assert_eq!((head.version, head.hash), (3, stored[2].chain_hash));
    assert_eq!(app.get::<Dog>(dog.id()).await.unwrap().tricks().len(), 2);
}
