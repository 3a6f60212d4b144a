//! Column encodings shared by the durable stores: metadata as JSON, payloads
//! kept byte for byte, integers checked on the way back.

// Each helper is used by at least one of the feature-gated stores.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use uuid::Uuid;

use super::decision::validate_request;
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
#[inline]
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
#[inline]
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
#[inline]
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

/// What a durable store checks before an append reaches its database: a
/// valid request whose versions and tracking position fit its integers.
pub(crate) fn check_append(
    request: &AppendRequest,
    tracking: Option<&Tracking>,
) -> Result<(), StoreError> {
    validate_request(request)?;
    check_versions_fit(request)?;
    tracking.map_or(Ok(()), check_tracking_fits)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::request::StreamAppend;

    const STREAM: Uuid = Uuid::from_u128(7);

    fn reason(error: StoreError) -> String {
        match error {
            StoreError::Corrupt {
                stream_id: STREAM,
                reason,
                ..
            } => reason,
            other => panic!("expected a corrupt record of the stream, got {other:?}"),
        }
    }

    #[test]
    fn database_integers_are_checked_on_the_way_back() {
        assert_eq!(version_from_db(3, STREAM).unwrap(), 3);
        assert!(reason(version_from_db(0, STREAM).unwrap_err()).contains("stored version 0"));
        assert_eq!(stream_version_from_db(0, STREAM).unwrap(), 0);
        assert!(reason(stream_version_from_db(-1, STREAM).unwrap_err()).contains("is negative"));
        assert_eq!(position_from_db(9, STREAM, 1).unwrap(), 9);
        assert!(reason(position_from_db(-9, STREAM, 1).unwrap_err()).contains("log position -9"));
        assert_eq!(schema_version_from_db(2, STREAM, 1).unwrap(), 2);
        assert!(
            reason(schema_version_from_db(1 << 32, STREAM, 1).unwrap_err())
                .contains("out of range")
        );
        assert_eq!(tracked_from_db("db", 0, "p").unwrap(), 0);
        let error = tracked_from_db("db", -1, "p").unwrap_err();
        assert_eq!(
            error.to_string(),
            "db error: tracked position -1 of consumer `p` is negative"
        );
        assert_eq!(last_position_from_db("db", 5).unwrap(), 5);
        assert!(last_position_from_db("db", -5).is_err());
        assert_eq!(to_db(5u64), 5);
        assert_eq!(to_db(u64::MAX), i64::MAX);
        assert_eq!(to_db(usize::MAX), i64::MAX);
    }

    #[test]
    fn appends_are_checked_before_they_reach_a_database() {
        let event = crate::store::NewEvent {
            event_id: Uuid::from_u128(1),
            ..crate::store::NewEvent::happened()
        };
        let at = |expected_version| {
            AppendRequest::new(vec![StreamAppend {
                stream_id: STREAM,
                expected_version,
                events: vec![event.clone()],
            }])
        };
        assert!(check_append(&at(3), Some(&Tracking::new("p", 1))).is_ok());
        for (request, tracking) in [
            (at(i64::MAX as u64), None),
            (at(u64::MAX), None),
            (at(0), Some(Tracking::new("p", u64::MAX))),
            (
                AppendRequest::new(vec![StreamAppend {
                    stream_id: STREAM,
                    expected_version: 0,
                    events: vec![],
                }]),
                None,
            ),
        ] {
            assert!(
                matches!(
                    check_append(&request, tracking.as_ref()),
                    Err(StoreError::InvalidRequest(_))
                ),
                "{request:?} {tracking:?}"
            );
        }
        let snapshot = Snapshot {
            stream_id: STREAM,
            version: u64::MAX,
            snapshot_type: "Dog".into(),
            schema_version: 1,
            timestamp: crate::Timestamp::from_unix_micros(0),
            payload: Vec::new(),
        };
        assert!(matches!(
            check_snapshot_fits(&snapshot),
            Err(StoreError::InvalidRequest(_))
        ));
    }
}
