//! Snapshots: automatic by interval, overridden per application, on demand,
//! and used by `get` and `get_at`, on every store (`AnyStore` harnesses from
//! `tests/common/stores.rs`).

mod common;

use chronicle_es::prelude::*;
use chronicle_es::store::AnyStore;
use chronicle_es::SnapshotError;
use common::stores;
use serde::{Deserialize, Serialize};

// This file's own aggregates, not the shared `Dog`: the tests count
// versions and snapshots, so they need an aggregate whose snapshot interval
// is part of the test (`Counter`), and one without snapshots (`Plain`).

#[aggregate(snapshot_every = 5)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    name: String,
    count: u64,
}

#[aggregate]
impl Counter {
    #[event("Started")]
    pub fn start(name: String) -> Self {
        Self { name, count: 0 }
    }

    #[event("Incremented")]
    pub fn increment(&mut self, by: u64) {
        self.count += by;
    }
}

/// An aggregate without snapshots.
#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Plain {
    value: u32,
}

#[aggregate]
impl Plain {
    #[event]
    pub fn create() -> Self {
        Self { value: 0 }
    }
}

async fn snapshot_versions(app: &Application<AnyStore>, id: Uuid) -> Vec<u64> {
    let mut versions = Vec::new();
    let mut max = None;
    while let Some(snapshot) = app.store().latest_snapshot(id, max).await.unwrap() {
        versions.push(snapshot.version);
        if snapshot.version == 0 {
            break;
        }
        max = Some(snapshot.version - 1);
    }
    versions.reverse();
    versions
}

#[tokio::test]
async fn snapshots_are_taken_at_intervals_and_used_for_loading() {
    let stores = stores::any_stores().await;
    for harness in &stores {
        let (name, store) = (harness.store.kind(), &harness.store);
        let app = Application::new(store.clone());
        let mut counter = Counter::start("c".into());
        app.save(&mut counter).await.unwrap();
        for _ in 0..3 {
            counter.increment(1);
            app.save(&mut counter).await.unwrap();
        }
        assert!(
            snapshot_versions(&app, counter.id()).await.is_empty(),
            "{name}"
        );
        // Version 5 is reached by this save: a snapshot at exactly 5.
        counter.increment(1);
        app.save(&mut counter).await.unwrap();
        assert_eq!(snapshot_versions(&app, counter.id()).await, [5], "{name}");
        // A save of several events crossing 10 snapshots at its last version.
        for _ in 0..7 {
            counter.increment(2);
        }
        app.save(&mut counter).await.unwrap();
        assert_eq!(
            snapshot_versions(&app, counter.id()).await,
            [5, 12],
            "{name}"
        );

        let loaded: Counter = app.get(counter.id()).await.unwrap();
        assert_eq!(loaded, counter, "{name}");
        assert_eq!(loaded.created_on(), counter.created_on(), "{name}");
        assert_eq!(loaded.modified_on(), counter.modified_on(), "{name}");
        // Temporal queries start from the latest snapshot at or below the version.
        for version in 1..=12 {
            let at: Counter = app
                .repository()
                .get_at(counter.id(), version)
                .await
                .unwrap();
            assert_eq!(at.version(), version, "{name}");
            let expected = if version <= 5 {
                version - 1
            } else {
                4 + (version - 5) * 2
            };
            assert_eq!(at.count, expected, "{name} at {version}");
        }
    }
    for harness in stores {
        harness.finish().await;
    }
}

#[tokio::test]
async fn loading_uses_the_snapshot_not_the_early_events() {
    let app = Application::in_memory();
    let mut counter = Counter::start("c".into());
    for _ in 0..4 {
        counter.increment(3);
    }
    app.save(&mut counter).await.unwrap();
    let snapshot = app
        .store()
        .latest_snapshot(counter.id(), None)
        .await
        .unwrap()
        .expect("a snapshot at version 5");
    assert_eq!(snapshot.version, 5);

    // A store holding the snapshot and no events loads the aggregate from
    // the snapshot alone: loading does not replay what the snapshot covers.
    let only_snapshot = chronicle_es::store::MemoryStore::new();
    only_snapshot.save_snapshot(snapshot).await.unwrap();
    let app2 = Application::new(only_snapshot);
    let loaded: Counter = app2.get(counter.id()).await.unwrap();
    assert_eq!(loaded, counter);
}

#[tokio::test]
async fn the_application_overrides_the_interval_and_takes_snapshots_on_demand() {
    let app = Application::builder(chronicle_es::store::MemoryStore::new())
        .snapshot_every::<Counter>(2)
        .build();
    let mut counter = Counter::start("c".into());
    app.save(&mut counter).await.unwrap();
    counter.increment(1);
    app.save(&mut counter).await.unwrap();
    let latest = app
        .store()
        .latest_snapshot(counter.id(), None)
        .await
        .unwrap();
    assert_eq!(latest.map(|s| s.version), Some(2));

    let off = Application::builder(chronicle_es::store::MemoryStore::new())
        .snapshot_every::<Counter>(0)
        .build();
    let mut counter = Counter::start("c".into());
    for _ in 0..9 {
        counter.increment(1);
    }
    off.save(&mut counter).await.unwrap();
    assert!(off
        .store()
        .latest_snapshot(counter.id(), None)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        off.take_snapshot::<Counter>(counter.id()).await.unwrap(),
        10
    );
    let snapshot = off
        .store()
        .latest_snapshot(counter.id(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (snapshot.version, snapshot.snapshot_type.as_str()),
        (10, "Counter")
    );

    let mut plain = Plain::create();
    off.save(&mut plain).await.unwrap();
    match off.take_snapshot::<Plain>(plain.id()).await {
        Err(Error::SnapshotsDisabled { aggregate: "Plain" }) => {}
        other => panic!("expected SnapshotsDisabled, got {other:?}"),
    }
}

#[tokio::test]
async fn a_snapshot_of_another_type_or_bad_bytes_is_a_typed_error() {
    let app = Application::in_memory();
    let mut counter = Counter::start("c".into());
    app.save(&mut counter).await.unwrap();
    let mut snapshot = chronicle_es::store::Snapshot {
        stream_id: counter.id(),
        version: 1,
        snapshot_type: "Dog".into(),
        schema_version: 1,
        timestamp: counter.modified_on(),
        payload: br#"{"created_on":0,"state":{"name":"c","count":0}}"#.to_vec(),
    };
    app.store().save_snapshot(snapshot.clone()).await.unwrap();
    match app.get::<Counter>(counter.id()).await {
        Err(Error::Snapshot {
            version: 1,
            reason: SnapshotError::WrongType { stored },
            ..
        }) => assert_eq!(stored, "Dog"),
        other => panic!("expected a wrong-type snapshot error, got {other:?}"),
    }
    snapshot.snapshot_type = "Counter".into();
    snapshot.payload = b"{not json".to_vec();
    app.store().save_snapshot(snapshot.clone()).await.unwrap();
    match app.get::<Counter>(counter.id()).await {
        Err(Error::Snapshot {
            version: 1,
            reason: SnapshotError::Decode(_),
            ..
        }) => {}
        other => panic!("expected a snapshot decode error, got {other:?}"),
    }
    snapshot.schema_version = 7;
    snapshot.payload = br#"{"created_on":0,"state":{"name":"c","count":0}}"#.to_vec();
    app.store().save_snapshot(snapshot).await.unwrap();
    let error = app.get::<Counter>(counter.id()).await.unwrap_err();
    assert!(
        error.to_string().contains("schema version 7 is newer"),
        "{error}"
    );
}
