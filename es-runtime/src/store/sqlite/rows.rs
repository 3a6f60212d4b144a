//! Reading SQLite rows back into records. SQLite columns hold whatever was
//! written into them, so every value is checked: a row this store did not
//! write (or a damaged file) is a [`StoreError::Corrupt`] naming the stream,
//! the version and the column, never a panic.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row, Rows};
use uuid::Uuid;

use super::statements::Sql;
use super::{Db, BACKEND};
use crate::chain::ChainHash;
use crate::store::encoding::{
    backend, corrupt, metadata_from_json, position_from_db, schema_version_from_db,
    tracked_from_db, version_from_db,
};
use crate::store::error::StoreError;
use crate::store::record::{EventRef, StoredEvent};
use crate::store::request::{Snapshot, Tracking};
use crate::timestamp::Timestamp;

/// A uuid stored as 16 bytes (or, written by hand, as text).
pub(super) fn uuid_value(value: ValueRef<'_>) -> Option<Uuid> {
    match value {
        ValueRef::Blob(bytes) => Uuid::from_slice(bytes).ok(),
        ValueRef::Text(text) => std::str::from_utf8(text)
            .ok()
            .and_then(|text| Uuid::parse_str(text).ok()),
        _ => None,
    }
}

fn integer(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Integer(number) => Some(number),
        _ => None,
    }
}

/// Text or blob bytes (payloads are either, see `append::payload_value`).
fn bytes(value: ValueRef<'_>) -> Option<&[u8]> {
    match value {
        ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Some(bytes),
        _ => None,
    }
}

/// A TEXT column as a string; the error says why not.
fn text(value: ValueRef<'_>) -> Result<String, &'static str> {
    match value {
        ValueRef::Text(text) => std::str::from_utf8(text)
            .map(str::to_owned)
            .map_err(|_| "is not UTF-8"),
        _ => Err("is not text"),
    }
}

/// Decodes one events row (columns as `statements::EVENT_COLUMNS`);
/// `stream_hint` names the stream in an error when the stored stream id
/// itself is unreadable.
pub(super) fn event_from_row(
    row: &Row<'_>,
    stream_hint: Option<Uuid>,
) -> Result<StoredEvent, StoreError> {
    let raw_position = integer(row.get_ref(0).db()?);
    let raw_version = integer(row.get_ref(2).db()?);
    let where_ = || match raw_position {
        Some(position) => format!("at log position {position}"),
        None => "at an unreadable log position".to_owned(),
    };
    let stream_id = uuid_value(row.get_ref(1).db()?).ok_or_else(|| {
        corrupt(
            stream_hint.unwrap_or_default(),
            raw_version.and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
            format!("stream id {} is not a uuid", where_()),
        )
    })?;
    let version = match raw_version {
        Some(version) => version_from_db(version, stream_id)?,
        None => {
            return Err(corrupt(
                stream_id,
                0,
                format!("version {} is not an integer", where_()),
            ))
        }
    };
    let fail = |what: &str| corrupt(stream_id, version, what.to_owned());
    let position = position_from_db(
        raw_position.ok_or_else(|| fail("log position is not an integer"))?,
        stream_id,
        version,
    )?;
    let event_id =
        uuid_value(row.get_ref(3).db()?).ok_or_else(|| fail("event id is not a uuid"))?;
    let event_type =
        text(row.get_ref(4).db()?).map_err(|why| fail(&format!("event type {why}")))?;
    let schema_version = schema_version_from_db(
        integer(row.get_ref(5).db()?).ok_or_else(|| fail("schema version is not an integer"))?,
        stream_id,
        version,
    )?;
    let timestamp = Timestamp::from_unix_micros(
        integer(row.get_ref(6).db()?).ok_or_else(|| fail("timestamp is not an integer"))?,
    );
    let metadata = match row.get_ref(7).db()? {
        ValueRef::Null => metadata_from_json(None, stream_id, version)?,
        value => metadata_from_json(
            Some(bytes(value).ok_or_else(|| fail("metadata is not JSON text"))?),
            stream_id,
            version,
        )?,
    };
    let payload = bytes(row.get_ref(8).db()?)
        .ok_or_else(|| fail("payload is neither text nor a blob"))?
        .to_vec();
    let aggregate_type = match row.get_ref(9).db()? {
        ValueRef::Null => None,
        value => Some(text(value).map_err(|why| fail(&format!("aggregate type {why}")))?),
    };
    let chain_hash = match row.get_ref(10).db()? {
        ValueRef::Null => None,
        value => Some(
            bytes(value)
                .and_then(ChainHash::from_slice)
                .ok_or_else(|| fail("chain hash is not 32 bytes"))?,
        ),
    };
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
        chain_hash,
    })
}

/// Decodes one events row as a fold reads it (columns as
/// `statements::FOLD_COLUMNS`) of `stream_id`, borrowing its text and
/// payload from the row.
pub(super) fn event_ref_from_row<'a>(
    row: &'a Row<'_>,
    stream_id: Uuid,
) -> Result<EventRef<'a>, StoreError> {
    let version = match integer(row.get_ref(0).db()?) {
        Some(version) => version_from_db(version, stream_id)?,
        None => return Err(corrupt(stream_id, 0, "version is not an integer")),
    };
    let fail = |what: &str| corrupt(stream_id, version, what.to_owned());
    let timestamp = Timestamp::from_unix_micros(
        integer(row.get_ref(1).db()?).ok_or_else(|| fail("timestamp is not an integer"))?,
    );
    let event_type = match row.get_ref(2).db()? {
        ValueRef::Text(text) => {
            std::str::from_utf8(text).map_err(|_| fail("event type is not UTF-8"))?
        }
        _ => return Err(fail("event type is not text")),
    };
    let schema_version = schema_version_from_db(
        integer(row.get_ref(3).db()?).ok_or_else(|| fail("schema version is not an integer"))?,
        stream_id,
        version,
    )?;
    let payload =
        bytes(row.get_ref(4).db()?).ok_or_else(|| fail("payload is neither text nor a blob"))?;
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

/// The most records [`collect_events`] makes room for at once, when the
/// first row comes: a page of 1,000 is then allocated once and never moved
/// (growing from a smaller guess copied every record made so far, twice
/// for a page of 1,000), and a poll that finds nothing allocates nothing.
const RESERVED_EVENTS: usize = 1024;

/// Decodes every events row of a query that returns at most `limit` rows.
pub(super) fn collect_events(
    mut rows: Rows<'_>,
    limit: usize,
    stream_hint: Option<Uuid>,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut events = Vec::new();
    while let Some(row) = rows.next().db()? {
        if events.is_empty() {
            events.reserve_exact(limit.min(RESERVED_EVENTS));
        }
        events.push(event_from_row(row, stream_hint)?);
    }
    // A few records in room for a page give the room back (the caller may
    // keep them a while).
    if events.len() < events.capacity() / 2 {
        events.shrink_to_fit();
    }
    Ok(events)
}

/// Decodes one snapshots row (columns as `Sql::latest_snapshot`) of
/// `stream_id`.
pub(super) fn snapshot_from_row(row: &Row<'_>, stream_id: Uuid) -> Result<Snapshot, StoreError> {
    let version = version_from_db(
        integer(row.get_ref(0).db()?)
            .ok_or_else(|| corrupt(stream_id, 0, "snapshot version is not an integer"))?,
        stream_id,
    )?;
    let fail = |what: &str| corrupt(stream_id, version, format!("snapshot {what}"));
    let snapshot_type = text(row.get_ref(1).db()?).map_err(|why| fail(&format!("type {why}")))?;
    let schema_version = schema_version_from_db(
        integer(row.get_ref(2).db()?).ok_or_else(|| fail("schema version is not an integer"))?,
        stream_id,
        version,
    )?;
    let timestamp = Timestamp::from_unix_micros(
        integer(row.get_ref(3).db()?).ok_or_else(|| fail("timestamp is not an integer"))?,
    );
    let payload = bytes(row.get_ref(4).db()?)
        .ok_or_else(|| fail("payload is neither text nor a blob"))?
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

/// The position tracked for `consumer` (0 when none).
pub(super) fn tracked_position(
    connection: &Connection,
    sql: &Sql,
    consumer: &str,
) -> Result<u64, StoreError> {
    let mut statement = connection.prepare_cached(&sql.tracked).db()?;
    let mut rows = statement.query([consumer]).db()?;
    match rows.next().db()? {
        None => Ok(0),
        Some(row) => match row.get_ref(0).db()? {
            ValueRef::Integer(position) => tracked_from_db(BACKEND, position, consumer),
            _ => Err(backend(
                BACKEND,
                format!("tracked position of consumer `{consumer}` is not an integer"),
            )),
        },
    }
}

/// Every tracking record, by consumer.
pub(super) fn consumers(connection: &Connection, sql: &Sql) -> Result<Vec<Tracking>, StoreError> {
    let mut statement = connection.prepare_cached(&sql.consumers).db()?;
    let mut rows = statement.query([]).db()?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().db()? {
        let consumer = text(row.get_ref(0).db()?)
            .map_err(|why| backend(BACKEND, format!("a tracking record's consumer {why}")))?;
        let position = match row.get_ref(1).db()? {
            ValueRef::Integer(position) => tracked_from_db(BACKEND, position, &consumer)?,
            _ => {
                return Err(backend(
                    BACKEND,
                    format!("tracked position of consumer `{consumer}` is not an integer"),
                ))
            }
        };
        records.push(Tracking::new(consumer, position));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use rusqlite::params_from_iter;
    use rusqlite::types::Value;

    use super::super::statements::EVENT_COLUMNS;
    use super::*;

    const STREAM: Uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    const EVENT: Uuid = Uuid::from_u128(0xfedc_ba98_7654_3210_fedc_ba98_7654_3210);

    /// A database without the store's constraints, so that rows can hold
    /// anything a damaged or hand-edited file might.
    fn loose_database() -> (Connection, Sql) {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE events (position, stream_id, version, event_id, event_type,
                     schema_version, recorded_at, metadata, payload, aggregate_type, chain_hash);
                 CREATE TABLE snapshots (stream_id, version, snapshot_type, schema_version,
                     recorded_at, payload);
                 CREATE TABLE tracking (consumer, position);",
            )
            .unwrap();
        (connection, Sql::new(""))
    }

    /// A good events row, as the store writes it.
    fn good_row() -> Vec<Value> {
        vec![
            Value::Integer(7),
            Value::Blob(STREAM.as_bytes().to_vec()),
            Value::Integer(3),
            Value::Blob(EVENT.as_bytes().to_vec()),
            Value::Text("Happened".into()),
            Value::Integer(2),
            Value::Integer(1_700_000_000_000_000),
            Value::Text(r#"{"extra":{"user":"ann"}}"#.into()),
            Value::Text("{\"a\":1}".into()),
            Value::Text("Dog".into()),
            Value::Blob(vec![0xab; 32]),
        ]
    }

    /// Reads the only events row back, with `column` replaced by `value`.
    fn read_with(column: usize, value: Value) -> Result<StoredEvent, StoreError> {
        let (connection, _) = loose_database();
        let mut row = good_row();
        row[column] = value;
        connection
            .execute(
                "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params_from_iter(row),
            )
            .unwrap();
        // Every row, whatever its values (the store's queries filter on them).
        let mut statement = connection
            .prepare(&format!("SELECT {EVENT_COLUMNS} FROM events"))
            .unwrap();
        let events = collect_events(statement.query([]).unwrap(), usize::MAX, None);
        events.map(|mut events| events.remove(0))
    }

    fn corrupt_reason(result: Result<StoredEvent, StoreError>) -> (Uuid, u64, String) {
        match result {
            Err(StoreError::Corrupt {
                stream_id,
                version,
                reason,
            }) => (stream_id, version, reason),
            other => panic!("expected a corrupt record, got {other:?}"),
        }
    }

    #[test]
    fn a_good_row_reads_back() {
        let event = read_with(0, Value::Integer(7)).unwrap();
        assert_eq!(
            (event.position, event.stream_id, event.version),
            (7, STREAM, 3)
        );
        assert_eq!(
            (event.event_id, event.event_type.as_str()),
            (EVENT, "Happened")
        );
        assert_eq!(event.schema_version, 2);
        assert_eq!(event.timestamp.unix_micros(), 1_700_000_000_000_000);
        assert_eq!(event.payload, b"{\"a\":1}");
        assert_eq!(event.metadata.extra["user"], "ann");
        assert_eq!(event.aggregate_type.as_deref(), Some("Dog"));
        assert_eq!(event.chain_hash.unwrap().as_bytes(), &[0xab; 32]);
        // An event stored unhashed has no chain link.
        assert_eq!(read_with(10, Value::Null).unwrap().chain_hash, None);
        // An event of layout 1 has no aggregate type.
        assert_eq!(read_with(9, Value::Null).unwrap().aggregate_type, None);
        // A uuid written by hand as text still reads.
        let event = read_with(1, Value::Text(STREAM.to_string())).unwrap();
        assert_eq!(event.stream_id, STREAM);
        // No metadata (NULL) is empty metadata; a BLOB payload reads as is.
        assert!(read_with(7, Value::Null).unwrap().metadata.is_empty());
        assert_eq!(
            read_with(8, Value::Blob(vec![0, 159])).unwrap().payload,
            [0, 159]
        );
    }

    #[test]
    fn corrupt_columns_name_stream_version_and_column() {
        let cases = [
            (
                0,
                Value::Text("seven".into()),
                "log position is not an integer",
            ),
            (0, Value::Integer(0), "log position 0 is not a positive"),
            (3, Value::Blob(vec![1, 2, 3]), "event id is not a uuid"),
            (4, Value::Integer(5), "event type is not text"),
            (4, Value::Blob(vec![0xff]), "event type is not text"),
            (
                5,
                Value::Integer(1 << 40),
                "schema version 1099511627776 is out of range",
            ),
            (5, Value::Real(1.5), "schema version is not an integer"),
            (6, Value::Text("noon".into()), "timestamp is not an integer"),
            (7, Value::Integer(1), "metadata is not JSON text"),
            (7, Value::Text("{".into()), "metadata: "),
            (8, Value::Null, "payload is neither text nor a blob"),
            (9, Value::Integer(5), "aggregate type is not text"),
            (9, Value::Blob(vec![0xff]), "aggregate type is not text"),
            (10, Value::Blob(vec![1; 31]), "chain hash is not 32 bytes"),
            (10, Value::Integer(5), "chain hash is not 32 bytes"),
        ];
        for (column, value, expected) in cases {
            let (stream_id, version, reason) = corrupt_reason(read_with(column, value));
            assert_eq!((stream_id, version), (STREAM, 3), "column {column}");
            assert!(reason.contains(expected), "column {column}: {reason}");
        }
    }

    #[test]
    fn an_unreadable_stream_id_or_version_still_says_where() {
        let (stream_id, version, reason) = corrupt_reason(read_with(1, Value::Integer(1)));
        assert_eq!((stream_id, version), (Uuid::nil(), 3));
        assert_eq!(reason, "stream id at log position 7 is not a uuid");
        let (stream_id, version, reason) = corrupt_reason(read_with(2, Value::Null));
        assert_eq!((stream_id, version), (STREAM, 0));
        assert_eq!(reason, "version at log position 7 is not an integer");
        let (_, version, reason) = corrupt_reason(read_with(2, Value::Integer(-1)));
        assert_eq!(version, 0);
        assert!(reason.contains("stored version -1"), "{reason}");
    }

    #[test]
    fn snapshots_and_tracked_positions_are_checked() {
        let (connection, sql) = loose_database();
        let read_snapshot = |row: [Value; 5]| {
            connection.execute("DELETE FROM snapshots", []).unwrap();
            let mut values = vec![Value::Blob(STREAM.as_bytes().to_vec())];
            values.extend(row);
            connection
                .execute(
                    "INSERT INTO snapshots VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params_from_iter(values),
                )
                .unwrap();
            let mut statement = connection
                .prepare("SELECT version, snapshot_type, schema_version, recorded_at, payload FROM snapshots")
                .unwrap();
            let mut rows = statement.query([]).unwrap();
            snapshot_from_row(rows.next().unwrap().unwrap(), STREAM)
        };
        let good = || {
            [
                Value::Integer(4),
                Value::Text("Dog".into()),
                Value::Integer(1),
                Value::Integer(5),
                Value::Blob(vec![1, 2]),
            ]
        };
        let snapshot = read_snapshot(good()).unwrap();
        assert_eq!(
            (snapshot.version, snapshot.snapshot_type.as_str()),
            (4, "Dog")
        );
        assert_eq!(snapshot.payload, [1, 2]);
        for (column, value, expected) in [
            (1, Value::Blob(vec![1]), "snapshot type is not text"),
            (2, Value::Null, "snapshot schema version is not an integer"),
            (3, Value::Real(0.5), "snapshot timestamp is not an integer"),
            (
                4,
                Value::Null,
                "snapshot payload is neither text nor a blob",
            ),
        ] {
            let mut row = good();
            row[column] = value;
            match read_snapshot(row) {
                Err(StoreError::Corrupt {
                    stream_id: STREAM,
                    version: 4,
                    reason,
                }) => assert_eq!(reason, expected),
                other => panic!("column {column}: {other:?}"),
            }
        }
        let mut row = good();
        row[0] = Value::Text("four".into());
        assert!(matches!(
            read_snapshot(row),
            Err(StoreError::Corrupt { version: 0, reason, .. }) if reason == "snapshot version is not an integer"
        ));

        assert_eq!(tracked_position(&connection, &sql, "p").unwrap(), 0);
        connection
            .execute(
                "INSERT INTO tracking VALUES ('p', 12), ('n', -1), ('t', 'x')",
                [],
            )
            .unwrap();
        assert_eq!(tracked_position(&connection, &sql, "p").unwrap(), 12);
        for (consumer, expected) in [("n", "is negative"), ("t", "is not an integer")] {
            match tracked_position(&connection, &sql, consumer) {
                Err(error @ StoreError::Backend { .. }) => {
                    assert!(error.to_string().contains(expected), "{error}")
                }
                other => panic!("{consumer}: {other:?}"),
            }
        }
    }
}
