//! Protected payloads end to end: the MessagePack codec, compression,
//! encryption and crypto-shredding through an `Application`, on the memory
//! store, a SQLite file and (when `CHRONICLE_TEST_POSTGRES_URL` is set, in a
//! schema of its own) PostgreSQL.
//!
//! `cargo test --test protection --all-features`
//!
//! The stores and the PostgreSQL URL rule come from `tests/common`.

#![cfg(any(feature = "msgpack", feature = "compression", feature = "encryption"))]

mod common;

use chronicle_es::prelude::*;
use chronicle_es::store::MemoryStore;
use chronicle_es::Codec;
use serde::{Deserialize, Serialize};

// This file's own `Dog`, not the shared one of `tests/common/dogs.rs`: it
// snapshots every 4 events, because the tests check that snapshots are
// encoded and protected like events, so its state is serde as well.
#[aggregate(snapshot_every = 4)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tricks(&self) -> &[String] {
        &self.tricks
    }
}

#[cfg_attr(
    not(any(feature = "msgpack", feature = "encryption")),
    allow(dead_code)
)]
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A dog with `tricks` tricks, saved.
#[cfg_attr(
    not(any(feature = "msgpack", feature = "encryption")),
    allow(dead_code)
)]
async fn saved_dog<S: EventStore, C: Codec>(
    app: &Application<S, C>,
    name: &str,
    tricks: usize,
) -> Dog {
    let mut dog = Dog::register(name.into());
    for trick in 0..tricks {
        dog.add_trick(format!("trick {trick}"));
    }
    app.save(&mut dog).await.unwrap();
    dog
}

#[cfg(feature = "msgpack")]
#[tokio::test]
async fn msgpack_round_trip() {
    use chronicle_es::MsgPackCodec;

    let app = Application::builder(MemoryStore::new())
        .codec(MsgPackCodec)
        .build();
    let dog = saved_dog(&app, "Fido", 5).await;
    let copy: Dog = app.get(dog.id()).await.unwrap();
    assert_eq!(copy, dog);
    assert_eq!(copy.tricks().len(), 5);
    let records = app
        .store()
        .read_stream(dog.id(), StreamQuery::all())
        .await
        .unwrap();
    // A MessagePack map keyed by field name: `{"name": "Fido"}`.
    assert_eq!(records[0].payload[0], 0x81);
    assert!(contains(&records[0].payload, b"name"));
    let log = app.read_log(LogQuery::after(0, 10)).await.unwrap();
    let first: Envelope<DogEvent> = app.decode(&log[0]).await.unwrap();
    assert_eq!(first.stream_id, dog.id());
    // The snapshot (every 4 events) is MessagePack too.
    let snapshot = app.store().latest_snapshot(dog.id(), None).await.unwrap();
    assert!(snapshot.is_some_and(|snapshot| snapshot.payload[0] & 0xf0 == 0x80));
}

#[cfg(feature = "compression")]
#[tokio::test]
async fn compression_shrinks_a_large_payload() {
    use chronicle_es::protect::Protection;

    let app = Application::builder(MemoryStore::new())
        .protection(Protection::builder().compress().build())
        .build();
    let long_name = "Fido the very good dog, ".repeat(200);
    let mut dog = Dog::register(long_name.clone());
    dog.add_trick("sit".into());
    app.save(&mut dog).await.unwrap();
    let records = app
        .store()
        .read_stream(dog.id(), StreamQuery::all())
        .await
        .unwrap();
    let plain = serde_json::to_vec(&serde_json::json!({ "name": long_name })).unwrap();
    let stored = &records[0].payload;
    assert_eq!(stored[0], 0x11, "format byte: generation 1, compressed");
    assert!(
        stored.len() * 10 < plain.len(),
        "{} bytes compressed to {}",
        plain.len(),
        stored.len()
    );
    // A small payload is not worth compressing: format byte and JSON.
    assert_eq!(records[1].payload[0], 0x10);
    assert_eq!(&records[1].payload[1..], br#"{"trick":"sit"}"#);
    let copy: Dog = app.get(dog.id()).await.unwrap();
    assert_eq!(copy, dog);
}

#[cfg(feature = "encryption")]
mod encryption {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use chronicle_es::protect::{
        CipherKey, KeyRecord, KeyStore, MemoryKeyStore, Protection, ProtectionBuilder,
    };
    use chronicle_es::protect::{PayloadProtection, ProtectionError};
    use chronicle_es::store::AnyStore;
    use chronicle_es::BoxFuture;

    use super::*;
    #[cfg(feature = "sqlite")]
    use crate::common::stores;
    use crate::common::stores::Cleanup;

    fn key(byte: u8) -> CipherKey {
        CipherKey::from_bytes(&[byte; 32]).unwrap()
    }

    /// The builder with compression when the feature is on.
    fn builder() -> ProtectionBuilder {
        #[cfg(feature = "compression")]
        return Protection::builder().compress();
        #[cfg(not(feature = "compression"))]
        return Protection::builder();
    }

    /// A store and a key store beside it.
    struct Backend {
        name: &'static str,
        store: AnyStore,
        keys: Arc<dyn KeyStore>,
        /// The SQLite file's directory, or the PostgreSQL schema.
        cleanup: Cleanup,
    }

    impl Backend {
        async fn cleanup(self) {
            drop(self.store);
            drop(self.keys);
            self.cleanup.finish().await;
        }
    }

    async fn backends() -> Vec<Backend> {
        #[allow(unused_mut)] // without the sqlite and postgres features
        let mut backends = vec![Backend {
            name: "memory",
            store: AnyStore::from(MemoryStore::new()),
            keys: Arc::new(MemoryKeyStore::new()),
            cleanup: Cleanup::Nothing,
        }];
        #[cfg(feature = "sqlite")]
        {
            use chronicle_es::protect::SqliteKeyStore;
            let harness = stores::sqlite_file().await;
            let keys = SqliteKeyStore::new(&harness.store).await.unwrap();
            backends.push(Backend {
                name: "sqlite",
                store: AnyStore::from(harness.store),
                keys: Arc::new(keys),
                cleanup: harness.cleanup,
            });
        }
        #[cfg(feature = "postgres")]
        if let Some(harness) = crate::common::postgres::store().await {
            use chronicle_es::protect::PostgresKeyStore;
            let (url, schema) = (harness.schema().url(), harness.schema().name());
            let keys = PostgresKeyStore::connect_in(url, schema).await.unwrap();
            backends.push(Backend {
                name: "postgres",
                store: AnyStore::from(harness.store),
                keys: Arc::new(keys),
                cleanup: harness.cleanup,
            });
        }
        backends
    }

    fn app_with(store: &AnyStore, protection: impl PayloadProtection) -> Application<AnyStore> {
        Application::builder(store.clone())
            .protection(protection)
            .build()
    }

    #[tokio::test]
    async fn round_trips_and_stores_no_plaintext() {
        for backend in backends().await {
            let name = backend.name;
            for (mode, protection) in [
                ("one key", builder().encrypt(key(1)).build()),
                (
                    "per stream",
                    builder()
                        .encrypt_per_stream(key(1), Arc::clone(&backend.keys))
                        .build(),
                ),
            ] {
                let app = app_with(&backend.store, protection);
                let secret = format!("Fido-{}", Uuid::new_v4().simple());
                let dog = saved_dog(&app, &secret, 5).await;
                let copy: Dog = app.get(dog.id()).await.unwrap();
                assert_eq!(copy, dog, "{name}, {mode}");
                let old: Dog = app.repository().get_at(dog.id(), 2).await.unwrap();
                assert_eq!(old.tricks(), ["trick 0"], "{name}, {mode}");

                let records = app
                    .store()
                    .read_stream(dog.id(), StreamQuery::all())
                    .await
                    .unwrap();
                assert_eq!(records.len(), 6);
                for record in &records {
                    assert!(
                        !contains(&record.payload, secret.as_bytes())
                            && !contains(&record.payload, b"trick"),
                        "{name}, {mode}: plaintext in a stored payload"
                    );
                    assert_eq!(record.payload[0] & 0xf2, 0x12, "{name}, {mode}: encrypted");
                    let decoded: Envelope<DogEvent> = app.decode(record).await.unwrap();
                    assert_eq!(decoded.version, record.version);
                }
                // Event types and versions stay readable: only payloads are protected.
                assert_eq!(records[0].event_type, "Registered");
                let snapshot = app
                    .store()
                    .latest_snapshot(dog.id(), None)
                    .await
                    .unwrap()
                    .expect("a snapshot at version 4");
                assert!(
                    !contains(&snapshot.payload, secret.as_bytes()),
                    "{name}, {mode}"
                );
            }
            backend.cleanup().await;
        }
    }

    #[tokio::test]
    async fn wrong_key_is_tampered() {
        let keys = MemoryKeyStore::new();
        for (writer, reader) in [
            (
                builder().encrypt(key(1)).build(),
                builder().encrypt(key(2)).build(),
            ),
            (
                builder().encrypt_per_stream(key(1), keys.clone()).build(),
                builder().encrypt_per_stream(key(2), keys.clone()).build(),
            ),
        ] {
            let store = AnyStore::from(MemoryStore::new());
            let app = Application::builder(store.clone())
                .protection(writer)
                .build();
            let dog = saved_dog(&app, "Fido", 1).await;
            let intruder = Application::builder(store).protection(reader).build();
            match intruder.get::<Dog>(dog.id()).await {
                Err(Error::Protection(ProtectionError::Tampered { stream_id })) => {
                    assert_eq!(stream_id, dog.id())
                }
                other => panic!("expected Tampered, got {other:?}"),
            }
        }
    }

    /// The payload of `dog`'s first event, as stored.
    async fn first_record(
        app: &Application<AnyStore>,
        dog: &Dog,
    ) -> chronicle_es::store::StoredEvent {
        let records = app
            .store()
            .read_stream(dog.id(), StreamQuery::all().limit(1))
            .await
            .unwrap();
        records.into_iter().next().unwrap()
    }

    #[tokio::test]
    async fn changed_and_truncated_payloads_are_reported() {
        for backend in backends().await {
            let name = backend.name;
            let protection = builder()
                .encrypt_per_stream(key(7), Arc::clone(&backend.keys))
                .build();
            let app = app_with(&backend.store, protection.clone());
            let dog = saved_dog(&app, "Fido", 1).await;
            let record = first_record(&app, &dog).await;

            // Every single flipped byte: the format byte, nonce, ciphertext, tag.
            for index in 0..record.payload.len() {
                let mut payloads = [record.payload.clone()];
                payloads[0][index] ^= 0x01;
                let error = protection
                    .unprotect(dog.id(), &mut payloads)
                    .await
                    .unwrap_err();
                assert!(
                    matches!(
                        error,
                        ProtectionError::Tampered { stream_id } if stream_id == dog.id()
                    ) || (index == 0 && matches!(error, ProtectionError::Malformed { .. })),
                    "{name}: byte {index}: {error:?}"
                );
            }
            let mut flipped = record.clone();
            let middle = flipped.payload.len() / 2;
            flipped.payload[middle] ^= 0x80;
            assert!(matches!(
                app.decode::<DogEvent>(&flipped).await,
                Err(Error::Protection(ProtectionError::Tampered { .. }))
            ));
            // Moved into another stream: does not authenticate.
            let moved = chronicle_es::store::StoredEvent {
                stream_id: Uuid::new_v4(),
                ..record.clone()
            };
            assert!(app.decode::<DogEvent>(&moved).await.is_err());

            for length in [0, 1, 10, 28] {
                let mut truncated = record.clone();
                truncated.payload.truncate(length);
                match app.decode::<DogEvent>(&truncated).await {
                    Err(Error::Protection(ProtectionError::Malformed { stream_id, reason })) => {
                        assert_eq!(stream_id, dog.id());
                        assert!(!reason.is_empty());
                    }
                    other => panic!("{name}: truncated to {length}: {other:?}"),
                }
            }
            let mut cut = record.clone();
            cut.payload.truncate(record.payload.len() - 1);
            assert!(matches!(
                app.decode::<DogEvent>(&cut).await,
                Err(Error::Protection(ProtectionError::Tampered { .. }))
            ));
            backend.cleanup().await;
        }
    }

    /// Changes a stored payload in the SQLite file itself, then loads the
    /// aggregate through the application.
    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn tampered_rows_in_sqlite_fail_to_load() {
        use chronicle_es::protect::SqliteKeyStore;

        let harness = stores::sqlite_file().await;
        let path = harness.sqlite_path();
        let sqlite = harness.store.clone();
        let keys = SqliteKeyStore::new(&sqlite).await.unwrap();
        let store = AnyStore::from(harness.store);
        let app = app_with(&store, builder().encrypt_per_stream(key(3), keys).build());
        let dog = saved_dog(&app, "Fido", 2).await;
        let record = first_record(&app, &dog).await;
        let connection = rusqlite::Connection::open(&path).unwrap();
        let rewrite = |payload: Vec<u8>| {
            connection
                .execute(
                    "UPDATE events SET payload = ?1 WHERE stream_id = ?2 AND version = 1",
                    rusqlite::params![payload, dog.id().as_bytes().as_slice()],
                )
                .unwrap();
        };

        let mut flipped = record.payload.clone();
        flipped[20] ^= 0x04;
        rewrite(flipped);
        assert!(matches!(
            app.get::<Dog>(dog.id()).await,
            Err(Error::Protection(ProtectionError::Tampered { stream_id })) if stream_id == dog.id()
        ));
        rewrite(record.payload[..12].to_vec());
        assert!(matches!(
            app.get::<Dog>(dog.id()).await,
            Err(Error::Protection(ProtectionError::Malformed { stream_id, .. })) if stream_id == dog.id()
        ));
        rewrite(record.payload.clone());
        assert_eq!(app.get::<Dog>(dog.id()).await.unwrap(), dog);

        // The wrapped key is bound to its stream: copying it to another
        // stream does not give that stream the key.
        let other = saved_dog(&app, "Rex", 0).await;
        connection
            .execute(
                "UPDATE data_keys SET wrapped_key =
                     (SELECT wrapped_key FROM data_keys WHERE stream_id = ?1)
                 WHERE stream_id = ?2",
                rusqlite::params![
                    dog.id().as_bytes().as_slice(),
                    other.id().as_bytes().as_slice()
                ],
            )
            .unwrap();
        let fresh = app_with(
            &store,
            builder()
                .encrypt_per_stream(key(3), SqliteKeyStore::new(&sqlite).await.unwrap())
                .build(),
        );
        assert!(matches!(
            fresh.get::<Dog>(other.id()).await,
            Err(Error::Protection(ProtectionError::Tampered { .. }))
        ));
        drop((app, fresh, store, sqlite, connection));
        harness.cleanup.finish().await;
    }

    /// A key store made for a PostgreSQL store keeps its keys in the
    /// store's schema, on the store's pool.
    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres_keys_live_in_the_store_schema() {
        use crate::common::postgres;
        use chronicle_es::protect::PostgresKeyStore;

        let Some(harness) = postgres::store().await else {
            return;
        };
        let keys = PostgresKeyStore::for_store(&harness.store).await.unwrap();
        let stream = Uuid::new_v4();
        let created = keys.create(stream, vec![7; 40]).await.unwrap();
        assert!(matches!(&created, KeyRecord::Active(key) if key == &[7; 40]));
        let client = postgres::raw_client(&postgres::url().unwrap()).await;
        let schema = harness.store.schema().to_owned();
        let count: i64 = client
            .query_one(&format!("SELECT count(*) FROM {schema}.data_keys"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, 1);
        keys.forget(stream).await.unwrap();
        assert!(matches!(
            keys.load(stream).await.unwrap(),
            Some(KeyRecord::Forgotten)
        ));
        drop(keys);
        harness.finish().await;
    }

    #[tokio::test]
    async fn unprotected_payloads_are_refused() {
        let store = AnyStore::from(MemoryStore::new());
        let plain = Application::new(store.clone());
        let dog = saved_dog(&plain, "Fido", 0).await;
        let app = Application::builder(store)
            .protection(builder().encrypt(key(1)).build())
            .build();
        // Plain JSON, written before protection was turned on.
        assert!(matches!(
            app.get::<Dog>(dog.id()).await,
            Err(Error::Protection(ProtectionError::Malformed { .. }))
        ));
        // A payload in the protected format but not encrypted: anyone could
        // have written it.
        let mut record = plain
            .store()
            .read_stream(dog.id(), StreamQuery::all())
            .await
            .unwrap()
            .remove(0);
        record.payload.insert(0, 0x10);
        assert!(matches!(
            app.decode::<DogEvent>(&record).await,
            Err(Error::Protection(ProtectionError::Tampered { .. }))
        ));
    }

    #[tokio::test]
    async fn forgetting_a_key_shreds_one_aggregate() {
        for backend in backends().await {
            let name = backend.name;
            let protection = builder()
                .encrypt_per_stream(key(9), Arc::clone(&backend.keys))
                .build();
            let app = app_with(&backend.store, protection.clone());
            let fido = saved_dog(&app, "Fido", 5).await;
            let rex = saved_dog(&app, "Rex", 2).await;
            let mut stale = app.get::<Dog>(fido.id()).await.unwrap();

            protection.forget(fido.id()).await.unwrap();
            protection.forget(fido.id()).await.unwrap(); // idempotent

            match app.get::<Dog>(fido.id()).await {
                Err(Error::Protection(ProtectionError::Forgotten { stream_id })) => {
                    assert_eq!(stream_id, fido.id(), "{name}")
                }
                other => panic!("{name}: expected Forgotten, got {other:?}"),
            }
            let error = app.get::<Dog>(fido.id()).await.unwrap_err();
            assert!(error.to_string().contains("forgotten"), "{name}: {error}");
            // Older versions, snapshots included, are gone as well.
            assert!(matches!(
                app.repository().get_at::<Dog>(fido.id(), 2).await,
                Err(Error::Protection(ProtectionError::Forgotten { .. }))
            ));
            // The log still lists the events; their payloads are unreadable.
            let log = app.read_log(LogQuery::after(0, 100)).await.unwrap();
            for record in log.iter().filter(|record| record.stream_id == fido.id()) {
                assert!(matches!(
                    app.decode::<DogEvent>(record).await,
                    Err(Error::Protection(ProtectionError::Forgotten { .. }))
                ));
            }
            // A fresh process (no cache) sees the same.
            let other_process = app_with(
                &backend.store,
                builder()
                    .encrypt_per_stream(key(9), Arc::clone(&backend.keys))
                    .build(),
            );
            assert!(matches!(
                other_process.get::<Dog>(fido.id()).await,
                Err(Error::Protection(ProtectionError::Forgotten { .. }))
            ));
            // The stream never gets a new key: nothing new can be written.
            stale.add_trick("beg".into());
            assert!(matches!(
                app.save(&mut stale).await,
                Err(Error::Protection(ProtectionError::Forgotten { .. }))
            ));
            // Other aggregates are untouched.
            assert_eq!(app.get::<Dog>(rex.id()).await.unwrap(), rex, "{name}");
            assert_eq!(other_process.get::<Dog>(rex.id()).await.unwrap(), rex);
            assert_eq!(
                backend.keys.load(fido.id()).await.unwrap(),
                Some(KeyRecord::Forgotten)
            );
            backend.cleanup().await;
        }
    }

    /// A key store that counts its calls.
    #[derive(Clone, Default)]
    struct Counting {
        keys: MemoryKeyStore,
        loads: Arc<AtomicUsize>,
    }

    impl KeyStore for Counting {
        fn load(
            &self,
            stream_id: Uuid,
        ) -> BoxFuture<'_, Result<Option<KeyRecord>, ProtectionError>> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            self.keys.load(stream_id)
        }

        fn create(
            &self,
            stream_id: Uuid,
            wrapped_key: Vec<u8>,
        ) -> BoxFuture<'_, Result<KeyRecord, ProtectionError>> {
            self.keys.create(stream_id, wrapped_key)
        }

        fn forget(&self, stream_id: Uuid) -> BoxFuture<'_, Result<(), ProtectionError>> {
            self.keys.forget(stream_id)
        }
    }

    #[tokio::test]
    async fn data_keys_are_cached_and_bounded() {
        let counting = Counting::default();
        let protection = builder()
            .encrypt_per_stream(key(5), counting.clone())
            .key_cache_capacity(2)
            .build();
        let app = Application::builder(MemoryStore::new())
            .protection(protection.clone())
            .build();
        let fido = saved_dog(&app, "Fido", 20).await;
        assert_eq!(
            counting.loads.load(Ordering::SeqCst),
            1,
            "one lookup per batch"
        );
        for _ in 0..5 {
            app.get::<Dog>(fido.id()).await.unwrap();
        }
        assert_eq!(
            counting.loads.load(Ordering::SeqCst),
            1,
            "then none: cached"
        );
        // Two more streams overflow a cache of two.
        let a = saved_dog(&app, "A", 0).await;
        let b = saved_dog(&app, "B", 0).await;
        assert_eq!(counting.loads.load(Ordering::SeqCst), 3);
        app.get::<Dog>(a.id()).await.unwrap();
        app.get::<Dog>(b.id()).await.unwrap();
        app.get::<Dog>(fido.id()).await.unwrap();
        let loads = counting.loads.load(Ordering::SeqCst);
        assert!(
            loads > 3,
            "three streams do not fit in a cache of two ({loads} loads)"
        );
        // Forgetting drops the cached key at once.
        protection.forget(fido.id()).await.unwrap();
        assert!(matches!(
            app.get::<Dog>(fido.id()).await,
            Err(Error::Protection(ProtectionError::Forgotten { .. }))
        ));
        assert_eq!(counting.keys.len(), 3);
    }

    #[tokio::test]
    async fn keys_come_from_the_environment() {
        let hex = key(4).to_hex();
        std::env::set_var("CHRONICLE_CIPHER_KEY", &hex);
        assert_eq!(CipherKey::from_env().unwrap(), key(4));
        std::env::remove_var("CHRONICLE_CIPHER_KEY");
        assert!(matches!(
            CipherKey::from_env(),
            Err(ProtectionError::Config(message)) if message.contains("CHRONICLE_CIPHER_KEY")
        ));
        std::env::set_var("CHRONICLE_TEST_PROTECTION_KEY", "not a key");
        assert!(matches!(
            CipherKey::from_env_var("CHRONICLE_TEST_PROTECTION_KEY"),
            Err(ProtectionError::Config(message)) if !message.contains("not a key")
        ));
    }

    /// MessagePack, compressed, then encrypted, on every store.
    #[cfg(feature = "msgpack")]
    #[tokio::test]
    async fn msgpack_compressed_and_encrypted() {
        for backend in backends().await {
            let app = Application::builder(backend.store.clone())
                .codec(chronicle_es::MsgPackCodec)
                .protection(
                    builder()
                        .encrypt_per_stream(key(8), Arc::clone(&backend.keys))
                        .build(),
                )
                .build();
            let dog = saved_dog(&app, &"Fido ".repeat(100), 3).await;
            assert_eq!(
                app.get::<Dog>(dog.id()).await.unwrap(),
                dog,
                "{}",
                backend.name
            );
            #[cfg(feature = "compression")]
            {
                let records = app
                    .store()
                    .read_stream(dog.id(), StreamQuery::all())
                    .await
                    .unwrap();
                assert_eq!(records[0].payload[0], 0x17, "compressed, stream key");
                assert!(records[0].payload.len() < 100);
            }
            backend.cleanup().await;
        }
    }
}
