//! Schema versions: decoding payloads stored at an older version through
//! the aggregate's upcasters, for events and snapshot states. What the code
//! `#[aggregate]` generates calls (through `__private`).

use serde_json::Value;

use serde::de::DeserializeOwned;

use crate::aggregate::SnapshotIn;
use crate::codec::{Codec, CodecError};
use crate::event::PayloadError;

/// Decodes an upcast document into the current shape.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, PayloadError> {
    serde_json::from_value(value).map_err(|error| PayloadError::Upcast(error.to_string()))
}

/// Fails unless a payload stored at `stored` can be read by code at
/// `current`, for events that have never changed shape.
pub fn check_schema_version(stored: u32, current: u32) -> Result<(), PayloadError> {
    match stored.cmp(&current) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(PayloadError::NewerSchema { stored, current }),
        std::cmp::Ordering::Less => Err(PayloadError::Upcast(format!(
            "no upcaster reads version {stored}"
        ))),
    }
}

/// Decodes a payload stored at schema version `stored` into the shape of
/// version `current`: directly when they are equal, otherwise through
/// `upcast(version, document)` for each version from `stored` up.
///
/// Stored data never makes this panic: an older document that is not a map
/// (the form every event's fields are stored in) is refused before any
/// upcaster sees it ([`PayloadError::Shape`]), and an upcaster that panics
/// anyway is contained ([`PayloadError::UpcasterPanicked`]; this needs
/// `panic = "unwind"`, Rust's default).
pub fn decode_versioned<C: Codec, T: DeserializeOwned>(
    codec: &C,
    payload: &[u8],
    stored: u32,
    current: u32,
    upcast: impl Fn(u32, Value) -> Option<Value>,
) -> Result<T, PayloadError> {
    if stored == current {
        return Ok(codec.decode(payload)?);
    }
    if stored > current {
        return Err(PayloadError::NewerSchema { stored, current });
    }
    let document: Value = codec.decode(payload)?;
    expect_map(&document, "a map of the event's fields")?;
    from_value(upcast_from(document, stored, current, upcast)?)
}

/// Runs `upcast(version, document)` for each version from `stored` up to
/// `current`. A panicking upcaster (an index into a document of another
/// shape, an `unwrap`) is caught and reported as
/// [`PayloadError::UpcasterPanicked`], so that a stored row cannot take a
/// task down. This relies on `panic = "unwind"` (Rust's default): with
/// `panic = "abort"` the process still aborts. The panic hook runs as usual
/// (by default it prints the message to stderr).
fn upcast_from(
    mut document: Value,
    stored: u32,
    current: u32,
    upcast: impl Fn(u32, Value) -> Option<Value>,
) -> Result<Value, PayloadError> {
    for version in stored..current {
        // Unwind safety: the upcaster owns the document it was given, which
        // is dropped with the panic, and nothing else is observed after it.
        let upcast = std::panic::AssertUnwindSafe(|| upcast(version, document));
        document = match std::panic::catch_unwind(upcast) {
            Ok(Some(document)) => document,
            Ok(None) => {
                return Err(PayloadError::Upcast(format!(
                    "no upcaster reads version {version}"
                )))
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|message| (*message).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(a panic without a message)".to_owned());
                return Err(PayloadError::UpcasterPanicked {
                    from: version,
                    message,
                });
            }
        };
    }
    Ok(document)
}

/// Fails unless `document` is a map, the form upcasters of `expected` read.
fn expect_map(document: &Value, expected: &'static str) -> Result<(), PayloadError> {
    let found = match document {
        Value::Object(_) => return Ok(()),
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    };
    Err(PayloadError::Shape { expected, found })
}

/// Bound on the state of aggregates with snapshots.
#[diagnostic::on_unimplemented(
    message = "snapshots need a serializable state: `{Self}` must implement Serialize and Deserialize",
    label = "snapshots store the aggregate's fields",
    note = "derive them on the aggregate struct: #[derive(serde::Serialize, serde::Deserialize)]"
)]
pub trait SnapshotState: serde::Serialize + DeserializeOwned {}

impl<T: serde::Serialize + DeserializeOwned> SnapshotState for T {}

/// Encodes a snapshot payload: the state and the creation time.
pub fn encode_snapshot<C: Codec, T: SnapshotState>(
    codec: &C,
    created_on: i64,
    state: &T,
) -> Result<Vec<u8>, CodecError> {
    codec.encode(&crate::aggregate::SnapshotOut { created_on, state })
}

/// Decodes a snapshot payload, upcasting its `state` from `stored` to
/// `current` with the aggregate's state upcasters. `state_is_map` says that
/// the state is stored as a map of its fields (a struct without container
/// serde attributes, which could store it otherwise): an older state of
/// another shape is then refused before the upcasters see it.
pub fn decode_snapshot<C: Codec, T: SnapshotState>(
    codec: &C,
    payload: &[u8],
    stored: u32,
    current: u32,
    upcast_state: fn(u32, Value) -> Option<Value>,
    state_is_map: bool,
) -> Result<SnapshotIn<T>, PayloadError> {
    if stored == current {
        return Ok(codec.decode(payload)?);
    }
    if stored > current {
        return Err(PayloadError::NewerSchema { stored, current });
    }
    let mut document: Value = codec.decode(payload)?;
    expect_map(
        &document,
        "a map of the snapshot's `created_on` and `state`",
    )?;
    let Some(state) = document.get_mut("state") else {
        return Err(PayloadError::Upcast(
            "the snapshot has no `state`".to_owned(),
        ));
    };
    if state_is_map {
        expect_map(state, "a map of the state's fields")?;
    }
    *state = upcast_from(state.take(), stored, current, upcast_state)?;
    from_value(document)
}

/// The error of encoding a snapshot of an aggregate declared without them.
pub fn snapshots_disabled(aggregate: &str) -> CodecError {
    CodecError {
        codec: "snapshot",
        message: format!(
            "{aggregate} has no snapshots: declare it with #[aggregate(snapshots)] or #[aggregate(snapshot_every = N)]"
        ),
    }
}
