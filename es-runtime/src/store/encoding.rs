//! Column encodings shared by the durable stores: metadata as JSON, payloads
//! kept byte for byte, integers checked on the way back.

// Each helper is used by at least one of the feature-gated stores.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use uuid::Uuid;

use super::error::StoreError;
use super::request::{AppendRequest, Snapshot, Tracking};
use crate::metadata::Metadata;

/// True when `bytes` are one JSON value (UTF-8, nothing but whitespace after
/// it), so a store may keep them in a column people can query as JSON.
pub(crate) fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// Metadata as stored: JSON text, or `None` when there is nothing to keep.
pub(crate) fn metadata_to_json(metadata: &Metadata) -> Result<Option<String>, StoreError> {
    if metadata.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(metadata)
        .map(Some)
        .map_err(|error| StoreError::InvalidRequest(format!("metadata cannot be encoded: {error}")))
}

/// Metadata read back from its JSON text; `None` (a NULL column) is empty.
pub(crate) fn metadata_from_json(
    json: Option<&[u8]>,
    stream_id: Uuid,
    version: u64,
) -> Result<Metadata, StoreError> {
    match json {
        None => Ok(Metadata::default()),
        Some(bytes) => serde_json::from_slice(bytes)
            .map_err(|error| corrupt(stream_id, version, format!("metadata: {error}"))),
    }
}

/// A [`StoreError::Corrupt`].
pub(crate) fn corrupt(stream_id: Uuid, version: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        stream_id,
        version,
        reason: reason.into(),
    }
}

/// A [`StoreError::Backend`].
pub(crate) fn backend(
    backend: &'static str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Backend {
        backend,
        source: source.into(),
    }
}

/// A version, position, count or limit as a database integer; values
/// beyond `i64::MAX` (never stored) saturate, which keeps range bounds and
/// limits correct.
pub(crate) fn to_db(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

/// A stored version: 1 or more.
pub(crate) fn version_from_db(value: i64, stream_id: Uuid) -> Result<u64, StoreError> {
    match u64::try_from(value) {
        Ok(version) if version > 0 => Ok(version),
        _ => Err(corrupt(
            stream_id,
            0,
            format!("stored version {value} is not a positive number"),
        )),
    }
}

/// A stream's current version as the database computes it (`MAX(version)`,
/// 0 for a stream with no events).
pub(crate) fn stream_version_from_db(value: i64, stream_id: Uuid) -> Result<u64, StoreError> {
    u64::try_from(value)
        .map_err(|_| corrupt(stream_id, 0, format!("stored version {value} is negative")))
}

/// A consumer's tracked position: 0 or more.
pub(crate) fn tracked_from_db(
    backend_name: &'static str,
    value: i64,
    consumer: &str,
) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| {
        backend(
            backend_name,
            format!("tracked position {value} of consumer `{consumer}` is negative"),
        )
    })
}

/// The log's last position (0 when empty).
pub(crate) fn last_position_from_db(
    backend_name: &'static str,
    value: i64,
) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| {
        backend(
            backend_name,
            format!("last log position {value} is negative"),
        )
    })
}

/// A stored log position: 1 or more.
pub(crate) fn position_from_db(
    value: i64,
    stream_id: Uuid,
    version: u64,
) -> Result<u64, StoreError> {
    match u64::try_from(value) {
        Ok(position) if position > 0 => Ok(position),
        _ => Err(corrupt(
            stream_id,
            version,
            format!("stored log position {value} is not a positive number"),
        )),
    }
}

/// A stored schema version: fits in a `u32`.
pub(crate) fn schema_version_from_db(
    value: i64,
    stream_id: Uuid,
    version: u64,
) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| {
        corrupt(
            stream_id,
            version,
            format!("stored schema version {value} is out of range"),
        )
    })
}

/// Refuses versions a database integer cannot hold (beyond `i64::MAX`).
pub(crate) fn check_versions_fit(request: &AppendRequest) -> Result<(), StoreError> {
    for append in &request.streams {
        let last = append
            .expected_version
            .checked_add(append.events.len() as u64);
        if last.is_none_or(|last| i64::try_from(last).is_err()) {
            return Err(StoreError::InvalidRequest(format!(
                "stream {}: versions beyond {} cannot be stored",
                append.stream_id,
                i64::MAX
            )));
        }
    }
    Ok(())
}

/// Refuses a tracking position a database integer cannot hold.
pub(crate) fn check_tracking_fits(tracking: &Tracking) -> Result<(), StoreError> {
    if i64::try_from(tracking.position).is_err() {
        return Err(StoreError::InvalidRequest(format!(
            "tracking position {} of consumer `{}` cannot be stored",
            tracking.position, tracking.consumer
        )));
    }
    Ok(())
}

/// Refuses a snapshot version a database integer cannot hold.
pub(crate) fn check_snapshot_fits(snapshot: &Snapshot) -> Result<(), StoreError> {
    if i64::try_from(snapshot.version).is_err() {
        return Err(StoreError::InvalidRequest(format!(
            "snapshot version {} of stream {} cannot be stored",
            snapshot.version, snapshot.stream_id
        )));
    }
    Ok(())
}
