//! Column types and row decoding for the PostgreSQL store: timestamps in
//! PostgreSQL's binary format, JSON kept as its exact text, payloads split
//! between the `json` and `bytea` columns, and events and snapshots read
//! back with every column checked (a bad row is a [`StoreError::Corrupt`]
//! naming the stream, the version and the column).

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::Row;
use uuid::Uuid;

use super::BACKEND;
use crate::store::encoding::{
    backend, corrupt, is_json, metadata_from_json, position_from_db, schema_version_from_db,
    version_from_db,
};
use crate::store::error::StoreError;
use crate::store::record::{EventRef, StoredEvent};
use crate::store::request::Snapshot;
use crate::timestamp::Timestamp;

type BoxError = Box<dyn StdError + Sync + Send>;

/// A timestamp in PostgreSQL's binary format: microseconds since 2000-01-01.
#[derive(Debug, Clone, Copy)]
pub(super) struct PgTime(pub(super) Timestamp);

const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

impl ToSql for PgTime {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_i64(self.0.unix_micros().saturating_sub(PG_EPOCH_UNIX_MICROS));
        Ok(IsNull::No)
    }

    accepts!(TIMESTAMPTZ, TIMESTAMP);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for PgTime {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let bytes: [u8; 8] = raw.try_into()?;
        Ok(PgTime(Timestamp::from_unix_micros(
            i64::from_be_bytes(bytes).saturating_add(PG_EPOCH_UNIX_MICROS),
        )))
    }

    accepts!(TIMESTAMPTZ, TIMESTAMP);
}

/// The text of a `json` or `jsonb` value, as stored.
pub(super) struct RawJson<'a>(pub(super) &'a [u8]);

impl<'a> FromSql<'a> for RawJson<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        if *ty == Type::JSONB {
            jsonb_text(raw).map(RawJson)
        } else {
            Ok(RawJson(raw))
        }
    }

    accepts!(JSON, JSONB);
}

/// The text of a `jsonb` value in binary format: a version byte (1), then
/// the text.
pub(super) fn jsonb_text(raw: &[u8]) -> Result<&[u8], BoxError> {
    match raw.split_first() {
        Some((1, text)) => Ok(text),
        _ => Err("unsupported jsonb format version".into()),
    }
}

/// A payload for the `json` column when it is JSON (and the database's
/// encoding is UTF-8), else for `payload_bytes`.
pub(super) fn split_payload(payload: &[u8], json_payloads: bool) -> (Option<&str>, Option<&[u8]>) {
    if json_payloads && is_json(payload) {
        if let Ok(text) = std::str::from_utf8(payload) {
            return (Some(text), None);
        }
    }
    (None, Some(payload))
}

/// The payload from whichever of its two columns is set.
fn join_payload<'a>(json: Option<&'a [u8]>, bytes: Option<&'a [u8]>) -> Result<&'a [u8], String> {
    match (json, bytes) {
        (Some(text), None) => Ok(text),
        (None, Some(raw)) => Ok(raw),
        (None, None) => Err("no payload (both payload columns are NULL)".into()),
        (Some(_), Some(_)) => Err("two payloads (both payload columns are set)".into()),
    }
}

/// The payload from its `json` (column `json`) or `bytea` (column `bytes`)
/// column, borrowed from the row.
fn payload_from_row(row: &Row, json: usize, bytes: usize) -> Result<&[u8], String> {
    let text: Option<RawJson<'_>> = row
        .try_get(json)
        .map_err(|error| format!("payload: {error}"))?;
    let raw: Option<&[u8]> = row
        .try_get(bytes)
        .map_err(|error| format!("payload bytes: {error}"))?;
    join_payload(text.map(|text| text.0), raw)
}

/// Decodes one events row as a fold reads it (columns as
/// `statements::FOLD_COLUMNS`) of `stream_id`, borrowing its text and
/// payload from the row.
pub(super) fn event_ref_from_row(row: &Row, stream_id: Uuid) -> Result<EventRef<'_>, StoreError> {
    let raw_version: i64 = row
        .try_get(0)
        .map_err(|e| corrupt(stream_id, 0, format!("version: {e}")))?;
    let version = version_from_db(raw_version, stream_id)?;
    let fail = |what: &str, error: tokio_postgres::Error| {
        corrupt(stream_id, version, format!("{what}: {error}"))
    };
    let PgTime(timestamp) = row.try_get(1).map_err(|e| fail("timestamp", e))?;
    let event_type: &str = row.try_get(2).map_err(|e| fail("event type", e))?;
    let schema_version = schema_version_from_db(
        row.try_get(3).map_err(|e| fail("schema version", e))?,
        stream_id,
        version,
    )?;
    let payload =
        payload_from_row(row, 4, 5).map_err(|reason| corrupt(stream_id, version, reason))?;
    Ok(EventRef {
        stream_id,
        version,
        event_type,
        schema_version,
        timestamp,
        payload,
        decoded: None,
    })
}

/// Decodes one events row (columns as `statements::EVENT_COLUMNS`).
pub(super) fn event_from_row(row: &Row) -> Result<StoredEvent, StoreError> {
    let stream_id: Uuid = row.try_get(1).map_err(|e| backend(BACKEND, e))?;
    let raw_version: i64 = row
        .try_get(2)
        .map_err(|e| corrupt(stream_id, 0, format!("version: {e}")))?;
    let version = version_from_db(raw_version, stream_id)?;
    let fail = |what: &str, error: tokio_postgres::Error| {
        corrupt(stream_id, version, format!("{what}: {error}"))
    };
    let position = position_from_db(
        row.try_get(0).map_err(|e| fail("position", e))?,
        stream_id,
        version,
    )?;
    let event_id: Uuid = row.try_get(3).map_err(|e| fail("event id", e))?;
    let event_type: String = row.try_get(4).map_err(|e| fail("event type", e))?;
    let schema_version = schema_version_from_db(
        row.try_get(5).map_err(|e| fail("schema version", e))?,
        stream_id,
        version,
    )?;
    let PgTime(timestamp) = row.try_get(6).map_err(|e| fail("timestamp", e))?;
    let metadata: Option<RawJson<'_>> = row.try_get(7).map_err(|e| fail("metadata", e))?;
    let metadata = metadata_from_json(metadata.map(|json| json.0), stream_id, version)?;
    let payload = payload_from_row(row, 8, 9)
        .map_err(|reason| corrupt(stream_id, version, reason))?
        .to_vec();
    let aggregate_type: Option<String> = row.try_get(10).map_err(|e| fail("aggregate type", e))?;
    Ok(StoredEvent {
        position,
        stream_id,
        version,
        event_id,
        aggregate_type,
        event_type,
        schema_version,
        timestamp,
        metadata,
        payload,
    })
}

/// Decodes one snapshots row (columns as `Sql::latest_snapshot`) of
/// `stream_id`.
pub(super) fn snapshot_from_row(row: &Row, stream_id: Uuid) -> Result<Snapshot, StoreError> {
    let raw_version: i64 = row
        .try_get(0)
        .map_err(|e| corrupt(stream_id, 0, format!("snapshot version: {e}")))?;
    let version = version_from_db(raw_version, stream_id)?;
    let fail = |what: &str, error: tokio_postgres::Error| {
        corrupt(stream_id, version, format!("snapshot {what}: {error}"))
    };
    let snapshot_type: String = row.try_get(1).map_err(|e| fail("type", e))?;
    let schema_version = schema_version_from_db(
        row.try_get(2).map_err(|e| fail("schema version", e))?,
        stream_id,
        version,
    )?;
    let PgTime(timestamp) = row.try_get(3).map_err(|e| fail("timestamp", e))?;
    let payload = payload_from_row(row, 4, 5)
        .map_err(|reason| corrupt(stream_id, version, format!("snapshot {reason}")))?
        .to_vec();
    Ok(Snapshot {
        stream_id,
        version,
        snapshot_type,
        schema_version,
        timestamp,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_the_postgres_epoch_both_ways() {
        let time = PgTime(Timestamp::from_unix_micros(
            PG_EPOCH_UNIX_MICROS + 1_500_000,
        ));
        let mut out = BytesMut::new();
        time.to_sql(&Type::TIMESTAMPTZ, &mut out).unwrap();
        assert_eq!(out.as_ref(), 1_500_000i64.to_be_bytes());
        let PgTime(back) = PgTime::from_sql(&Type::TIMESTAMPTZ, &out).unwrap();
        assert_eq!(back, time.0);
        // The Unix epoch, before PostgreSQL's.
        let PgTime(unix) =
            PgTime::from_sql(&Type::TIMESTAMPTZ, &(-PG_EPOCH_UNIX_MICROS).to_be_bytes()).unwrap();
        assert_eq!(unix.unix_micros(), 0);
        // Extremes saturate instead of overflowing.
        let PgTime(far) = PgTime::from_sql(&Type::TIMESTAMP, &i64::MAX.to_be_bytes()).unwrap();
        assert_eq!(far.unix_micros(), i64::MAX);
        assert!(PgTime::from_sql(&Type::TIMESTAMPTZ, &[0; 7]).is_err());
    }

    #[test]
    fn json_reads_as_its_stored_text() {
        let RawJson(text) = RawJson::from_sql(&Type::JSON, br#"{ "a" : 1 }"#).unwrap();
        assert_eq!(text, br#"{ "a" : 1 }"#);
        let RawJson(text) = RawJson::from_sql(&Type::JSONB, b"\x01{\"a\": 1}").unwrap();
        assert_eq!(text, br#"{"a": 1}"#);
        assert!(RawJson::from_sql(&Type::JSONB, b"\x02{}").is_err());
        assert!(RawJson::from_sql(&Type::JSONB, b"").is_err());
    }

    #[test]
    fn payloads_split_by_kind_and_join_from_one_column() {
        assert_eq!(
            split_payload(br#"{"a":1}"#, true),
            (Some(r#"{"a":1}"#), None)
        );
        // Not JSON, or a database that cannot hold JSON text: bytes.
        assert_eq!(
            split_payload(b"\x00\x01", true),
            (None, Some(&b"\x00\x01"[..]))
        );
        assert_eq!(split_payload(b"{}", false), (None, Some(&b"{}"[..])));

        assert_eq!(join_payload(Some(b"{}"), None).unwrap(), b"{}");
        assert_eq!(join_payload(None, Some(b"\x00")).unwrap(), b"\x00");
        assert_eq!(
            join_payload(None, None).unwrap_err(),
            "no payload (both payload columns are NULL)"
        );
        assert_eq!(
            join_payload(Some(b"{}"), Some(b"{}")).unwrap_err(),
            "two payloads (both payload columns are set)"
        );
    }
}
