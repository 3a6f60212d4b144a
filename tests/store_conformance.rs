//! The event store conformance suite: the same tests against every store.
//!
//! `cargo test --test store_conformance` runs them on the memory store,
//! SQLite (a file and in memory), and `AnyStore` and `AnySqlStore` opened by
//! a SQLite URL; add `--features postgres` and set
//! `CHRONICLE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`)
//! for PostgreSQL, and `AnyStore` and `AnySqlStore` opened by a PostgreSQL
//! URL. Without the URL the PostgreSQL tests print a note and pass, unless
//! `CI` is set, where they fail (the rule: `tests/common/postgres.rs`).
//!
//! Every test isolates itself: its own memory store, its own temporary SQLite
//! file, its own PostgreSQL schema (dropped at the end), so they run in
//! parallel. The stores come from `tests/common/stores.rs`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chronicle_es::chain::ChainHash;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use chronicle_es::store::AnySqlStore;
use chronicle_es::store::{
    AnyStore, AppendOutcome, AppendRequest, EventStore, LogQuery, LogStore, Snapshot, StoreError,
    StreamAppend, StreamQuery, StreamStore, Tracking,
};
use chronicle_es::store::{NewEvent, StoredEvent};
use chronicle_es::{Metadata, Timestamp, Uuid};
use common::stores::{self, TempDir};

// ---------------------------------------------------------------------------
// Building requests.

fn event(event_type: &str, n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        aggregate_type: "Thing".to_owned(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        timestamp: Timestamp::now(),
        metadata: Metadata::new(),
        payload: format!(r#"{{"n":{n}}}"#).into_bytes(),
        chain_hash: None,
    }
}

fn events(count: u64) -> Vec<NewEvent> {
    (1..=count).map(|n| event("Happened", n)).collect()
}

fn one(stream_id: Uuid, expected_version: u64, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        streams: vec![StreamAppend {
            stream_id,
            expected_version,
            events,
        }],
    }
}

async fn read_all<S: EventStore>(store: &S, stream_id: Uuid) -> Vec<StoredEvent> {
    store
        .read_stream(stream_id, StreamQuery::all())
        .await
        .unwrap()
}

async fn whole_log<S: EventStore>(store: &S) -> Vec<StoredEvent> {
    store
        .read_log(LogQuery::after(0, usize::MAX))
        .await
        .unwrap()
}

fn ids(events: &[StoredEvent]) -> Vec<Uuid> {
    events.iter().map(|event| event.event_id).collect()
}

fn versions(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|event| event.version).collect()
}

#[track_caller]
fn assert_conflict(result: Result<AppendOutcome, StoreError>, stream: Uuid, exp: u64, act: u64) {
    match result {
        Err(StoreError::Conflict {
            stream_id,
            expected,
            actual,
        }) => assert_eq!((stream_id, expected, actual), (stream, exp, act)),
        other => panic!("expected a conflict on {stream} ({exp} vs {act}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The cases, generic over the store.

mod cases {
    use super::*;

    /// Every field reads back as written, for several payload shapes.
    pub async fn fields_round_trip<S: EventStore>(store: Arc<S>) {
        let stream = Uuid::new_v4();
        let metadata = Metadata::new()
            .with_correlation_id(Uuid::new_v4())
            .with_causation_id(Uuid::new_v4())
            .with("user", "ada")
            .with("unicode", "ünïcødé ✓ \"quoted\" \\ back");
        let payloads: Vec<Vec<u8>> = vec![
            br#"{"b": 1,   "a": [1, 2.50, "x"]}"#.to_vec(), // JSON, odd spacing and key order
            b"  {\"kept\":\"whitespace\"}\n".to_vec(),
            vec![0, 159, 146, 150, 255], // not UTF-8
            Vec::new(),                  // empty
            b"not json at all".to_vec(), // UTF-8, not JSON
            "\"a string\"".as_bytes().to_vec(),
            br#"{"nul": "\u0000"}"#.to_vec(), // an escaped NUL
        ];
        let written: Vec<NewEvent> = payloads
            .into_iter()
            .enumerate()
            .map(|(index, payload)| NewEvent {
                event_id: Uuid::new_v4(),
                aggregate_type: format!("Aggregate {index} ✓"),
                event_type: format!("Type{index}"),
                schema_version: 3 + index as u32,
                timestamp: Timestamp::from_unix_micros(1_795_461_518_123_456 + index as i64),
                metadata: if index == 0 {
                    Metadata::new()
                } else {
                    metadata.clone()
                },
                payload,
                chain_hash: (index % 2 == 0).then(|| ChainHash::from_bytes([index as u8; 32])),
            })
            .collect();
        let mut written = written;
        written.push(NewEvent {
            timestamp: Timestamp::from_unix_micros(-1_234_567), // before 1970
            ..event("Old", 0)
        });
        written.push(NewEvent {
            schema_version: u32::MAX,
            ..event("Max", 0)
        });
        // Runs of equal fields, then changes back: a store that binds only
        // what differs from the event before must carry nothing over.
        written.push(NewEvent {
            schema_version: u32::MAX,
            ..event("Max", 0)
        });
        written.push(event("Max", 0));
        written.push(NewEvent {
            metadata: metadata.clone(),
            chain_hash: Some(ChainHash::from_bytes([7; 32])),
            ..event("Type1", 0)
        });
        written.push(event("Type1", 0));
        let outcome = store.append(one(stream, 0, written.clone())).await.unwrap();
        assert!(outcome.written);
        assert_eq!(outcome.last_position, Some(written.len() as u64));

        let read = read_all(&*store, stream).await;
        assert_eq!(read.len(), written.len());
        for (index, (stored, new)) in read.iter().zip(&written).enumerate() {
            assert_eq!(stored.stream_id, stream);
            assert_eq!(stored.version, index as u64 + 1);
            assert_eq!(stored.position, index as u64 + 1);
            assert_eq!(stored.event_id, new.event_id);
            assert_eq!(
                stored.aggregate_type.as_deref(),
                Some(new.aggregate_type.as_str())
            );
            assert_eq!(stored.event_type, new.event_type);
            assert_eq!(stored.schema_version, new.schema_version);
            assert_eq!(stored.timestamp, new.timestamp);
            assert_eq!(stored.metadata, new.metadata);
            assert_eq!(stored.payload, new.payload, "payload {index}");
            assert_eq!(stored.chain_hash, new.chain_hash, "chain hash {index}");
        }
        assert_eq!(whole_log(&*store).await, read);
    }

    /// Ascending, descending, bounds, limits, unknown streams.
    pub async fn stream_queries<S: EventStore>(store: Arc<S>) {
        let stream = Uuid::new_v4();
        store.append(one(stream, 0, events(3))).await.unwrap();
        store.append(one(stream, 3, events(4))).await.unwrap();
        let other = Uuid::new_v4();
        store.append(one(other, 0, events(2))).await.unwrap();

        let read = |query: StreamQuery| {
            let store = Arc::clone(&store);
            async move { versions(&store.read_stream(stream, query).await.unwrap()) }
        };
        assert_eq!(read(StreamQuery::all()).await, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(
            read(StreamQuery::all().descending()).await,
            [7, 6, 5, 4, 3, 2, 1]
        );
        assert_eq!(
            read(StreamQuery::all().from_version(3)).await,
            [3, 4, 5, 6, 7]
        );
        assert_eq!(read(StreamQuery::all().to_version(2)).await, [1, 2]);
        assert_eq!(
            read(StreamQuery::all().from_version(2).to_version(5)).await,
            [2, 3, 4, 5]
        );
        assert_eq!(
            read(
                StreamQuery::all()
                    .from_version(2)
                    .to_version(5)
                    .descending()
            )
            .await,
            [5, 4, 3, 2]
        );
        assert_eq!(read(StreamQuery::all().limit(2)).await, [1, 2]);
        assert_eq!(read(StreamQuery::all().descending().limit(2)).await, [7, 6]);
        assert_eq!(
            read(StreamQuery::all().from_version(3).descending().limit(10)).await,
            [7, 6, 5, 4, 3]
        );
        assert_eq!(read(StreamQuery::all().limit(0)).await, Vec::<u64>::new());
        assert_eq!(
            read(StreamQuery::all().from_version(5).to_version(4)).await,
            Vec::<u64>::new()
        );
        assert_eq!(
            read(StreamQuery::all().from_version(8)).await,
            Vec::<u64>::new()
        );
        assert_eq!(read(StreamQuery::all().from_version(0)).await.len(), 7);
        assert_eq!(
            read(StreamQuery::all().from_version(u64::MAX)).await,
            Vec::<u64>::new()
        );
        assert_eq!(read(StreamQuery::all().to_version(u64::MAX)).await.len(), 7);
        assert!(read_all(&*store, Uuid::new_v4()).await.is_empty());
        assert_eq!(versions(&read_all(&*store, other).await), [1, 2]);
    }

    /// `fold_stream` sees exactly what `read_stream` reads, for every query,
    /// across more than one page of a long stream, and stops at the first
    /// error the fold returns.
    pub async fn fold_stream_reads_what_read_stream_reads<S: EventStore>(store: Arc<S>) {
        let stream = Uuid::new_v4();
        let mut expected_version = 0;
        for size in [3, 1_200, 900, 397] {
            store
                .append(one(stream, expected_version, events(size)))
                .await
                .unwrap();
            expected_version += size;
        }
        store
            .append(one(Uuid::new_v4(), 0, events(2)))
            .await
            .unwrap();

        type Seen = Vec<(Uuid, u64, String, u32, Timestamp, Vec<u8>)>;
        let fold = |query: StreamQuery| {
            let store = Arc::clone(&store);
            async move {
                store
                    .fold_stream(stream, query, Seen::new(), |seen, event| {
                        seen.push((
                            event.stream_id,
                            event.version,
                            event.event_type.to_owned(),
                            event.schema_version,
                            event.timestamp,
                            event.payload.to_vec(),
                        ));
                        Ok::<_, StoreError>(())
                    })
                    .await
                    .unwrap()
            }
        };
        let read = |query: StreamQuery| {
            let store = Arc::clone(&store);
            async move {
                store
                    .read_stream(stream, query)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|event| {
                        (
                            event.stream_id,
                            event.version,
                            event.event_type,
                            event.schema_version,
                            event.timestamp,
                            event.payload,
                        )
                    })
                    .collect::<Seen>()
            }
        };
        let queries = [
            StreamQuery::all(),
            StreamQuery::all().from_version(0),
            StreamQuery::all().from_version(999),
            StreamQuery::all().from_version(1_001).to_version(2_200),
            StreamQuery::all().to_version(1_000),
            StreamQuery::all().limit(1_000),
            StreamQuery::all().limit(1_001),
            StreamQuery::all().from_version(2).limit(2_000),
            StreamQuery::all().limit(0),
            StreamQuery::all().descending(),
            StreamQuery::all().descending().limit(1_500),
            StreamQuery::all()
                .from_version(10)
                .to_version(20)
                .descending(),
            StreamQuery::all().from_version(2_501),
            StreamQuery::all().from_version(u64::MAX),
            StreamQuery::all().to_version(u64::MAX),
            StreamQuery::all().from_version(5).to_version(4),
        ];
        for query in queries {
            let folded = fold(query).await;
            assert_eq!(folded, read(query).await, "{query:?}");
        }
        assert_eq!(fold(StreamQuery::all()).await.len(), 2_500);

        let unknown = store
            .fold_stream(Uuid::new_v4(), StreamQuery::all(), 7u64, |_, _| {
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        assert_eq!(unknown, 7);

        // The first error ends the fold: nothing after it is seen.
        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = Arc::clone(&seen);
        let stopped = store
            .fold_stream(stream, StreamQuery::all(), (), move |_, event| {
                counter.fetch_add(1, Ordering::SeqCst);
                if event.version == 1_500 {
                    return Err(StoreError::InvalidRequest("stop at 1500".into()));
                }
                Ok(())
            })
            .await;
        assert!(
            matches!(&stopped, Err(StoreError::InvalidRequest(message)) if message == "stop at 1500"),
            "{stopped:?}"
        );
        assert_eq!(seen.load(Ordering::SeqCst), 1_500);
    }

    /// A stale (or future) expected version writes nothing.
    pub async fn stale_expected_version_conflicts<S: EventStore>(store: Arc<S>) {
        let stream = Uuid::new_v4();
        store.append(one(stream, 0, events(2))).await.unwrap();
        assert_conflict(store.append(one(stream, 0, events(1))).await, stream, 0, 2);
        assert_conflict(store.append(one(stream, 1, events(3))).await, stream, 1, 2);
        assert_conflict(store.append(one(stream, 5, events(1))).await, stream, 5, 2);
        let unknown = Uuid::new_v4();
        assert_conflict(
            store.append(one(unknown, 1, events(1))).await,
            unknown,
            1,
            0,
        );
        assert_eq!(read_all(&*store, stream).await.len(), 2);
        assert!(read_all(&*store, unknown).await.is_empty());
        assert_eq!(store.last_position().await.unwrap(), 2);
        let outcome = store.append(one(stream, 2, events(1))).await.unwrap();
        assert_eq!(outcome.last_position, Some(3));
    }

    /// Several streams in one append: all or nothing.
    pub async fn multi_stream_append_is_atomic<S: EventStore>(store: Arc<S>) {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        store.append(one(b, 0, events(1))).await.unwrap();
        let request = |b_expected| AppendRequest {
            streams: vec![
                StreamAppend {
                    stream_id: a,
                    expected_version: 0,
                    events: events(2),
                },
                StreamAppend {
                    stream_id: b,
                    expected_version: b_expected,
                    events: events(1),
                },
                StreamAppend {
                    stream_id: c,
                    expected_version: 0,
                    events: events(3),
                },
            ],
        };
        assert_conflict(store.append(request(0)).await, b, 0, 1);
        assert!(read_all(&*store, a).await.is_empty());
        assert!(read_all(&*store, c).await.is_empty());
        assert_eq!(read_all(&*store, b).await.len(), 1);
        assert_eq!(store.last_position().await.unwrap(), 1);

        let outcome = store.append(request(1)).await.unwrap();
        assert!(outcome.written);
        assert_eq!(outcome.last_position, Some(7));
        let log = whole_log(&*store).await;
        let streams: Vec<(Uuid, u64)> = log.iter().map(|e| (e.stream_id, e.version)).collect();
        assert_eq!(
            streams,
            [(b, 1), (a, 1), (a, 2), (b, 2), (c, 1), (c, 2), (c, 3)]
        );
    }

    /// Retrying the same events is a no-op; a partial overlap conflicts.
    pub async fn idempotent_retry<S: EventStore>(store: Arc<S>) {
        let stream = Uuid::new_v4();
        let first = events(3);
        let request = one(stream, 0, first.clone());
        let outcome = store.append(request.clone()).await.unwrap();
        assert_eq!(
            outcome,
            AppendOutcome {
                last_position: Some(3),
                written: true
            }
        );
        store.append(one(stream, 3, events(1))).await.unwrap();
        let retry = store.append(request).await.unwrap();
        assert_eq!(
            retry,
            AppendOutcome {
                last_position: Some(3),
                written: false
            }
        );
        // A retry of a prefix of what is stored.
        let prefix = store
            .append(one(stream, 0, first[..2].to_vec()))
            .await
            .unwrap();
        assert_eq!(prefix.last_position, Some(2));
        assert!(!prefix.written);
        // The tail of the batch in a different version slot.
        let retried = store
            .append(one(stream, 1, first[1..].to_vec()))
            .await
            .unwrap();
        assert!(!retried.written);
        // Same versions, other ids: conflict.
        assert_conflict(store.append(one(stream, 0, events(3))).await, stream, 0, 4);
        // Partly stored, partly new: conflict.
        let mut overlap = first[1..].to_vec();
        overlap.extend(events(3));
        assert_conflict(store.append(one(stream, 1, overlap)).await, stream, 1, 4);
        assert_eq!(read_all(&*store, stream).await.len(), 4);

        // Multi-stream retries: all stored is a no-op; some stored conflicts.
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let both = AppendRequest {
            streams: vec![
                StreamAppend {
                    stream_id: a,
                    expected_version: 0,
                    events: events(1),
                },
                StreamAppend {
                    stream_id: b,
                    expected_version: 0,
                    events: events(2),
                },
            ],
        };
        let outcome = store.append(both.clone()).await.unwrap();
        let retry = store.append(both.clone()).await.unwrap();
        assert_eq!(retry.last_position, outcome.last_position);
        assert!(!retry.written);
        let mut mixed = both.clone();
        mixed.streams.push(StreamAppend {
            stream_id: Uuid::new_v4(),
            expected_version: 0,
            events: events(1),
        });
        assert_conflict(store.append(mixed).await, a, 0, 1);
        assert_eq!(store.last_position().await.unwrap(), 7);
    }

    /// Malformed requests are refused before anything is written.
    pub async fn invalid_requests<S: EventStore>(store: Arc<S>) {
        let stream = Uuid::new_v4();
        let twice = AppendRequest {
            streams: vec![
                StreamAppend {
                    stream_id: stream,
                    expected_version: 0,
                    events: events(1),
                },
                StreamAppend {
                    stream_id: stream,
                    expected_version: 1,
                    events: events(1),
                },
            ],
        };
        assert!(matches!(
            store.append(twice).await,
            Err(StoreError::InvalidRequest(_))
        ));
        assert!(matches!(
            store.append(one(stream, 0, Vec::new())).await,
            Err(StoreError::InvalidRequest(_))
        ));
        assert_eq!(store.last_position().await.unwrap(), 0);
        let empty = store.append(AppendRequest::default()).await.unwrap();
        assert_eq!(empty.last_position, None);
        assert_eq!(store.last_position().await.unwrap(), 0);
    }

    /// Positions from 1, strictly increasing; paging, filters, last position.
    pub async fn global_log<S: EventStore>(store: Arc<S>) {
        assert_eq!(store.last_position().await.unwrap(), 0);
        assert!(whole_log(&*store).await.is_empty());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut kinds = Vec::new();
        for round in 0..5u64 {
            let types = ["Opened", "Moved", "Closed"];
            let batch: Vec<NewEvent> = (0..3)
                .map(|i| event(types[((round + i) % 3) as usize], round * 10 + i))
                .collect();
            kinds.extend(batch.iter().map(|e| e.event_type.clone()));
            let stream = if round % 2 == 0 { a } else { b };
            let expected = read_all(&*store, stream).await.len() as u64;
            store.append(one(stream, expected, batch)).await.unwrap();
        }
        let log = whole_log(&*store).await;
        let positions: Vec<u64> = log.iter().map(|e| e.position).collect();
        assert_eq!(positions, (1..=15).collect::<Vec<u64>>());
        assert_eq!(
            log.iter().map(|e| e.event_type.clone()).collect::<Vec<_>>(),
            kinds
        );
        assert_eq!(store.last_position().await.unwrap(), 15);

        let page = store.read_log(LogQuery::after(4, 3)).await.unwrap();
        assert_eq!(
            page.iter().map(|e| e.position).collect::<Vec<_>>(),
            [5, 6, 7]
        );
        assert!(store
            .read_log(LogQuery::after(15, 10))
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .read_log(LogQuery::after(0, 0))
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .read_log(LogQuery::after(u64::MAX, 10))
            .await
            .unwrap()
            .is_empty());

        let closed = store
            .read_log(LogQuery::after(0, 100).event_types(["Closed"]))
            .await
            .unwrap();
        assert_eq!(closed.len(), 5);
        assert!(closed.iter().all(|e| e.event_type == "Closed"));
        let two = store
            .read_log(LogQuery::after(3, 4).event_types(["Closed", "Opened"]))
            .await
            .unwrap();
        let expected: Vec<u64> = log
            .iter()
            .filter(|e| e.position > 3 && e.event_type != "Moved")
            .take(4)
            .map(|e| e.position)
            .collect();
        assert_eq!(two.iter().map(|e| e.position).collect::<Vec<_>>(), expected);
        assert!(store
            .read_log(LogQuery::after(0, 10).event_types(["Nothing"]))
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .read_log(LogQuery::after(0, 10).event_types(Vec::<String>::new()))
            .await
            .unwrap()
            .is_empty());
    }

    /// The log filtered by aggregate type, by event type, and by both: events
    /// named alike in two aggregates are told apart.
    pub async fn log_filters_by_aggregate_type<S: EventStore>(store: Arc<S>) {
        let of = |aggregate: &str, event_type: &str| NewEvent {
            aggregate_type: aggregate.to_owned(),
            ..event(event_type, 0)
        };
        let (dog, cat, hound) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        store
            .append(AppendRequest::new(vec![
                StreamAppend {
                    stream_id: dog,
                    expected_version: 0,
                    events: vec![of("Dog", "Registered"), of("Dog", "TrickAdded")],
                },
                StreamAppend {
                    stream_id: cat,
                    expected_version: 0,
                    events: vec![of("Cat", "Registered"), of("Cat", "Purred")],
                },
            ]))
            .await
            .unwrap();
        store
            .append(one(hound, 0, vec![of("Hound", "Registered")]))
            .await
            .unwrap();
        let read = |query: LogQuery| {
            let store = Arc::clone(&store);
            async move {
                store
                    .read_log(query)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| (e.position, e.aggregate_type.unwrap(), e.event_type))
                    .collect::<Vec<_>>()
            }
        };
        let all = LogQuery::after(0, 100);
        let pair = |p: u64, a: &str, e: &str| (p, a.to_owned(), e.to_owned());
        assert_eq!(
            read(all.clone().aggregate_types(["Dog"])).await,
            [pair(1, "Dog", "Registered"), pair(2, "Dog", "TrickAdded")]
        );
        assert_eq!(
            read(all.clone().aggregate_types(["Dog", "Hound"])).await,
            [
                pair(1, "Dog", "Registered"),
                pair(2, "Dog", "TrickAdded"),
                pair(5, "Hound", "Registered")
            ]
        );
        assert_eq!(
            read(all.clone().event_types(["Registered"])).await,
            [
                pair(1, "Dog", "Registered"),
                pair(3, "Cat", "Registered"),
                pair(5, "Hound", "Registered")
            ]
        );
        assert_eq!(
            read(
                all.clone()
                    .event_types(["Registered", "Purred"])
                    .aggregate_types(["Cat"])
            )
            .await,
            [pair(3, "Cat", "Registered"), pair(4, "Cat", "Purred")]
        );
        assert!(read(all.clone().aggregate_types(["Horse"]))
            .await
            .is_empty());
        assert_eq!(
            read(LogQuery::after(1, 1).aggregate_types(["Dog", "Cat"])).await,
            [pair(2, "Dog", "TrickAdded")],
            "paging counts only the events that pass"
        );
    }

    /// N writers at the same expected version: exactly one wins.
    pub async fn concurrent_writers_one_wins<S: EventStore>(store: Arc<S>) {
        let stream = Uuid::new_v4();
        let mut successes = 0;
        for round in 0..5u64 {
            let expected = read_all(&*store, stream).await.len() as u64;
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let store = Arc::clone(&store);
                    tokio::spawn(
                        async move { store.append(one(stream, expected, events(1))).await },
                    )
                })
                .collect();
            let mut won = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(outcome) => {
                        assert!(outcome.written);
                        won += 1;
                    }
                    Err(StoreError::Conflict { expected: e, .. }) => assert_eq!(e, expected),
                    Err(other) => panic!("unexpected error: {other}"),
                }
            }
            assert_eq!(won, 1, "round {round}");
            successes += 1;
        }
        let stored = read_all(&*store, stream).await;
        assert_eq!(stored.len() as u64, successes);
        assert_eq!(versions(&stored), (1..=5).collect::<Vec<u64>>());
    }

    /// Many appends at once, some of them stale or ahead of their stream:
    /// each of those fails alone (stores that commit concurrent appends
    /// together must not fail its neighbours), and every other one is
    /// written, once. Stale and ahead appends come in separate waves, so
    /// that neither hides the other in a shared commit.
    pub async fn conflicts_fail_alone<S: EventStore>(store: Arc<S>) {
        // Each wrong append has a stream of its own at version 2: nothing
        // else in a shared commit fails for the same stream.
        for expected in [1, 5] {
            let mut contested = Vec::new();
            for _ in 0..8 {
                let stream = Uuid::new_v4();
                store.append(one(stream, 0, events(2))).await.unwrap();
                contested.push(stream);
            }
            let tasks: Vec<_> = (0..48u64)
                .map(|n| {
                    let store = Arc::clone(&store);
                    let contested = contested[n as usize / 6];
                    tokio::spawn(async move {
                        if n % 6 == 0 {
                            // Stale (1), or ahead (5: version 6 would
                            // leave a gap).
                            let result = store.append(one(contested, expected, events(1))).await;
                            (None, result)
                        } else {
                            let stream = Uuid::new_v4();
                            let batch = events(1 + n % 2);
                            let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
                            (
                                Some((stream, ids)),
                                store.append(one(stream, 0, batch)).await,
                            )
                        }
                    })
                })
                .collect();
            let mut written = Vec::new();
            for task in tasks {
                match task.await.unwrap() {
                    (None, result) => assert!(
                        matches!(result, Err(StoreError::Conflict { expected: e, .. }) if e == expected),
                        "{result:?}"
                    ),
                    (Some((stream, ids)), result) => {
                        assert!(result.unwrap().written);
                        written.push((stream, ids));
                    }
                }
            }
            for stream in contested {
                assert_eq!(read_all(&*store, stream).await.len(), 2);
            }
            for (stream, expected) in written {
                assert_eq!(ids(&read_all(&*store, stream).await), expected);
            }
        }
        let log = whole_log(&*store).await;
        assert!(log.windows(2).all(|w| w[0].position < w[1].position));
    }

    /// Many tracked appends at once, one consumer each, some behind their
    /// consumer's position: each of those fails alone with a tracking
    /// conflict, and every other one moves its consumer and writes its event.
    pub async fn tracking_conflicts_fail_alone<S: EventStore>(store: Arc<S>) {
        let prefix = Uuid::new_v4();
        let consumer = move |n: u64| format!("consumer-{prefix}-{n}");
        for n in 0..24 {
            store
                .append_tracked(AppendRequest::default(), Tracking::new(consumer(n), 5))
                .await
                .unwrap();
        }
        let tasks: Vec<_> = (0..24u64)
            .map(|n| {
                let store = Arc::clone(&store);
                let consumer = consumer(n);
                tokio::spawn(async move {
                    let stream = Uuid::new_v4();
                    let position = if n % 2 == 0 { 6 } else { 4 };
                    let result = store
                        .append_tracked(
                            one(stream, 0, events(1)),
                            Tracking::new(consumer, position),
                        )
                        .await;
                    (n, stream, result)
                })
            })
            .collect();
        for task in tasks {
            let (n, stream, result) = task.await.unwrap();
            if n % 2 == 0 {
                assert!(result.unwrap().written);
                assert_eq!(read_all(&*store, stream).await.len(), 1);
                assert_eq!(store.tracked_position(&consumer(n)).await.unwrap(), 6);
            } else {
                assert!(
                    matches!(
                        result,
                        Err(StoreError::TrackingConflict {
                            current: 5,
                            attempted: 4,
                            ..
                        })
                    ),
                    "{result:?}"
                );
                assert!(read_all(&*store, stream).await.is_empty());
                assert_eq!(store.tracked_position(&consumer(n)).await.unwrap(), 5);
            }
        }
        // All of them at once, none behind: all written.
        let tasks: Vec<_> = (0..24u64)
            .map(|n| {
                let store = Arc::clone(&store);
                let consumer = consumer(n);
                tokio::spawn(async move {
                    store
                        .append_tracked(
                            one(Uuid::new_v4(), 0, events(1)),
                            Tracking::new(consumer, 7),
                        )
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().unwrap().written);
        }
        for n in 0..24 {
            assert_eq!(store.tracked_position(&consumer(n)).await.unwrap(), 7);
        }
    }

    /// Many fresh appends at once, of one or several streams and events:
    /// each is told the position of its own last event (stores that commit
    /// concurrent appends together must keep their answers apart).
    pub async fn concurrent_appends_report_their_own_positions<S: EventStore>(store: Arc<S>) {
        let tasks: Vec<_> = (0..48u64)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let mut streams = vec![StreamAppend {
                        stream_id: Uuid::new_v4(),
                        expected_version: 0,
                        events: events(1 + n % 3),
                    }];
                    if n % 4 == 0 {
                        streams.push(StreamAppend {
                            stream_id: Uuid::new_v4(),
                            expected_version: 0,
                            events: events(2),
                        });
                    }
                    let request = AppendRequest { streams };
                    let ids: Vec<Uuid> = request
                        .streams
                        .iter()
                        .flat_map(|append| &append.events)
                        .map(|event| event.event_id)
                        .collect();
                    (ids, store.append(request).await.unwrap())
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let log = whole_log(&*store).await;
        for (ids, outcome) in answers {
            assert!(outcome.written);
            let positions: Vec<u64> = ids
                .iter()
                .map(|id| {
                    let stored = log.iter().find(|event| event.event_id == *id);
                    stored.expect("every event written").position
                })
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
            assert_eq!(outcome.last_position, positions.last().copied());
        }
    }

    /// Writers to different streams, in parallel, none lost, none mixed up.
    pub async fn concurrent_writers_different_streams<S: EventStore>(store: Arc<S>) {
        let writers = 6;
        let appends = 25u64;
        let tasks: Vec<_> = (0..writers)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let stream = Uuid::new_v4();
                    let mut written = Vec::new();
                    for round in 0..appends {
                        let batch = events(1 + round % 3);
                        written.extend(batch.iter().map(|e| e.event_id));
                        let expected = written.len() as u64 - batch.len() as u64;
                        store.append(one(stream, expected, batch)).await.unwrap();
                    }
                    (stream, written)
                })
            })
            .collect();
        let mut total = 0;
        let log = {
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            let log = whole_log(&*store).await;
            for (stream, written) in &results {
                let stored = read_all(&*store, *stream).await;
                assert_eq!(&ids(&stored), written);
                total += written.len();
                let in_log: Vec<Uuid> = log
                    .iter()
                    .filter(|e| e.stream_id == *stream)
                    .map(|e| e.event_id)
                    .collect();
                assert_eq!(&in_log, written, "log order matches stream order");
            }
            log
        };
        assert_eq!(log.len(), total);
        assert!(log.windows(2).all(|w| w[0].position < w[1].position));
        assert_eq!(
            store.last_position().await.unwrap(),
            log.last().unwrap().position
        );
    }

    /// A follower tailing the log while writers append (and conflict) sees
    /// every event exactly once, in log order.
    pub async fn follower_under_load<S: EventStore>(store: Arc<S>) {
        let done = Arc::new(AtomicBool::new(false));
        let follower = {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut seen: Vec<StoredEvent> = Vec::new();
                let mut after = 0;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let batch = store.read_log(LogQuery::after(after, 7)).await.unwrap();
                    if batch.is_empty() {
                        if finished {
                            return seen;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                        continue;
                    }
                    for event in batch {
                        assert!(event.position > after, "positions go forward");
                        after = event.position;
                        seen.push(event);
                    }
                }
            })
        };
        let hot = Uuid::new_v4();
        let writers: Vec<_> = (0..4u64)
            .map(|writer| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let own = Uuid::new_v4();
                    let mut version = 0;
                    for round in 0..30u64 {
                        let count = 1 + (round + writer) % 3;
                        store
                            .append(one(own, version, events(count)))
                            .await
                            .unwrap();
                        version += count;
                        // Contend on a shared stream: some of these conflict
                        // (and, on PostgreSQL, burn positions that never commit).
                        let current = store
                            .read_stream(hot, StreamQuery::all().descending().limit(1))
                            .await
                            .unwrap()
                            .first()
                            .map_or(0, |e| e.version);
                        match store.append(one(hot, current, events(1))).await {
                            Ok(_) | Err(StoreError::Conflict { .. }) => {}
                            Err(other) => panic!("unexpected error: {other}"),
                        }
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let seen = follower.await.unwrap();
        let full = whole_log(&*store).await;
        assert_eq!(ids(&seen), ids(&full));
        assert_eq!(seen, full);
        assert!(full.windows(2).all(|w| w[0].position < w[1].position));
    }

    /// Tracking records commit with events, only move forward, and a
    /// refused record rolls the events back too.
    pub async fn tracking<S: EventStore>(store: Arc<S>) {
        assert_eq!(store.tracked_position("projector").await.unwrap(), 0);
        let stream = Uuid::new_v4();
        let request = one(stream, 0, events(2));
        store
            .append_tracked(request, Tracking::new("projector", 10))
            .await
            .unwrap();
        assert_eq!(store.tracked_position("projector").await.unwrap(), 10);
        assert_eq!(store.tracked_position("other").await.unwrap(), 0);

        for stale in [10, 9, 1] {
            let request = one(stream, 2, events(1));
            match store
                .append_tracked(request, Tracking::new("projector", stale))
                .await
            {
                Err(StoreError::TrackingConflict {
                    consumer,
                    current,
                    attempted,
                }) => assert_eq!(
                    (consumer.as_str(), current, attempted),
                    ("projector", 10, stale)
                ),
                other => panic!("expected a tracking conflict, got {other:?}"),
            }
            assert_eq!(
                read_all(&*store, stream).await.len(),
                2,
                "events rolled back"
            );
        }
        // A stream conflict takes precedence over a tracking conflict.
        let request = one(stream, 0, events(1));
        assert_conflict(
            store
                .append_tracked(request, Tracking::new("projector", 3))
                .await,
            stream,
            0,
            2,
        );

        // Tracking alone.
        let outcome = store
            .append_tracked(AppendRequest::default(), Tracking::new("projector", 11))
            .await
            .unwrap();
        assert_eq!(outcome.last_position, None);
        assert_eq!(store.tracked_position("projector").await.unwrap(), 11);
        assert!(matches!(
            store
                .append_tracked(AppendRequest::default(), Tracking::new("projector", 11))
                .await,
            Err(StoreError::TrackingConflict { .. })
        ));
        store
            .append_tracked(AppendRequest::default(), Tracking::new("second", 1))
            .await
            .unwrap();
        assert_eq!(store.tracked_position("second").await.unwrap(), 1);
        assert_eq!(store.tracked_position("projector").await.unwrap(), 11);
        assert_eq!(store.last_position().await.unwrap(), 2);

        // Concurrent trackers: positions only ever move forward.
        let tasks: Vec<_> = (1..=8u64)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .append_tracked(
                            one(Uuid::new_v4(), 0, events(1)),
                            Tracking::new("racer", n),
                        )
                        .await
                })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => accepted += 1,
                Err(StoreError::TrackingConflict { .. }) => {}
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert!(accepted >= 1);
        assert_eq!(store.tracked_position("racer").await.unwrap(), 8);
        assert_eq!(store.last_position().await.unwrap() as usize, {
            let log = whole_log(&*store).await;
            log.last().map_or(0, |e| e.position as usize)
        });
        assert_eq!(whole_log(&*store).await.len(), 2 + accepted);

        // Every record, by consumer; a reset one is gone.
        let listed = |records: Vec<Tracking>| -> Vec<(String, u64)> {
            records
                .into_iter()
                .map(|t| (t.consumer, t.position))
                .collect()
        };
        assert_eq!(
            listed(store.consumers().await.unwrap()),
            [
                ("projector".into(), 11),
                ("racer".into(), 8),
                ("second".into(), 1)
            ]
        );
        store.reset_tracking("racer").await.unwrap();
        assert_eq!(
            listed(store.consumers().await.unwrap()),
            [("projector".into(), 11), ("second".into(), 1)]
        );
    }

    /// Snapshots: latest at or below a version; replaced at the same version.
    pub async fn snapshots<S: EventStore>(store: Arc<S>) {
        let stream = Uuid::new_v4();
        let snapshot = |version: u64, payload: &[u8]| Snapshot {
            stream_id: stream,
            version,
            snapshot_type: "Dog".into(),
            schema_version: 2,
            timestamp: Timestamp::from_unix_micros(1_700_000_000_000_001 + version as i64),
            payload: payload.to_vec(),
        };
        assert_eq!(store.latest_snapshot(stream, None).await.unwrap(), None);
        store
            .save_snapshot(snapshot(5, b"{\"v\": 5}"))
            .await
            .unwrap();
        store
            .save_snapshot(snapshot(10, &[0, 1, 2, 255]))
            .await
            .unwrap();
        store
            .save_snapshot(snapshot(20, b"{\"v\":20}"))
            .await
            .unwrap();
        let latest = |max| {
            let store = Arc::clone(&store);
            async move { store.latest_snapshot(stream, max).await.unwrap() }
        };
        assert_eq!(latest(None).await, Some(snapshot(20, b"{\"v\":20}")));
        assert_eq!(latest(Some(19)).await, Some(snapshot(10, &[0, 1, 2, 255])));
        assert_eq!(latest(Some(10)).await, Some(snapshot(10, &[0, 1, 2, 255])));
        assert_eq!(latest(Some(5)).await, Some(snapshot(5, b"{\"v\": 5}")));
        assert_eq!(latest(Some(4)).await, None);
        assert_eq!(latest(Some(u64::MAX)).await.map(|s| s.version), Some(20));
        store
            .save_snapshot(snapshot(10, b"replaced"))
            .await
            .unwrap();
        assert_eq!(latest(Some(15)).await, Some(snapshot(10, b"replaced")));
        assert_eq!(
            store.latest_snapshot(Uuid::new_v4(), None).await.unwrap(),
            None
        );
    }
}

/// Instantiates every case for each store, as `#[tokio::test]`s in a module
/// named after the store. Each `$harness` gives an `Option<Harness<_>>`
/// (from `tests/common`); `None` skips the test (PostgreSQL without its URL).
macro_rules! conformance {
    ($($module:ident => $harness:expr),* $(,)?) => {
        $(
            mod $module {
                use super::*;
                conformance!(@cases $harness;
                    fields_round_trip,
                    stream_queries,
                    fold_stream_reads_what_read_stream_reads,
                    stale_expected_version_conflicts,
                    multi_stream_append_is_atomic,
                    idempotent_retry,
                    invalid_requests,
                    global_log,
                    log_filters_by_aggregate_type,
                    concurrent_writers_one_wins,
                    conflicts_fail_alone,
                    concurrent_appends_report_their_own_positions,
                    tracking_conflicts_fail_alone,
                    concurrent_writers_different_streams,
                    follower_under_load,
                    tracking,
                    snapshots
                );
            }
        )*
    };
    (@cases $harness:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(harness) = $harness else {
                    return;
                };
                cases::$case(Arc::new(harness.store)).await;
                harness.cleanup.finish().await;
            }
        )*
    };
}

conformance! {
    memory_store => Some(stores::memory()),
}

#[cfg(feature = "sqlite")]
conformance! {
    sqlite_store => Some(stores::sqlite_file().await),
    sqlite_in_memory_store => Some(stores::sqlite_in_memory().await),
    any_store_by_url => Some(stores::sqlite_by_url::<AnyStore>().await),
    any_sql_store_by_url => Some(stores::sqlite_by_url::<AnySqlStore>().await),
}

// Without SQLite, `AnyStore` by URL is the in-memory store.
#[cfg(not(feature = "sqlite"))]
conformance! {
    any_store_by_url => Some(stores::memory_by_url().await),
}

#[cfg(feature = "postgres")]
conformance! {
    postgres_store => common::postgres::store().await,
    any_store_postgres_by_url => common::postgres::by_url::<AnyStore>().await,
    any_sql_store_postgres_by_url => common::postgres::by_url::<AnySqlStore>().await,
}

// ---------------------------------------------------------------------------
// Choosing a store by URL.

#[tokio::test]
async fn store_urls() {
    assert_eq!(
        AnyStore::from_url("memory:").await.unwrap().kind(),
        "memory"
    );
    for bad in ["mysql://localhost/db", "nonsense", "", "memory:extra"] {
        match AnyStore::from_url(bad).await {
            Err(StoreError::Config(message)) => assert!(!message.is_empty()),
            other => panic!("{bad:?} should be a configuration error, got {other:?}"),
        }
    }
    #[cfg(feature = "sqlite")]
    {
        let store = AnyStore::from_url("sqlite::memory:").await.unwrap();
        assert_eq!(store.kind(), "sqlite");
        store
            .append(one(Uuid::new_v4(), 0, events(2)))
            .await
            .unwrap();
        assert_eq!(store.last_position().await.unwrap(), 2);
        let directory = TempDir::create();
        let url = format!(
            "sqlite://{}?synchronous=normal&table_prefix=app_",
            directory.join("x.db").display()
        );
        let store = AnyStore::from_url(&url).await.unwrap();
        store
            .append(one(Uuid::new_v4(), 0, events(1)))
            .await
            .unwrap();
        drop(store);
        let raw = chronicle_es::store::rusqlite::Connection::open(directory.join("x.db")).unwrap();
        let count: i64 = raw
            .query_row("SELECT count(*) FROM app_events", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 1);
        assert!(matches!(
            AnyStore::from_url("sqlite://x.db?bogus=1").await,
            Err(StoreError::Config(_))
        ));
        assert!(matches!(
            AnyStore::from_url("sqlite://x.db?table_prefix=drop%20table").await,
            Err(StoreError::Config(_))
        ));
        drop(directory);
    }
    #[cfg(not(feature = "postgres"))]
    assert!(matches!(
        AnyStore::from_url("postgres://localhost/db").await,
        Err(StoreError::Config(_))
    ));
}

// ---------------------------------------------------------------------------
// SQLite only.

#[cfg(feature = "sqlite")]
mod sqlite_only {
    use super::*;
    use chronicle_es::store::rusqlite::{self, params};
    use chronicle_es::store::{SqliteStore, Synchronous};

    /// Events survive closing and reopening the file; positions continue.
    #[tokio::test]
    async fn reopen_keeps_everything() {
        let directory = TempDir::create();
        let path = directory.join("events.db");
        let stream = Uuid::new_v4();
        {
            let store = SqliteStore::builder(&path)
                .synchronous(Synchronous::Normal)
                .open()
                .await
                .unwrap();
            store.append(one(stream, 0, events(3))).await.unwrap();
        }
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(read_all(&store, stream).await.len(), 3);
        let outcome = store.append(one(stream, 3, events(1))).await.unwrap();
        assert_eq!(outcome.last_position, Some(4));
        drop(store);
        drop(directory);
    }

    /// Two stores with different table prefixes share a file, isolated; a
    /// bad prefix is refused.
    #[tokio::test]
    async fn table_prefixes() {
        let directory = TempDir::create();
        let path = directory.join("events.db");
        let a = SqliteStore::builder(&path)
            .table_prefix("a_")
            .open()
            .await
            .unwrap();
        let b = SqliteStore::builder(&path)
            .table_prefix("b_")
            .open()
            .await
            .unwrap();
        a.append(one(Uuid::new_v4(), 0, events(2))).await.unwrap();
        assert_eq!(a.last_position().await.unwrap(), 2);
        assert_eq!(b.last_position().await.unwrap(), 0);
        for bad in ["x; DROP TABLE events", "1abc", "a-b", &"p".repeat(40)] {
            assert!(matches!(
                SqliteStore::builder(&path).table_prefix(bad).open().await,
                Err(StoreError::Config(_))
            ));
        }
        drop((a, b));
        drop(directory);
    }

    /// JSON payloads are TEXT that SQLite's JSON functions can query.
    #[tokio::test]
    async fn json_payloads_are_queryable() {
        let directory = TempDir::create();
        let path = directory.join("events.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let mut batch = events(1);
        batch[0].payload = br#"{"name": "Fido", "tricks": ["roll"]}"#.to_vec();
        store.append(one(Uuid::new_v4(), 0, batch)).await.unwrap();
        let raw = rusqlite::Connection::open(&path).unwrap();
        let name: String = raw
            .query_row(
                "SELECT json_extract(payload, '$.name') FROM events",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(name, "Fido");
        drop(store);
        drop(directory);
    }

    /// Payloads are TEXT exactly when they are JSON: an application with the
    /// JSON codec hands its payloads over as JSON (`append_json`, which takes
    /// them unparsed), a plain append parses each to tell.
    #[tokio::test]
    async fn payloads_are_text_when_json() {
        use chronicle_es::Application;
        use common::dogs::saved_dog;

        let directory = TempDir::create();
        let path = directory.join("events.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let app = Application::new(store.clone());
        let dog = saved_dog(&app, "Fido", 2).await;
        let mut batch = events(3);
        batch[1].payload = vec![0xff, 0x00, 0xfe];
        batch[2].payload = br#"{"n": 3} x"#.to_vec();
        let plain = Uuid::new_v4();
        store.append(one(plain, 0, batch.clone())).await.unwrap();
        let json = Uuid::new_v4();
        store.append_json(one(json, 0, events(1))).await.unwrap();

        let raw = rusqlite::Connection::open(&path).unwrap();
        let classes = |stream: Uuid| -> Vec<String> {
            raw.prepare("SELECT typeof(payload) FROM events WHERE stream_id = ?1 ORDER BY version")
                .unwrap()
                .query_map([stream.as_bytes().as_slice()], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(classes(dog.id()), ["text"; 3]);
        assert_eq!(classes(plain), ["text", "blob", "blob"]);
        assert_eq!(classes(json), ["text"]);
        let stored = read_all(&store, plain).await;
        let payloads: Vec<_> = stored.iter().map(|event| &event.payload).collect();
        assert_eq!(
            payloads,
            batch.iter().map(|event| &event.payload).collect::<Vec<_>>()
        );
        drop((app, store));
        drop(directory);
    }

    /// Rows edited by hand into nonsense give typed errors naming the stream
    /// and version; everything else stays readable.
    #[tokio::test]
    async fn corrupt_rows() {
        let directory = TempDir::create();
        let path = directory.join("events.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let streams: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
        for stream in &streams {
            store.append(one(*stream, 0, events(3))).await.unwrap();
        }
        let healthy = streams[5];
        let raw = rusqlite::Connection::open(&path).unwrap();
        let edit = |sql: &str, stream: Uuid, version: i64| {
            let changed = raw
                .execute(sql, params![stream.as_bytes().as_slice(), version])
                .unwrap();
            assert_eq!(changed, 1, "{sql}");
        };
        edit(
            "UPDATE events SET metadata = '{not json' WHERE stream_id = ?1 AND version = ?2",
            streams[0],
            2,
        );
        edit(
            "UPDATE events SET metadata = '{\"correlation_id\": 42}' WHERE stream_id = ?1 AND version = ?2",
            streams[1],
            3,
        );
        edit(
            "UPDATE events SET event_id = X'0102' WHERE stream_id = ?1 AND version = ?2",
            streams[2],
            1,
        );
        edit(
            "UPDATE events SET version = -7 WHERE stream_id = ?1 AND version = ?2",
            streams[3],
            3,
        );
        edit(
            "UPDATE events SET payload = X'FF00FE' WHERE stream_id = ?1 AND version = ?2",
            streams[4],
            2,
        );
        edit(
            "UPDATE events SET schema_version = 'one' WHERE stream_id = ?1 AND version = ?2",
            streams[4],
            3,
        );

        let corrupt = |result: Result<Vec<StoredEvent>, StoreError>| match result {
            Err(StoreError::Corrupt {
                stream_id,
                version,
                reason,
            }) => (stream_id, version, reason),
            other => panic!("expected a corrupt-record error, got {other:?}"),
        };
        let (stream, version, reason) =
            corrupt(store.read_stream(streams[0], StreamQuery::all()).await);
        assert_eq!((stream, version), (streams[0], 2));
        assert!(reason.contains("metadata"), "{reason}");
        let (stream, version, _) = corrupt(store.read_stream(streams[1], StreamQuery::all()).await);
        assert_eq!((stream, version), (streams[1], 3));
        let (stream, version, reason) =
            corrupt(store.read_stream(streams[2], StreamQuery::all()).await);
        assert_eq!((stream, version), (streams[2], 1));
        assert!(reason.contains("event id"), "{reason}");
        // Reading around the corrupt versions works.
        assert_eq!(
            store
                .read_stream(streams[0], StreamQuery::all().to_version(1))
                .await
                .unwrap()
                .len(),
            1
        );
        // A negative version is outside every stream query, but the log finds it.
        assert_eq!(read_all(&store, streams[3]).await.len(), 2);
        let log_error = store.read_log(LogQuery::after(9, 3)).await;
        let (stream, _, reason) = corrupt(log_error);
        assert_eq!(stream, streams[3]);
        assert!(reason.contains("-7"), "{reason}");
        // A hand-edited payload comes back as stored; decoding it is the
        // application's business.
        let read = store
            .read_stream(streams[4], StreamQuery::all().to_version(2))
            .await
            .unwrap();
        assert_eq!(read[1].payload, [0xFF, 0x00, 0xFE]);
        let (stream, version, _) = corrupt(store.read_stream(streams[4], StreamQuery::all()).await);
        assert_eq!((stream, version), (streams[4], 3));
        // Other streams and the rest of the log are fine.
        assert_eq!(read_all(&store, healthy).await.len(), 3);
        assert_eq!(
            store.read_log(LogQuery::after(15, 10)).await.unwrap().len(),
            3
        );
        assert_eq!(store.last_position().await.unwrap(), 18);
        // An appended stream after a corrupt one works; appending to a stream
        // with a corrupt stored id reports the corruption.
        store.append(one(healthy, 3, events(1))).await.unwrap();
        raw.execute(
            "UPDATE events SET event_id = X'00' WHERE stream_id = ?1 AND version = 4",
            params![healthy.as_bytes().as_slice()],
        )
        .unwrap();
        match store.append(one(healthy, 3, events(1))).await {
            Err(StoreError::Corrupt {
                stream_id, version, ..
            }) => assert_eq!((stream_id, version), (healthy, 4)),
            other => panic!("expected a corrupt-record error, got {other:?}"),
        }
        drop(store);
        drop(directory);
    }

    /// Several stores on one file (as several processes would): appends
    /// stay atomic and ordered across them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_stores_one_file() {
        let directory = TempDir::create();
        let path = directory.join("events.db");
        let a = Arc::new(SqliteStore::open(&path).await.unwrap());
        let b = Arc::new(SqliteStore::open(&path).await.unwrap());
        let stream = Uuid::new_v4();
        let tasks: Vec<_> = [Arc::clone(&a), Arc::clone(&b)]
            .into_iter()
            .cycle()
            .take(8)
            .map(|store| tokio::spawn(async move { store.append(one(stream, 0, events(2))).await }))
            .collect();
        let mut won = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                won += 1;
            }
        }
        assert_eq!(won, 1);
        assert_eq!(read_all(&*b, stream).await.len(), 2);
        drop((a, b));
        drop(directory);
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL only.

#[cfg(feature = "postgres")]
mod pg {
    use super::*;
    use chronicle_es::store::PostgresStore;
    use common::postgres::{raw_client, store, url, Schema};

    fn positions(events: &[StoredEvent]) -> Vec<u64> {
        events.iter().map(|e| e.position).collect()
    }

    /// An append transaction left open holds every reader below its first
    /// position, while later appends commit; then everything appears in
    /// order. A rolled-back one leaves a hole readers pass.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn held_append_holds_the_horizon() {
        let Some(harness) = store().await else {
            return;
        };
        let store = &harness.store;
        store
            .append(one(Uuid::new_v4(), 0, events(2)))
            .await
            .unwrap();
        let slow = store
            .begin_held_append(&one(Uuid::new_v4(), 0, events(2)))
            .await
            .unwrap();
        assert_eq!(slow.last_position, Some(4));
        let fast = Uuid::new_v4();
        let outcome = store.append(one(fast, 0, events(3))).await.unwrap();
        assert_eq!(outcome.last_position, Some(7));

        let seen = store.read_log(LogQuery::after(0, 100)).await.unwrap();
        assert_eq!(positions(&seen), [1, 2]);
        assert_eq!(store.last_position().await.unwrap(), 2);
        assert_eq!(read_all(store, fast).await.len(), 3, "streams are not held");

        slow.commit().await.unwrap();
        let seen = store.read_log(LogQuery::after(2, 100)).await.unwrap();
        assert_eq!(positions(&seen), [3, 4, 5, 6, 7]);
        assert_eq!(store.last_position().await.unwrap(), 7);

        let abandoned = store
            .begin_held_append(&one(Uuid::new_v4(), 0, events(1)))
            .await
            .unwrap();
        assert_eq!(abandoned.last_position, Some(8));
        store.append(one(fast, 3, events(1))).await.unwrap();
        assert!(store
            .read_log(LogQuery::after(7, 100))
            .await
            .unwrap()
            .is_empty());
        drop(abandoned); // closes its connection: the server rolls it back
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let seen = store.read_log(LogQuery::after(7, 100)).await.unwrap();
            if !seen.is_empty() {
                assert_eq!(positions(&seen), [9]);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "horizon never moved");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(store.last_position().await.unwrap(), 9);
        harness.finish().await;
    }

    /// 64-bit FNV-1a, as the store hashes names derived from the schema.
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// The schema's advisory-lock namespace, as the store computes it, to
    /// find its listener-registry keys in `pg_locks`.
    fn namespace(schema: &str) -> i64 {
        let hash = fnv1a(format!("chronicle:{schema}").as_bytes());
        i64::from((hash ^ (hash >> 16) ^ (hash >> 32) ^ (hash >> 48)) as u16)
    }

    /// The schema's channel, as the store names it (hashed when too long
    /// for a PostgreSQL name, as the test schemas' are).
    fn channel(schema: &str) -> String {
        let channel = format!("chronicle_events_{schema}");
        if channel.len() <= 63 {
            return channel;
        }
        format!("chronicle_events_{:016x}", fnv1a(schema.as_bytes()))
    }

    /// A connection of its own that forwards the payloads of the
    /// notifications it receives; it runs `setup` first (`LISTEN` or
    /// `chronicle_listen()`).
    async fn notifications(
        url: &str,
        setup: &str,
    ) -> (
        chronicle_es::store::tokio_postgres::Client,
        tokio::sync::mpsc::UnboundedReceiver<String>,
    ) {
        use chronicle_es::store::tokio_postgres::{self, AsyncMessage, NoTls};
        let (client, mut connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(message)) =
                std::future::poll_fn(|cx| connection.poll_message(cx)).await
            {
                if let AsyncMessage::Notification(notification) = message {
                    let _ = sender.send(notification.payload().to_owned());
                }
            }
        });
        client.batch_execute(setup).await.unwrap();
        (client, receiver)
    }

    /// Appends notify only while a listener is registered: a session that
    /// merely `LISTEN`s hears nothing; once one registers with
    /// `chronicle_listen()`, every append notifies (the single-event
    /// statement, `chronicle_append` for several events), and every
    /// listening session hears it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appends_notify_only_while_a_listener_is_registered() {
        let Some(harness) = store().await else {
            return;
        };
        let store = &harness.store;
        let url = url().unwrap();
        let schema = store.schema().to_owned();
        let channel = channel(&schema);
        let (_plain, mut heard_plain) = notifications(&url, &format!("LISTEN \"{channel}\"")).await;
        store
            .append(one(Uuid::new_v4(), 0, events(1)))
            .await
            .unwrap();
        store
            .append(one(Uuid::new_v4(), 0, events(2)))
            .await
            .unwrap();
        let quiet =
            tokio::time::timeout(std::time::Duration::from_millis(300), heard_plain.recv()).await;
        assert!(
            quiet.is_err(),
            "no listener registered, no notification: {quiet:?}"
        );

        let (registered, mut heard) =
            notifications(&url, &format!("SELECT \"{schema}\".chronicle_listen()")).await;
        let listening: String = registered
            .query_one("SELECT pg_catalog.pg_listening_channels()", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(listening, channel, "chronicle_listen() listens");
        let single = store
            .append(one(Uuid::new_v4(), 0, events(1)))
            .await
            .unwrap();
        let several = store
            .append(one(Uuid::new_v4(), 0, events(2)))
            .await
            .unwrap();
        let expected = [single.last_position, several.last_position]
            .map(|position| position.unwrap().to_string());
        for receiver in [&mut heard, &mut heard_plain] {
            for position in &expected {
                let payload =
                    tokio::time::timeout(std::time::Duration::from_secs(10), receiver.recv())
                        .await
                        .expect("a registered listener makes appends notify")
                        .unwrap();
                assert_eq!(&payload, position);
            }
        }
        // The registry keys take objsubid 2: the horizon passes over them.
        assert_eq!(
            store.last_position().await.unwrap(),
            several.last_position.unwrap()
        );
        harness.finish().await;
    }

    /// Concurrent appends, committed in groups, notify once per commit and
    /// only while a listener is registered: every notification carries the
    /// last position of one of the appends (never an event's inside an
    /// append), the highest is heard, and there are fewer notifications
    /// than appends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grouped_appends_notify_once_per_commit() {
        let Some(harness) = store().await else {
            return;
        };
        let store = Arc::new(harness.store.clone());
        let url = url().unwrap();
        let schema = store.schema().to_owned();
        let quiet = std::time::Duration::from_millis(300);
        // 32 appends of 2 events at once: the first commits alone, the
        // others arrive while it commits and go together.
        let append_at_once = || async {
            let appends: Vec<_> = (0..32)
                .map(|_| {
                    let store = Arc::clone(&store);
                    tokio::spawn(
                        async move { store.append(one(Uuid::new_v4(), 0, events(2))).await },
                    )
                })
                .collect();
            let mut last_positions = Vec::new();
            for append in appends {
                let outcome = append.await.unwrap().unwrap();
                last_positions.push(outcome.last_position.unwrap());
            }
            last_positions
        };
        let (_plain, mut heard_plain) =
            notifications(&url, &format!("LISTEN \"{}\"", channel(&schema))).await;
        append_at_once().await;
        let heard = tokio::time::timeout(quiet, heard_plain.recv()).await;
        assert!(heard.is_err(), "no listener registered: {heard:?}");

        let (_registered, mut heard) =
            notifications(&url, &format!("SELECT \"{schema}\".chronicle_listen()")).await;
        let last_positions = append_at_once().await;
        let highest = *last_positions.iter().max().unwrap();
        let mut notified = Vec::new();
        while let Ok(payload) = tokio::time::timeout(quiet, heard.recv()).await {
            notified.push(payload.unwrap().parse::<u64>().unwrap());
        }
        assert!(notified.contains(&highest), "{notified:?} lacks {highest}");
        for position in &notified {
            assert!(
                last_positions.contains(position),
                "{position} is not the last position of an append: {last_positions:?}"
            );
        }
        assert!(
            notified.len() < last_positions.len(),
            "appends committed together notify once: {notified:?}"
        );
        harness.finish().await;
    }

    /// No wake-up is missed: an append that found no listener registered
    /// holds its registry key until it commits, so the store's listener,
    /// starting meanwhile, waits for it before it listens; the waiter wakes
    /// on the new `LISTEN` after the commit and the log then shows the
    /// append. Later appends wake the waiter by notification.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_listener_registers_after_appends_that_did_not_notify() {
        let Some(harness) = store().await else {
            return;
        };
        let store = Arc::new(harness.store.clone());
        let url = url().unwrap();
        let watcher = raw_client(&url).await;
        let namespace = namespace(store.schema());
        let registry_locks = |granted: bool, mode: &'static str| {
            let watcher = &watcher;
            async move {
                watcher
                    .query_one(
                        "SELECT count(*) FROM pg_catalog.pg_locks
                          WHERE locktype = 'advisory' AND objsubid = 2
                            AND classid = 1667789361 AND objid::bigint % 65536 = $1
                            AND granted = $2 AND mode = $3",
                        &[&namespace, &granted, &mode],
                    )
                    .await
                    .unwrap()
                    .get::<_, i64>(0)
            }
        };
        let held = store
            .begin_held_append(&one(Uuid::new_v4(), 0, events(2)))
            .await
            .unwrap();
        assert_eq!(held.last_position, Some(2));
        assert_eq!(
            registry_locks(true, "ExclusiveLock").await,
            1,
            "the append found no listener and holds its key"
        );

        let waiting = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .wait_for_events(0, std::time::Duration::from_secs(60))
                    .await;
                std::time::Instant::now()
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while registry_locks(false, "ShareLock").await == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the listener waits for the append's key"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            !waiting.is_finished(),
            "not listening before the append ends"
        );
        assert_eq!(store.last_position().await.unwrap(), 0);

        let committed = std::time::Instant::now();
        held.commit().await.unwrap();
        let woken = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("the new LISTEN wakes the waiter")
            .unwrap();
        assert!(woken >= committed);
        assert_eq!(
            positions(&store.read_log(LogQuery::after(0, 100)).await.unwrap()),
            [1, 2],
            "the read after the wake-up sees the append"
        );
        assert_eq!(registry_locks(true, "ShareLock").await, 16);

        // Registered: appends notify, a waiter wakes at once.
        for request in [
            one(Uuid::new_v4(), 0, events(1)),
            one(Uuid::new_v4(), 0, events(3)),
        ] {
            let last = store.last_position().await.unwrap();
            let waiting = {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .wait_for_events(last, std::time::Duration::from_secs(60))
                        .await;
                })
            };
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let started = std::time::Instant::now();
            store.append(request).await.unwrap();
            tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
                .await
                .expect("woken by the notification")
                .unwrap();
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "woken in {:?}",
                started.elapsed()
            );
        }
        drop(store);
        harness.finish().await;
    }

    /// Rows decode the same (log, stream and fold reads) whether the column
    /// types are the ones the store created (checked once per statement) or others the driver
    /// reads as the same values (checked on every value): here `varchar`
    /// and `name` text columns, with metadata and binary payloads.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn log_reads_the_same_from_other_column_types() {
        let Some(harness) = store().await else {
            return;
        };
        let (url, schema) = (
            harness.cleanup.schema().url(),
            harness.cleanup.schema().name(),
        );
        let stream = Uuid::new_v4();
        let mut written = events(3);
        written[1].metadata = Metadata::new()
            .with_correlation_id(Uuid::new_v4())
            .with("user", "ada");
        written[2].payload = vec![0, 159, 146, 150];
        harness.store.append(one(stream, 0, written)).await.unwrap();
        let before = harness
            .store
            .read_log(LogQuery::after(0, 10))
            .await
            .unwrap();
        assert_eq!(before.len(), 3);
        assert_eq!(before[1].metadata.extra["user"], "ada");
        assert_eq!(before[2].payload, [0, 159, 146, 150]);

        // varchar: still read as the store's own; then name: checked.
        for (column, ty) in [("event_type", "varchar(200)"), ("aggregate_type", "name")] {
            raw_client(url)
                .await
                .batch_execute(&format!(
                    "ALTER TABLE {schema}.events ALTER COLUMN {column} TYPE {ty}"
                ))
                .await
                .unwrap();
            // A new pool: statements prepared before have other result types.
            let reopened = common::postgres::store_in(url, schema).await;
            let after = reopened.read_log(LogQuery::after(0, 10)).await.unwrap();
            assert_eq!(after, before, "{column} as {ty}");
            assert_eq!(
                read_all(&reopened, stream).await,
                before,
                "{column} as {ty}"
            );
            let folded = reopened
                .fold_stream(stream, StreamQuery::all(), Vec::new(), |seen, event| {
                    seen.push((
                        event.version,
                        event.event_type.to_owned(),
                        event.schema_version,
                        event.timestamp,
                        event.payload.to_vec(),
                    ));
                    Ok::<_, StoreError>(())
                })
                .await
                .unwrap();
            let expected: Vec<_> = before
                .iter()
                .map(|e| {
                    let (version, event_type) = (e.version, e.event_type.clone());
                    (
                        version,
                        event_type,
                        e.schema_version,
                        e.timestamp,
                        e.payload.clone(),
                    )
                })
                .collect();
            assert_eq!(folded, expected, "{column} as {ty}");
        }
        harness.finish().await;
    }

    /// A follower tailing the log while writers commit around transactions
    /// that stay open for a while sees every event once, in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn follower_with_slow_writers() {
        let Some(harness) = store().await else {
            return;
        };
        let store = Arc::new(harness.store);
        let done = Arc::new(AtomicBool::new(false));
        let follower = {
            let store = Arc::clone(&store);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut seen: Vec<StoredEvent> = Vec::new();
                let mut after = 0;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let batch = store.read_log(LogQuery::after(after, 5)).await.unwrap();
                    if batch.is_empty() {
                        if finished {
                            return seen;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                        continue;
                    }
                    for event in batch {
                        assert!(event.position > after);
                        after = event.position;
                        seen.push(event);
                    }
                }
            })
        };
        let slow = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for _ in 0..4 {
                    let held = store
                        .begin_held_append(&one(Uuid::new_v4(), 0, events(3)))
                        .await
                        .unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                    held.commit().await.unwrap();
                }
            })
        };
        let writers: Vec<_> = (0..3)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let stream = Uuid::new_v4();
                    for version in 0..60 {
                        store.append(one(stream, version, events(1))).await.unwrap();
                        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
                    }
                })
            })
            .collect();
        slow.await.unwrap();
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let seen = follower.await.unwrap();
        let full = whole_log(&*store).await;
        assert_eq!(full.len(), 4 * 3 + 3 * 60);
        assert_eq!(ids(&seen), ids(&full));
        drop(store);
        harness.cleanup.finish().await;
    }

    /// Killing the pool's backends does not break the next calls.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn terminated_backends_reconnect() {
        let Some(harness) = store().await else {
            return;
        };
        let store = Arc::new(harness.store);
        let (url, schema) = (
            harness.cleanup.schema().url(),
            harness.cleanup.schema().name(),
        );
        let stream = Uuid::new_v4();
        store.append(one(stream, 0, events(2))).await.unwrap();
        let raw = raw_client(url).await;
        for round in 0..3u64 {
            // Open several pooled connections.
            let reads: Vec<_> = (0..4)
                .map(|_| {
                    let store = Arc::clone(&store);
                    tokio::spawn(async move { store.read_log(LogQuery::after(0, 10)).await })
                })
                .collect();
            for read in reads {
                read.await.unwrap().unwrap();
            }
            let killed: i64 = raw
                .query_one(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                      WHERE application_name = $1 AND pid <> pg_backend_pid()) AS k",
                    &[&schema],
                )
                .await
                .unwrap()
                .get(0);
            assert!(killed >= 1, "round {round}: no backend to kill");
            let outcome = store
                .append(one(stream, 2 + round, events(1)))
                .await
                .unwrap();
            assert!(outcome.written);
            assert_eq!(read_all(&*store, stream).await.len() as u64, 3 + round);
            assert_eq!(store.last_position().await.unwrap(), 3 + round);
        }
        drop(store);
        harness.cleanup.finish().await;
    }

    /// Several stores starting at once on a new schema all succeed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_starts() {
        let Some(url) = url() else {
            return;
        };
        let schema = Schema::fresh(&url);
        let starts: Vec<_> = (0..6)
            .map(|_| {
                let (url, schema) = (url.clone(), schema.name().to_owned());
                tokio::spawn(async move { PostgresStore::connect(&url, &schema).await })
            })
            .collect();
        let mut stores = Vec::new();
        for start in starts {
            stores.push(start.await.unwrap().unwrap());
        }
        stores[0]
            .append(one(Uuid::new_v4(), 0, events(1)))
            .await
            .unwrap();
        assert_eq!(stores[5].last_position().await.unwrap(), 1);
        drop(stores);
        schema.drop_now().await;
    }

    /// Schema names are checked, never interpolated as given.
    #[tokio::test]
    async fn invalid_schema_names() {
        let url = "postgres://nobody@127.0.0.1:1/none";
        for bad in ["Bad", "a-b", "x\"; DROP SCHEMA public; --", "", "pg_toast"] {
            match PostgresStore::connect(url, bad).await {
                Err(StoreError::Config(message)) => assert!(message.contains("schema")),
                other => panic!("{bad:?}: expected a configuration error, got {other:?}"),
            }
        }
        assert!(matches!(
            AnyStore::from_url("postgres://nobody@127.0.0.1:1/none?schema=Bad").await,
            Err(StoreError::Config(_))
        ));
    }

    /// The cluster options in store URLs: checked, then used (a server that
    /// is down fails the connection at once with no retry budget).
    #[tokio::test]
    async fn cluster_options_in_urls() {
        for bad in ["retry_budget_ms=soon", "commit_timeout_ms=-1"] {
            let url = format!("postgres://nobody@127.0.0.1:1/none?{bad}");
            match AnyStore::from_url(&url).await {
                Err(StoreError::Config(message)) => assert!(message.contains("milliseconds")),
                other => panic!("{bad}: expected a configuration error, got {other:?}"),
            }
        }
        let down = "postgres://nobody@127.0.0.1:1,127.0.0.1:2/none?retry_budget_ms=0&commit_timeout_ms=500";
        assert!(matches!(
            AnyStore::from_url(down).await,
            Err(StoreError::Backend { .. })
        ));
    }

    /// JSON payloads and metadata answer psql's JSON operators.
    #[tokio::test]
    async fn json_is_queryable() {
        let Some(harness) = store().await else {
            return;
        };
        let (url, schema) = (harness.schema().url(), harness.schema().name());
        let stream = Uuid::new_v4();
        let correlation = Uuid::new_v4();
        let mut batch = events(2);
        batch[0].payload = br#"{"name": "Fido",  "tricks": ["roll"]}"#.to_vec();
        batch[0].metadata = Metadata::new().with_correlation_id(correlation);
        batch[1].payload = vec![1, 2, 3];
        harness.store.append(one(stream, 0, batch)).await.unwrap();
        let raw = raw_client(url).await;
        let row = raw
            .query_one(
                &format!(
                    "SELECT payload->>'name', payload->'tricks'->>0, metadata->>'correlation_id'
                       FROM {schema}.events WHERE version = 1"
                ),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "Fido");
        assert_eq!(row.get::<_, String>(1), "roll");
        assert_eq!(row.get::<_, String>(2), correlation.to_string());
        let row = raw
            .query_one(
                &format!(
                    "SELECT payload IS NULL, payload_bytes FROM {schema}.events WHERE version = 2"
                ),
                &[],
            )
            .await
            .unwrap();
        assert!(row.get::<_, bool>(0));
        assert_eq!(row.get::<_, Vec<u8>>(1), [1, 2, 3]);
        harness.finish().await;
    }

    /// Rows edited by hand into nonsense give typed errors naming the stream
    /// and version; everything else stays readable.
    #[tokio::test]
    async fn corrupt_rows() {
        let Some(harness) = store().await else {
            return;
        };
        let (url, schema) = (harness.schema().url(), harness.schema().name());
        let store = &harness.store;
        let streams: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
        for stream in &streams {
            store.append(one(*stream, 0, events(3))).await.unwrap();
        }
        let healthy = streams[5];
        let raw = raw_client(url).await;
        let edit = |set: &'static str, stream: Uuid, version: i64| {
            let raw = &raw;
            let schema = schema.to_owned();
            async move {
                let changed = raw
                    .execute(
                        &format!(
                            "UPDATE {schema}.events SET {set} WHERE stream_id = $1 AND version = $2"
                        ),
                        &[&stream, &version],
                    )
                    .await
                    .unwrap();
                assert_eq!(changed, 1, "{set}");
            }
        };
        edit(r#"metadata = '{"correlation_id": 42}'"#, streams[0], 2).await;
        edit("metadata = '[1, 2]'", streams[1], 3).await;
        edit("payload = NULL, payload_bytes = NULL", streams[2], 1).await;
        edit("version = -7", streams[3], 3).await;
        edit(r"payload = NULL, payload_bytes = '\xff00fe'", streams[4], 2).await;
        edit("schema_version = -1", streams[4], 3).await;

        let corrupt = |result: Result<Vec<StoredEvent>, StoreError>| match result {
            Err(StoreError::Corrupt {
                stream_id,
                version,
                reason,
            }) => (stream_id, version, reason),
            other => panic!("expected a corrupt-record error, got {other:?}"),
        };
        let (stream, version, reason) =
            corrupt(store.read_stream(streams[0], StreamQuery::all()).await);
        assert_eq!((stream, version), (streams[0], 2));
        assert!(reason.contains("metadata"), "{reason}");
        let (stream, version, _) = corrupt(store.read_stream(streams[1], StreamQuery::all()).await);
        assert_eq!((stream, version), (streams[1], 3));
        let (stream, version, reason) =
            corrupt(store.read_stream(streams[2], StreamQuery::all()).await);
        assert_eq!((stream, version), (streams[2], 1));
        assert!(reason.contains("payload"), "{reason}");
        assert_eq!(read_all(store, streams[3]).await.len(), 2);
        let (stream, _, reason) = corrupt(store.read_log(LogQuery::after(9, 3)).await);
        assert_eq!(stream, streams[3]);
        assert!(reason.contains("-7"), "{reason}");
        let read = store
            .read_stream(streams[4], StreamQuery::all().to_version(2))
            .await
            .unwrap();
        assert_eq!(read[1].payload, [0xFF, 0x00, 0xFE]);
        let (stream, version, reason) =
            corrupt(store.read_stream(streams[4], StreamQuery::all()).await);
        assert_eq!((stream, version), (streams[4], 3));
        assert!(reason.contains("schema version"), "{reason}");
        assert_eq!(read_all(store, healthy).await.len(), 3);
        assert_eq!(
            store.read_log(LogQuery::after(15, 10)).await.unwrap().len(),
            3
        );
        assert_eq!(store.last_position().await.unwrap(), 18);
        store.append(one(healthy, 3, events(1))).await.unwrap();
        harness.finish().await;
    }
}
