//! Column types and row decoding for the PostgreSQL store: timestamps in
//! PostgreSQL's binary format, JSON kept as its exact text, payloads split
//! between the `json` and `bytea` columns, and events and snapshots read
//! back with every column checked (a bad row is a [`StoreError::Corrupt`]
//! naming the stream, the version and the column).

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{accepts, to_sql_checked, FromSql, IsNull, ToSql, Type, WasNull};
use tokio_postgres::Row;
use uuid::Uuid;

use super::BACKEND;
use crate::chain::ChainHash;
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

/// Which payloads go into the `json` column (the others go into
/// `payload_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonColumn {
    /// None: the database's encoding is not UTF-8, or it refused one of
    /// the append's payloads as JSON.
    Unused,
    /// Those that parse as JSON.
    Checked,
    /// Every UTF-8 payload, not parsed again: they are JSON as `serde_json`
    /// writes it (`StreamStore::append_json`). The server parses each one
    /// all the same, and an append it refuses is sent again as bytes, so a
    /// payload that is not JSON still reads back byte for byte.
    Trusted,
}

impl JsonColumn {
    /// These payloads, in a database that can hold JSON text when
    /// `json_payloads` (else none goes into the `json` column).
    pub(super) fn if_json_held(self, json_payloads: bool) -> Self {
        if json_payloads {
            self
        } else {
            JsonColumn::Unused
        }
    }
}

/// A payload for the `json` column or for `payload_bytes`, as `column` says.
pub(super) fn split_payload(payload: &[u8], column: JsonColumn) -> (Option<&str>, Option<&[u8]>) {
    let json = match column {
        JsonColumn::Unused => false,
        JsonColumn::Checked => is_json(payload),
        JsonColumn::Trusted => true,
    };
    if json {
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
    payload_from_row_with::<Checked>(row, json, bytes)
}

/// `payload_from_row`, its columns read by `C`.
fn payload_from_row_with<C: Columns>(
    row: &Row,
    json: usize,
    bytes: usize,
) -> Result<&[u8], String> {
    let text: Option<RawJson<'_>> =
        C::get(row, json).map_err(|error| format!("payload: {error}"))?;
    let raw: Option<&[u8]> =
        C::get(row, bytes).map_err(|error| format!("payload bytes: {error}"))?;
    join_payload(text.map(|text| text.0), raw)
}

/// Decodes the rows of one fold of `stream_id` (columns as
/// `statements::FOLD_COLUMNS`) as they arrive, borrowing their text and
/// payload, and checking the column types on the first.
#[derive(Default)]
pub(super) struct FoldDecoder {
    trust: TrustOnce,
}

impl FoldDecoder {
    pub(super) fn decode<'r>(
        &mut self,
        row: &'r Row,
        stream_id: Uuid,
    ) -> Result<EventRef<'r>, StoreError> {
        if self.trust.trusted(row, fold_columns_match) {
            event_ref_from_row_with::<Trusted>(row, stream_id)
        } else {
            event_ref_from_row_with::<Checked>(row, stream_id)
        }
    }
}

/// Whether the rows of one statement can be read `Trusted`: decided on its
/// first row, by whether its column types match what the decoder reads.
#[derive(Default)]
struct TrustOnce(Option<bool>);

impl TrustOnce {
    fn trusted(&mut self, row: &Row, columns_match: fn(&[tokio_postgres::Column]) -> bool) -> bool {
        *self.0.get_or_insert_with(|| columns_match(row.columns()))
    }
}

/// Whether fold rows with these columns can be read `Trusted` (see
/// `event_columns_match`).
fn fold_columns_match(columns: &[tokio_postgres::Column]) -> bool {
    let [version, timestamp, event_type, schema_version, payload, payload_bytes] = columns else {
        return false;
    };
    <i64 as FromSql>::accepts(version.type_())
        && <PgTime as FromSql>::accepts(timestamp.type_())
        && is_text(event_type.type_())
        && <i64 as FromSql>::accepts(schema_version.type_())
        && <Option<RawJson<'_>> as FromSql>::accepts(payload.type_())
        && <Option<&[u8]> as FromSql>::accepts(payload_bytes.type_())
}

/// Decodes one events row as a fold reads it (columns as
/// `statements::FOLD_COLUMNS`) of `stream_id`, borrowing its text and
/// payload from the row, its columns read by `C`.
fn event_ref_from_row_with<C: Columns>(
    row: &Row,
    stream_id: Uuid,
) -> Result<EventRef<'_>, StoreError> {
    let raw_version: i64 =
        C::get(row, 0).map_err(|e| corrupt(stream_id, 0, format!("version: {e}")))?;
    let version = version_from_db(raw_version, stream_id)?;
    let fail =
        |what: &str, error: BoxError| corrupt(stream_id, version, format!("{what}: {error}"));
    let PgTime(timestamp) = C::get(row, 1).map_err(|e| fail("timestamp", e))?;
    let event_type = required_text::<C>(row, 2).map_err(|e| fail("event type", e))?;
    let schema_version = schema_version_from_db(
        C::get(row, 3).map_err(|e| fail("schema version", e))?,
        stream_id,
        version,
    )?;
    let payload = payload_from_row_with::<C>(row, 4, 5)
        .map_err(|reason| corrupt(stream_id, version, reason))?;
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

/// Column `idx` of `row`, a text value that must not be NULL (the error
/// reads as `Row::try_get`'s for a `&str`).
fn required_text<C: Columns>(row: &Row, idx: usize) -> Result<&str, BoxError> {
    C::text(row, idx)?.ok_or_else(|| format!("error deserializing column {idx}: {WasNull}").into())
}

/// How a row's columns are read: checked on every read (`Row::try_get`), or
/// decoded straight from their bytes once the statement's column types were
/// checked (`Trusted`).
trait Columns {
    /// Column `idx` of `row` as `T`; an error reads as `Row::try_get`'s does.
    fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, BoxError>;

    /// Column `idx` of `row`, a `text` (or other text type) value.
    fn text(row: &Row, idx: usize) -> Result<Option<&str>, BoxError> {
        Self::get(row, idx)
    }
}

/// Every read checks the column's index and type (`Row::try_get`).
struct Checked;

impl Columns for Checked {
    #[inline(always)]
    fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, BoxError> {
        row.try_get(idx).map_err(Into::into)
    }
}

/// For rows whose statement's column types `event_columns_match` accepted:
/// each value is decoded by the same `FromSql` as `Checked` uses, without
/// asking the type again (a page of the log has a thousand rows of one
/// statement; checking each value's type was a third of decoding a row).
struct Trusted;

impl Columns for Trusted {
    #[inline(always)]
    fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, BoxError> {
        let Raw(raw) = row.try_get(idx)?;
        let ty = row
            .columns()
            .get(idx)
            .ok_or_else(|| format!("no column {idx}"))?
            .type_();
        T::from_sql_nullable(ty, raw)
            .map_err(|error| format!("error deserializing column {idx}: {error}").into())
    }

    /// The text as sent (`event_columns_match` accepted only `text` and
    /// `varchar` here, which `&str`'s `FromSql` reads so, after first
    /// comparing the type's name with three extension types).
    #[inline(always)]
    fn text(row: &Row, idx: usize) -> Result<Option<&str>, BoxError> {
        let Raw(raw) = row.try_get(idx)?;
        raw.map(std::str::from_utf8)
            .transpose()
            .map_err(|error| format!("error deserializing column {idx}: {error}").into())
    }
}

/// A value as sent, `None` for NULL, of any type: the bytes `Trusted`
/// decodes.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Whether events rows with these columns can be read `Trusted`: the types
/// `event_from_row_with` reads, column by column, accept them. (Otherwise
/// every row is read `Checked`, and the first bad value is an error naming
/// its stream, version and column, as before.)
fn event_columns_match(columns: &[tokio_postgres::Column]) -> bool {
    let [position, stream_id, version, event_id, event_type, schema_version, timestamp, metadata, payload, payload_bytes, aggregate_type, chain_hash] =
        columns
    else {
        return false;
    };
    <i64 as FromSql>::accepts(position.type_())
        && <Uuid as FromSql>::accepts(stream_id.type_())
        && <i64 as FromSql>::accepts(version.type_())
        && <Uuid as FromSql>::accepts(event_id.type_())
        && is_text(event_type.type_())
        && <i64 as FromSql>::accepts(schema_version.type_())
        && <PgTime as FromSql>::accepts(timestamp.type_())
        && <Option<RawJson<'_>> as FromSql>::accepts(metadata.type_())
        && <Option<RawJson<'_>> as FromSql>::accepts(payload.type_())
        && <Option<&[u8]> as FromSql>::accepts(payload_bytes.type_())
        && is_text(aggregate_type.type_())
        && <Option<&[u8]> as FromSql>::accepts(chain_hash.type_())
}

/// A type `Trusted::text` reads (a subset of those `&str` accepts).
fn is_text(ty: &Type) -> bool {
    *ty == Type::TEXT || *ty == Type::VARCHAR
}

/// Decodes the events rows of one statement (columns as
/// `statements::EVENT_COLUMNS`), checking the column types once.
pub(super) fn events_from_rows(rows: &[Row]) -> Result<Vec<StoredEvent>, StoreError> {
    let mut decoder = EventDecoder::default();
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        events.push(decoder.decode(row)?);
    }
    Ok(events)
}

/// Decodes the events rows of one statement (columns as
/// `statements::EVENT_COLUMNS`) as they arrive, checking the column types
/// on the first.
#[derive(Default)]
pub(super) struct EventDecoder {
    trust: TrustOnce,
}

impl EventDecoder {
    pub(super) fn decode(&mut self, row: &Row) -> Result<StoredEvent, StoreError> {
        if self.trust.trusted(row, event_columns_match) {
            event_from_row_with::<Trusted>(row)
        } else {
            event_from_row_with::<Checked>(row)
        }
    }
}

/// Decodes one events row (columns as `statements::EVENT_COLUMNS`), its
/// columns read by `C`.
fn event_from_row_with<C: Columns>(row: &Row) -> Result<StoredEvent, StoreError> {
    let stream_id: Uuid = C::get(row, 1).map_err(|e| backend(BACKEND, e))?;
    let raw_version: i64 =
        C::get(row, 2).map_err(|e| corrupt(stream_id, 0, format!("version: {e}")))?;
    let version = version_from_db(raw_version, stream_id)?;
    let fail =
        |what: &str, error: BoxError| corrupt(stream_id, version, format!("{what}: {error}"));
    let position = position_from_db(
        C::get(row, 0).map_err(|e| fail("position", e))?,
        stream_id,
        version,
    )?;
    let event_id: Uuid = C::get(row, 3).map_err(|e| fail("event id", e))?;
    let event_type = required_text::<C>(row, 4).map_err(|e| fail("event type", e))?;
    let schema_version = schema_version_from_db(
        C::get(row, 5).map_err(|e| fail("schema version", e))?,
        stream_id,
        version,
    )?;
    let PgTime(timestamp) = C::get(row, 6).map_err(|e| fail("timestamp", e))?;
    let metadata: Option<RawJson<'_>> = C::get(row, 7).map_err(|e| fail("metadata", e))?;
    let metadata = metadata_from_json(metadata.map(|json| json.0), stream_id, version)?;
    let payload = payload_from_row_with::<C>(row, 8, 9)
        .map_err(|reason| corrupt(stream_id, version, reason))?
        .to_vec();
    let aggregate_type = C::text(row, 10).map_err(|e| fail("aggregate type", e))?;
    let chain_hash: Option<&[u8]> = C::get(row, 11).map_err(|e| fail("chain hash", e))?;
    let chain_hash = chain_hash
        .map(|bytes| {
            ChainHash::from_slice(bytes)
                .ok_or_else(|| corrupt(stream_id, version, "chain hash is not 32 bytes"))
        })
        .transpose()?;
    Ok(StoredEvent {
        position,
        stream_id,
        version,
        event_id,
        aggregate_type: aggregate_type.map(str::to_owned),
        event_type: event_type.to_owned(),
        schema_version,
        timestamp,
        metadata,
        payload,
        chain_hash,
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
            split_payload(br#"{"a":1}"#, JsonColumn::Checked),
            (Some(r#"{"a":1}"#), None)
        );
        // Not JSON, or a database that cannot hold JSON text: bytes.
        assert_eq!(
            split_payload(b"\x00\x01", JsonColumn::Checked),
            (None, Some(&b"\x00\x01"[..]))
        );
        assert_eq!(
            split_payload(b"{}", JsonColumn::Unused),
            (None, Some(&b"{}"[..]))
        );
        assert_eq!(JsonColumn::Checked.if_json_held(true), JsonColumn::Checked);
        assert_eq!(JsonColumn::Checked.if_json_held(false), JsonColumn::Unused);
        assert_eq!(JsonColumn::Trusted.if_json_held(false), JsonColumn::Unused);
        // Trusted: not parsed (the server checks), but never text that is
        // not UTF-8.
        assert_eq!(
            split_payload(b"[1", JsonColumn::Trusted),
            (Some("[1"), None)
        );
        assert_eq!(
            split_payload(b"\xff", JsonColumn::Trusted),
            (None, Some(&b"\xff"[..]))
        );

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
