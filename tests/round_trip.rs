//! What a save accepts, a load returns.
//!
//! Encoding: every value that a codec cannot store faithfully (non-finite
//! floats, alone or nested; maps with keys that are not strings; integers
//! beyond 64 bits; types whose `Serialize` and `Deserialize` disagree) is
//! saved through the public API with each codec, and either the save is
//! refused with `Error::Encode` naming the event and the field, storing
//! nothing, or the aggregate loads back equal.
//!
//! Decoding: stored rows that upcasters cannot read (a corrupt version-1
//! row that is an array where the README's upcaster indexes a map, an
//! upcaster that panics) are `Error::Decode` naming stream, version and
//! event type, for `get` and for followers alike; the task survives.

mod common;

use std::collections::{BTreeMap, HashMap};

use chronicle_es::prelude::*;
use chronicle_es::store::MemoryStore;
use chronicle_es::{Codec, JsonCodec, SnapshotError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    x: f64,
    y: f64,
}

/// Writes both fields, reads back `kept` only: `lost` comes back as 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forgetful {
    kept: u32,
    lost: u32,
}

impl<'de> Deserialize<'de> for Forgetful {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Kept {
            kept: u32,
        }
        let Kept { kept } = Kept::deserialize(deserializer)?;
        Ok(Forgetful { kept, lost: 0 })
    }
}

/// Degrees Celsius, written as a number in a string that is read back as
/// degrees Fahrenheit.
#[derive(Debug, Clone, PartialEq)]
pub struct Celsius(i32);

impl Serialize for Celsius {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Celsius {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let fahrenheit: i32 = text.parse().map_err(serde::de::Error::custom)?;
        Ok(Celsius((fahrenheit - 32) * 5 / 9))
    }
}

/// One event per trap; the state keeps what each event carried, as text
/// (maps sorted), so that a loaded copy compares equal exactly when every
/// value came back.
#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    seen: Vec<String>,
}

#[aggregate]
impl Probe {
    #[event("Created")]
    pub fn create() -> Self {
        Self { seen: Vec::new() }
    }

    #[event("CreatedWith")]
    pub fn create_with(reading: f64) -> Self {
        Self {
            seen: vec![format!("{reading:?}")],
        }
    }

    #[event("Float")]
    pub fn float(&mut self, reading: f64) {
        self.seen.push(format!("{reading:?}"));
    }

    #[event("MaybeFloat")]
    pub fn maybe_float(&mut self, reading: Option<f64>) {
        self.seen.push(format!("{reading:?}"));
    }

    #[event("Located")]
    pub fn locate(&mut self, label: String, point: Point) {
        self.seen.push(format!("{label} {point:?}"));
    }

    #[event("Series")]
    pub fn series(&mut self, readings: Vec<f64>) {
        self.seen.push(format!("{readings:?}"));
    }

    #[event("Named")]
    pub fn named(&mut self, readings: BTreeMap<String, f64>) {
        self.seen.push(format!("{readings:?}"));
    }

    #[event("Grid")]
    pub fn grid(&mut self, cells: HashMap<(u8, u8), String>) {
        self.seen
            .push(format!("{:?}", cells.iter().collect::<BTreeMap<_, _>>()));
    }

    #[event("ById")]
    pub fn by_id(&mut self, counts: BTreeMap<Uuid, u32>) {
        self.seen.push(format!("{counts:?}"));
    }

    #[event("ByNumber")]
    pub fn by_number(&mut self, names: HashMap<u32, String>) {
        self.seen
            .push(format!("{:?}", names.iter().collect::<BTreeMap<_, _>>()));
    }

    #[event("Big")]
    pub fn big(&mut self, unsigned: u128, signed: i128) {
        self.seen.push(format!("{unsigned} {signed}"));
    }

    #[event("Forgot")]
    pub fn forgot(&mut self, forgetful: Forgetful) {
        self.seen.push(format!("{forgetful:?}"));
    }

    #[event("Measured")]
    pub fn measured(&mut self, temperature: Celsius) {
        self.seen.push(format!("{temperature:?}"));
    }
}

/// What a save of the trap should do.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `Error::Encode` naming the event and this field (a path from it).
    Refused(&'static str),
    /// Stored, and loaded back equal.
    Accepted,
}

fn app<C: Codec>(codec: C) -> Application<MemoryStore, C> {
    Application::builder(MemoryStore::new())
        .codec(codec)
        .build()
}

/// Saves a created probe, records one event with `record` and saves again.
async fn check<C: Codec>(codec: C, event_type: &str, record: fn(&mut Probe), expect: Expect) {
    let app = app(codec);
    let mut probe = Probe::create();
    app.save(&mut probe).await.unwrap();
    let before = app.last_position().await.unwrap();
    record(&mut probe);
    let outcome = app.save(&mut probe).await;
    match (outcome, expect) {
        (Ok(_), Expect::Accepted) => {
            let loaded: Probe = app.get(probe.id()).await.unwrap();
            assert_eq!(loaded, probe);
        }
        (
            Err(Error::Encode {
                stream_id,
                version,
                event_type: refused,
                source,
            }),
            Expect::Refused(field),
        ) => {
            assert_eq!((stream_id, version, refused), (probe.id(), 2, event_type));
            assert_eq!(source.codec, C::NAME);
            assert!(
                source.message.contains(&format!("`{field}")),
                "the error names `{field}`: {source}"
            );
            // Nothing stored; the event is still pending.
            assert_eq!(app.last_position().await.unwrap(), before);
            assert_eq!(app.get::<Probe>(probe.id()).await.unwrap().version(), 1);
            assert_eq!(probe.pending_events().len(), 1);
        }
        (outcome, expect) => panic!(
            "{event_type} with {}: expected {expect:?}, got {outcome:?}",
            C::NAME
        ),
    }
}

/// One test per trap and codec: `name: "Event", record, json: ..., msgpack: ...;`.
macro_rules! traps {
    ($($name:ident: $event:literal, $record:expr, json: $json:expr, msgpack: $msgpack:expr;)*) => {
        mod json {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    check(JsonCodec, $event, $record, $json).await;
                }
            )*
        }

        #[cfg(feature = "msgpack")]
        mod msgpack {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    check(chronicle_es::MsgPackCodec, $event, $record, $msgpack).await;
                }
            )*
        }
    };
}

use Expect::{Accepted, Refused};

traps! {
    nan: "Float", |p| p.float(f64::NAN),
        json: Refused("reading"), msgpack: Accepted;
    infinity: "Float", |p| p.float(f64::INFINITY),
        json: Refused("reading"), msgpack: Accepted;
    negative_infinity: "Float", |p| p.float(f64::NEG_INFINITY),
        json: Refused("reading"), msgpack: Accepted;
    finite_float: "Float", |p| p.float(-0.1),
        json: Accepted, msgpack: Accepted;
    nan_in_an_option: "MaybeFloat", |p| p.maybe_float(Some(f64::NAN)),
        json: Refused("reading"), msgpack: Accepted;
    infinity_in_a_struct: "Located", |p| p.locate("a".into(), Point { x: 1.0, y: f64::INFINITY }),
        json: Refused("point"), msgpack: Accepted;
    nan_in_a_vec: "Series", |p| p.series(vec![1.0, f64::NAN]),
        json: Refused("readings"), msgpack: Accepted;
    infinity_in_a_map: "Named", |p| p.named([("a".to_owned(), f64::NEG_INFINITY)].into()),
        json: Refused("readings"), msgpack: Accepted;
    tuple_keys: "Grid", |p| p.grid([((1, 2), "b".to_owned()), ((0, 0), "a".to_owned())].into()),
        json: Refused("cells"), msgpack: Accepted;
    uuid_keys: "ById", |p| p.by_id([(Uuid::new_v4(), 1), (Uuid::nil(), 2)].into()),
        json: Accepted, msgpack: Accepted;
    integer_keys: "ByNumber", |p| p.by_number([(7, "seven".to_owned()), (u32::MAX, "max".to_owned())].into()),
        json: Accepted, msgpack: Accepted;
    integers_beyond_64_bits: "Big", |p| p.big(u128::MAX, i128::MIN),
        json: Accepted, msgpack: Accepted;
    a_field_not_read_back: "Forgot", |p| p.forgot(Forgetful { kept: 1, lost: 2 }),
        json: Refused("forgetful.lost"), msgpack: Refused("forgetful.lost");
    a_string_read_as_something_else: "Measured", |p| p.measured(Celsius(20)),
        json: Refused("temperature"), msgpack: Refused("temperature");
}

#[tokio::test]
async fn a_refused_creation_event_stores_nothing() {
    let app = app(JsonCodec);
    let mut probe = Probe::create_with(f64::NAN);
    let error = app.save(&mut probe).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Encode {
                event_type: "CreatedWith",
                version: 1,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "cannot encode event `CreatedWith` (stream {}, version 1): json: does not read back: \
             field `reading`: invalid type: null, expected f64 at line 1 column 15 (`reading` holds NaN)",
            probe.id()
        )
    );
    assert!(!app.repository().contains(probe.id()).await.unwrap());
    assert_eq!(app.last_position().await.unwrap(), 0);
    assert_eq!(probe.pending_events().len(), 1);
}

#[tokio::test]
async fn a_lossy_value_is_named_with_what_it_would_become() {
    let app = app(JsonCodec);
    let mut probe = Probe::create();
    probe.maybe_float(Some(f64::NAN));
    let error = app.save(&mut probe).await.unwrap_err();
    assert!(
        error.to_string().ends_with(
            "json: does not read back: field `reading` was Some(NaN), reads back as None"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn one_refused_aggregate_refuses_the_whole_save() {
    let app = app(JsonCodec);
    let mut good = Probe::create();
    let mut bad = Probe::create();
    bad.series(vec![f64::INFINITY]);
    let error = app.save((&mut good, &mut bad)).await.unwrap_err();
    assert!(
        matches!(error, Error::Encode { stream_id, event_type: "Series", .. } if stream_id == bad.id())
    );
    assert!(!app.repository().contains(good.id()).await.unwrap());
    assert_eq!(app.last_position().await.unwrap(), 0);
    assert_eq!(
        (good.pending_events().len(), bad.pending_events().len()),
        (1, 2)
    );
    // Without the bad event, the same save goes through.
    bad.collect_events();
    app.save(&mut good).await.unwrap();
    assert_eq!(app.get::<Probe>(good.id()).await.unwrap(), good);
}

/// JSON that folds `é` into `e`: lossy even for strings, and it does not
/// claim otherwise (`EXACT_FOR_PLAIN_TYPES` is false by default), so every
/// event is checked.
#[derive(Debug, Clone, Copy)]
struct AsciiFolding;

impl Codec for AsciiFolding {
    const NAME: &'static str = "ascii-folding";

    fn encode<T: Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<Vec<u8>, chronicle_es::CodecError> {
        let json = JsonCodec.encode(value)?;
        Ok(String::from_utf8_lossy(&json)
            .replace('é', "e")
            .into_bytes())
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        bytes: &[u8],
    ) -> Result<T, chronicle_es::CodecError> {
        JsonCodec.decode(bytes)
    }
}

#[tokio::test]
async fn events_of_plain_types_are_checked_unless_the_codec_is_exact_for_them() {
    let app = app(AsciiFolding);
    let mut probe = Probe::create();
    app.save(&mut probe).await.unwrap();
    probe.locate("café".into(), Point { x: 0.0, y: 0.0 });
    let error = app.save(&mut probe).await.unwrap_err();
    assert!(
        error.to_string().ends_with(
            "ascii-folding: does not read back: field `label` was \"café\", reads back as \"cafe\""
        ),
        "{error}"
    );
    let mut probe: Probe = app.get(probe.id()).await.unwrap();
    probe.maybe_float(None);
    app.save(&mut probe).await.unwrap();
}

/// An aggregate whose events round-trip but whose state may not: a ratio
/// computed from integers can be infinite or NaN.
#[aggregate(snapshot_every = 2)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gauge {
    ratio: Option<f64>,
}

#[aggregate]
impl Gauge {
    #[event("Started")]
    pub fn start() -> Self {
        Self { ratio: None }
    }

    #[event("Divided")]
    pub fn divide(&mut self, numerator: i64, denominator: i64) {
        self.ratio = Some(numerator as f64 / denominator as f64);
    }
}

/// The same, without `PartialEq`: its snapshots are checked to decode.
#[aggregate(snapshots)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Level {
    level: f64,
}

#[aggregate]
impl Level {
    #[event("Set")]
    pub fn set(numerator: i64, denominator: i64) -> Self {
        Self {
            level: numerator as f64 / denominator as f64,
        }
    }
}

/// Saves a gauge whose state is `numerator / denominator` at version 2,
/// which is due for a snapshot; returns the save's outcome.
async fn save_gauge<C: Codec>(
    app: &Application<MemoryStore, C>,
    numerator: i64,
    denominator: i64,
) -> (Gauge, Result<(), Error>) {
    let mut gauge = Gauge::start();
    gauge.divide(numerator, denominator);
    let outcome = app.save(&mut gauge).await.map(|_| ());
    (gauge, outcome)
}

#[tokio::test]
async fn a_snapshot_that_would_not_read_back_is_not_stored() {
    let app = app(JsonCodec);
    for (numerator, denominator, shown) in [(1, 0, "Some(inf)"), (0, 0, "Some(NaN)")] {
        let (gauge, outcome) = save_gauge(&app, numerator, denominator).await;
        match outcome {
            Err(Error::Snapshot {
                aggregate: "Gauge",
                stream_id,
                version: 2,
                reason: SnapshotError::Encode(error),
            }) if stream_id == gauge.id() => assert_eq!(
                error.to_string(),
                format!(
                    "json: does not read back: field `state.ratio` was {shown}, reads back as None"
                )
            ),
            other => panic!("expected a snapshot error, got {other:?}"),
        }
        // The events are stored (and no longer pending); the snapshot is not.
        assert!(gauge.pending_events().is_empty());
        assert!(app
            .store()
            .latest_snapshot(gauge.id(), None)
            .await
            .unwrap()
            .is_none());
        let loaded: Gauge = app.get(gauge.id()).await.unwrap();
        assert_eq!(format!("{loaded:?}"), format!("{gauge:?}"));
    }
    let (gauge, outcome) = save_gauge(&app, 1, 4).await;
    outcome.unwrap();
    assert!(app
        .store()
        .latest_snapshot(gauge.id(), None)
        .await
        .unwrap()
        .is_some());
    assert_eq!(app.get::<Gauge>(gauge.id()).await.unwrap(), gauge);

    // Without `PartialEq` the snapshot must decode: an infinite level does not.
    let mut level = Level::set(-1, 0);
    app.save(&mut level).await.unwrap();
    let error = app.take_snapshot::<Level>(level.id()).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Snapshot {
                aggregate: "Level",
                version: 1,
                reason: SnapshotError::Encode(_),
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("(`state.level` holds -inf)"),
        "{error}"
    );
    assert!(app
        .store()
        .latest_snapshot(level.id(), None)
        .await
        .unwrap()
        .is_none());
}

#[cfg(feature = "msgpack")]
#[tokio::test]
async fn msgpack_snapshots_keep_non_finite_floats() {
    let app = app(chronicle_es::MsgPackCodec);
    for (numerator, denominator) in [(1, 0), (0, 0)] {
        let (gauge, outcome) = save_gauge(&app, numerator, denominator).await;
        outcome.unwrap();
        let snapshot = app.store().latest_snapshot(gauge.id(), None).await.unwrap();
        assert_eq!(snapshot.map(|snapshot| snapshot.version), Some(2));
        let loaded: Gauge = app.get(gauge.id()).await.unwrap();
        assert_eq!(format!("{loaded:?}"), format!("{gauge:?}"));
    }
}

/// Loads never panic on stored data: rows written by hand into SQLite.
#[cfg(feature = "sqlite")]
mod stored_rows {
    use super::*;
    use chronicle_es::store::rusqlite::{self, params};
    use chronicle_es::store::{LogQuery, SqliteStore};
    use chronicle_es::upcast::{json, Value};
    use chronicle_es::PayloadError;
    use common::stores::TempDir;

    /// `TrickAdded` gained a `difficulty` in version 2, `Renamed` changed in
    /// a way its upcaster cannot handle, and the state went from trick names
    /// to pairs in version 2.
    #[aggregate(snapshots, version = 2)]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Hound {
        name: String,
        tricks: Vec<(String, u8)>,
    }

    #[aggregate]
    impl Hound {
        #[event("Enrolled")]
        pub fn enrol(name: String) -> Self {
            Self {
                name,
                tricks: Vec::new(),
            }
        }

        #[event("TrickAdded", version = 2)]
        pub fn add_trick(&mut self, trick: String, difficulty: u8) {
            self.tricks.push((trick, difficulty));
        }

        #[event("Renamed", version = 2)]
        pub fn rename(&mut self, name: String) {
            self.name = name;
        }

        /// As the README writes upcasters.
        #[upcast("TrickAdded", from = 1)]
        fn trick_added_v1(mut payload: Value) -> Value {
            payload["difficulty"] = json!(1);
            payload
        }

        #[upcast("Renamed", from = 1)]
        fn renamed_v1(_payload: Value) -> Value {
            panic!("version 1 of Renamed cannot be read")
        }

        #[upcast(state, from = 1)]
        fn state_v1(mut state: Value) -> Value {
            let tricks: Vec<Value> = state["tricks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|name| json!([name, 1]))
                .collect();
            state["tricks"] = Value::Array(tricks);
            state
        }
    }

    struct Fixture {
        _directory: TempDir,
        app: Application<SqliteStore>,
        raw: rusqlite::Connection,
        hound: Hound,
    }

    /// A hound saved with `record`'s events, and a raw connection to its file.
    async fn fixture(record: impl FnOnce(&mut Hound)) -> Fixture {
        let directory = TempDir::create();
        let path = directory.join("events.db");
        let app = Application::new(SqliteStore::open(&path).await.unwrap());
        let mut hound = Hound::enrol("Rex".into());
        record(&mut hound);
        app.save(&mut hound).await.unwrap();
        let raw = rusqlite::Connection::open(&path).unwrap();
        Fixture {
            _directory: directory,
            app,
            raw,
            hound,
        }
    }

    impl Fixture {
        /// Rewrites the stored event at `version` as schema version 1 with `payload`.
        fn rewrite(&self, version: i64, payload: &str) {
            let changed = self
                .raw
                .execute(
                    "UPDATE events SET schema_version = 1, payload = ?1
                     WHERE stream_id = ?2 AND version = ?3",
                    params![
                        payload.as_bytes(),
                        self.hound.id().as_bytes().as_slice(),
                        version
                    ],
                )
                .unwrap();
            assert_eq!(changed, 1);
        }

        /// Loads the hound in a task of its own, which must not panic.
        async fn get(&self) -> Result<Hound, Error> {
            let app = self.app.clone();
            let id = self.hound.id();
            tokio::spawn(async move { app.get::<Hound>(id).await })
                .await
                .expect("the load does not panic")
        }

        /// Decodes every stored event as a follower does.
        async fn follow(&self) -> Vec<Result<Envelope<HoundEvent>, Error>> {
            let records = self.app.read_log(LogQuery::after(0, 100)).await.unwrap();
            let mut decoded = Vec::new();
            for record in &records {
                decoded.push(self.app.decode::<HoundEvent>(record).await);
            }
            decoded
        }
    }

    fn assert_decode_error(
        error: &Error,
        stream: Uuid,
        event: &str,
        at: u64,
        reason: impl Fn(&PayloadError) -> bool,
    ) {
        match error {
            Error::Decode {
                stream_id,
                version,
                event_type,
                source,
            } if *stream_id == stream
                && *version == at
                && event_type == event
                && reason(source) => {}
            other => panic!("expected a decode error of {event} at version {at}, got {other}"),
        }
    }

    #[tokio::test]
    async fn a_version_1_row_that_is_not_a_map_is_a_decode_error() {
        let fixture = fixture(|hound| hound.add_trick("sit".into(), 2)).await;
        let id = fixture.hound.id();

        // A sound version-1 row is upcast.
        fixture.rewrite(2, r#"{"trick":"sit"}"#);
        assert_eq!(fixture.get().await.unwrap().tricks, [("sit".to_owned(), 1)]);

        // A corrupt one, an array, reaches no upcaster.
        fixture.rewrite(2, r#"["sit"]"#);
        let is_shape = |source: &PayloadError| {
            matches!(
                source,
                PayloadError::Shape {
                    found: "an array",
                    ..
                }
            )
        };
        let error = fixture.get().await.unwrap_err();
        assert_decode_error(&error, id, "TrickAdded", 2, is_shape);
        assert_eq!(
            error.to_string(),
            format!(
                "cannot decode event `TrickAdded` (stream {id}, version 2): the stored document \
                 is an array, but the upcasters read a map of the event's fields"
            )
        );
        let followed = fixture.follow().await;
        assert!(followed[0].is_ok());
        assert_decode_error(
            followed[1].as_ref().unwrap_err(),
            id,
            "TrickAdded",
            2,
            is_shape,
        );
    }

    #[tokio::test]
    async fn a_panicking_upcaster_is_a_decode_error() {
        let fixture = fixture(|hound| hound.rename("Max".into())).await;
        let id = fixture.hound.id();
        fixture.rewrite(2, r#"{"name":"Max"}"#);
        let panicked = |source: &PayloadError| {
            matches!(
                source,
                PayloadError::UpcasterPanicked { from: 1, message }
                    if message == "version 1 of Renamed cannot be read"
            )
        };
        let error = fixture.get().await.unwrap_err();
        assert_decode_error(&error, id, "Renamed", 2, panicked);
        let followed = fixture.follow().await;
        assert_decode_error(
            followed[1].as_ref().unwrap_err(),
            id,
            "Renamed",
            2,
            panicked,
        );
        // The store and the application still work.
        let mut other = Hound::enrol("Fido".into());
        fixture.app.save(&mut other).await.unwrap();
        assert_eq!(fixture.app.get::<Hound>(other.id()).await.unwrap(), other);
    }

    #[tokio::test]
    async fn a_version_1_snapshot_state_that_is_not_a_map_is_a_snapshot_error() {
        let fixture = fixture(|hound| hound.add_trick("sit".into(), 2)).await;
        let id = fixture.hound.id();
        assert_eq!(fixture.app.take_snapshot::<Hound>(id).await.unwrap(), 2);
        let rewrite = |payload: &str| {
            fixture
                .raw
                .execute(
                    "UPDATE snapshots SET schema_version = 1, payload = ?1 WHERE stream_id = ?2",
                    params![payload.as_bytes(), id.as_bytes().as_slice()],
                )
                .unwrap()
        };

        rewrite(r#"{"created_on":0,"state":{"name":"Rex","tricks":["sit"]}}"#);
        assert_eq!(fixture.get().await.unwrap().tricks, [("sit".to_owned(), 1)]);

        for (payload, found) in [
            (r#"{"created_on":0,"state":["Rex",["sit"]]}"#, "an array"),
            (r#"[0,{"name":"Rex","tricks":["sit"]}]"#, "an array"),
            (r#""Rex""#, "a string"),
        ] {
            rewrite(payload);
            match fixture.get().await {
                Err(Error::Snapshot {
                    aggregate: "Hound",
                    stream_id,
                    version: 2,
                    reason: SnapshotError::Decode(PayloadError::Shape { found: stored, .. }),
                }) if stream_id == id && stored == found => {}
                other => panic!("expected a snapshot shape error for {payload}, got {other:?}"),
            }
        }
    }
}
