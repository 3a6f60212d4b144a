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
    let mut document: Value = codec.decode(payload)?;
    for version in stored..current {
        document = upcast(version, document)
            .ok_or_else(|| PayloadError::Upcast(format!("no upcaster reads version {version}")))?;
    }
    from_value(document)
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
/// `current` with the aggregate's state upcasters.
pub fn decode_snapshot<C: Codec, T: SnapshotState>(
    codec: &C,
    payload: &[u8],
    stored: u32,
    current: u32,
    upcast_state: fn(u32, Value) -> Option<Value>,
) -> Result<SnapshotIn<T>, PayloadError> {
    decode_versioned(codec, payload, stored, current, |version, mut document| {
        let state = document.get_mut("state")?.take();
        *document.get_mut("state")? = upcast_state(version, state)?;
        Some(document)
    })
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
