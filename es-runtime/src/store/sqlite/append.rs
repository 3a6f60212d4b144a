//! One append inside the writer's open transaction: the one-stream fast
//! path, else the shared decision over what is stored, then the inserts.
//! The writer thread (`threads`) wraps these in transactions and savepoints.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection};
use uuid::Uuid;

use super::rows::{tracked_position, uuid_value};
use super::statements::Sql;
use super::{Db, BACKEND};
use crate::store::decision::{decide, StreamCheck};
use crate::store::encoding::{
    backend, corrupt, is_json, metadata_to_json, position_from_db, stream_version_from_db, to_db,
};
use crate::store::error::StoreError;
use crate::store::record::NewEvent;
use crate::store::request::{AppendOutcome, AppendRequest, StreamAppend, Tracking};

/// A uuid as stored: its 16 bytes.
pub(super) fn blob(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

/// A payload as bound: TEXT when it is JSON (queryable with SQLite's JSON
/// functions), a BLOB otherwise. Either reads back byte for byte.
pub(super) fn payload_value(payload: &[u8]) -> ToSqlOutput<'_> {
    if is_json(payload) {
        ToSqlOutput::Borrowed(ValueRef::Text(payload))
    } else {
        ToSqlOutput::Borrowed(ValueRef::Blob(payload))
    }
}

/// What the writer knows of an append's payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Payloads {
    /// Any bytes: each is parsed to tell JSON (kept as TEXT) from the rest.
    Unchecked,
    /// All JSON as `serde_json` writes it (`StreamStore::append_json`):
    /// kept as TEXT without parsing each again, which costs as much as
    /// binding the rest of the event.
    Json,
}

impl Payloads {
    /// `payload` as bound (see [`payload_value`]).
    fn value(self, payload: &[u8]) -> ToSqlOutput<'_> {
        match self {
            Payloads::Json => ToSqlOutput::Borrowed(ValueRef::Text(payload)),
            Payloads::Unchecked => payload_value(payload),
        }
    }
}

/// Appends `request` (and records `tracking`) in the open transaction. A
/// result other than `written: true` may leave partial writes: the caller
/// rolls them back.
pub(super) fn append_in_transaction(
    connection: &Connection,
    sql: &Sql,
    request: &AppendRequest,
    tracking: Option<&Tracking>,
    payloads: Payloads,
) -> Result<AppendOutcome, StoreError> {
    if tracking.is_none() {
        if let Some(outcome) = append_one_stream(connection, sql, request, payloads)? {
            return Ok(outcome);
        }
    }
    let decision = decide(
        request,
        tracking,
        |append| {
            let version: i64 = connection
                .prepare_cached(&sql.stream_version)
                .db()?
                .query_row([blob(&append.stream_id)], |row| row.get(0))
                .db()?;
            stream_version_from_db(version, append.stream_id)
        },
        |append| stored_ids(connection, sql, append),
        |consumer| tracked_position(connection, sql, consumer),
    )?;

    if decision == StreamCheck::AlreadyStored {
        return already_stored(connection, sql, request);
    }

    let mut last_position = None;
    let mut insert = connection.prepare_cached(&sql.insert_event).db()?;
    for append in &request.streams {
        let mut events = StreamInserts::new(append, payloads);
        for (event, version) in append.events.iter().zip(append.expected_version + 1..) {
            events.insert(&mut insert, event, version)?.db()?;
        }
        last_position = u64::try_from(connection.last_insert_rowid()).ok();
    }
    if let Some(tracking) = tracking {
        upsert_tracking(connection, sql, tracking)?;
    }
    Ok(AppendOutcome {
        last_position,
        written: true,
    })
}

/// Records `tracking` (the caller has checked that it moves forward).
pub(super) fn upsert_tracking(
    connection: &Connection,
    sql: &Sql,
    tracking: &Tracking,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(&sql.upsert_tracking)
        .db()?
        .execute(params![tracking.consumer, to_db(tracking.position)])
        .db()?;
    Ok(())
}

/// The ids stored after the expected version, up to the batch's length.
fn stored_ids(
    connection: &Connection,
    sql: &Sql,
    append: &StreamAppend,
) -> Result<Vec<Uuid>, StoreError> {
    let mut statement = connection.prepare_cached(&sql.stored_ids).db()?;
    let mut rows = statement
        .query(params![
            blob(&append.stream_id),
            to_db(append.expected_version),
            to_db(append.events.len())
        ])
        .db()?;
    let mut ids = Vec::with_capacity(append.events.len());
    let mut version = append.expected_version;
    while let Some(row) = rows.next().db()? {
        version += 1;
        ids.push(
            uuid_value(row.get_ref(0).db()?)
                .ok_or_else(|| corrupt(append.stream_id, version, "event id is not a uuid"))?,
        );
    }
    Ok(ids)
}

/// The outcome of an idempotent retry: the highest position of the
/// request's last events, which are stored already.
fn already_stored(
    connection: &Connection,
    sql: &Sql,
    request: &AppendRequest,
) -> Result<AppendOutcome, StoreError> {
    let mut last_position = None;
    let mut statement = connection.prepare_cached(&sql.position_at).db()?;
    for append in &request.streams {
        let last = append.expected_version + append.events.len() as u64;
        let position: i64 = statement
            .query_row(params![blob(&append.stream_id), to_db(last)], |row| {
                row.get(0)
            })
            .db()?;
        let position = position_from_db(position, append.stream_id, last)?;
        last_position = last_position.max(Some(position));
    }
    Ok(AppendOutcome {
        last_position,
        written: false,
    })
}

/// The common case in one statement per event: a request for one stream
/// without a tracking record whose stream is at the expected version. The
/// first event goes in only when the stream holds the expected version (its
/// version is NULL otherwise, which the column refuses), and the unique
/// `(stream_id, version)` refuses it when the stream is past it;
/// once it is in, the others cannot collide. `None` (nothing written) when
/// the stream is not at the expected version: the full decision then tells
/// a conflict from an idempotent retry.
fn append_one_stream(
    connection: &Connection,
    sql: &Sql,
    request: &AppendRequest,
    payloads: Payloads,
) -> Result<Option<AppendOutcome>, StoreError> {
    let [append] = request.streams.as_slice() else {
        return Ok(None);
    };
    let mut events = append.events.iter().zip(append.expected_version + 1..);
    let Some((first, version)) = events.next() else {
        return Ok(None);
    };
    let inserted = StreamInserts::new(append, payloads).insert(
        &mut *connection.prepare_cached(&sql.insert_next_event).db()?,
        first,
        version,
    )?;
    match inserted {
        Ok(1) => {}
        Ok(_) => return Ok(None),
        Err(rusqlite::Error::SqliteFailure(error, _))
            if error.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            return Ok(None)
        }
        Err(error) => return Err(backend(BACKEND, error)),
    }
    // A one-event append (one event per save) needs no second statement.
    if append.events.len() > 1 {
        let mut insert = connection.prepare_cached(&sql.insert_event).db()?;
        let mut rest = StreamInserts::new(append, payloads);
        for (event, version) in events {
            rest.insert(&mut insert, event, version)?.db()?;
        }
    }
    Ok(Some(AppendOutcome {
        last_position: u64::try_from(connection.last_insert_rowid()).ok(),
        written: true,
    }))
}

/// Runs an insert statement (`insert_event` or `insert_next_event`, fresh
/// from the statement cache) for one stream's events, one at a time.
/// SQLite keeps a statement's bindings from one run to the next, so the
/// stream id is bound once and the aggregate type, event type, schema
/// version and the NULLs of no metadata and no chain hash only when they
/// change: a batch binds per event only what differs (binding copies every
/// text and blob, which cost a tenth of an insert).
struct StreamInserts<'a> {
    append: &'a StreamAppend,
    payloads: Payloads,
    /// The aggregate type bound as `?9`, once anything is bound.
    aggregate_type: Option<&'a str>,
    /// The event type bound as `?4`, once anything is bound.
    event_type: Option<&'a str>,
    /// The schema version bound as `?5`, once anything is bound.
    schema_version: Option<u32>,
    /// True when `?7` (metadata) holds NULL.
    no_metadata: bool,
    /// True when `?10` (chain hash) holds NULL.
    no_chain_hash: bool,
}

impl<'a> StreamInserts<'a> {
    fn new(append: &'a StreamAppend, payloads: Payloads) -> Self {
        Self {
            append,
            payloads,
            aggregate_type: None,
            event_type: None,
            schema_version: None,
            no_metadata: false,
            no_chain_hash: false,
        }
    }

    /// Inserts `event` at `version` with its metadata as JSON. The outer
    /// error is the metadata's encoding; the inner one the database's, which
    /// the fast path inspects (a constraint violation means "not fresh").
    /// Every call for one `StreamInserts` must use the same statement.
    fn insert(
        &mut self,
        statement: &mut rusqlite::Statement<'_>,
        event: &'a NewEvent,
        version: u64,
    ) -> Result<rusqlite::Result<usize>, StoreError> {
        let metadata = metadata_to_json(&event.metadata)?;
        Ok(self
            .bind(statement, event, version, metadata.as_deref())
            .and_then(|()| statement.raw_execute()))
    }

    /// Binds all ten parameters (`?1`, and `?4`, `?5`, `?9` and the NULLs of
    /// `?7` and `?10` when they differ from what is bound).
    fn bind(
        &mut self,
        statement: &mut rusqlite::Statement<'_>,
        event: &'a NewEvent,
        version: u64,
        metadata: Option<&str>,
    ) -> rusqlite::Result<()> {
        if self.aggregate_type.is_none() {
            statement.raw_bind_parameter(1, blob(&self.append.stream_id))?;
        }
        if self.aggregate_type != Some(event.aggregate_type.as_str()) {
            statement.raw_bind_parameter(9, event.aggregate_type.as_str())?;
            self.aggregate_type = Some(&event.aggregate_type);
        }
        if self.event_type != Some(event.event_type.as_str()) {
            statement.raw_bind_parameter(4, event.event_type.as_str())?;
            self.event_type = Some(&event.event_type);
        }
        if self.schema_version != Some(event.schema_version) {
            statement.raw_bind_parameter(5, i64::from(event.schema_version))?;
            self.schema_version = Some(event.schema_version);
        }
        statement.raw_bind_parameter(2, to_db(version))?;
        statement.raw_bind_parameter(3, blob(&event.event_id))?;
        statement.raw_bind_parameter(6, event.timestamp.unix_micros())?;
        statement.raw_bind_parameter(8, self.payloads.value(&event.payload))?;
        if metadata.is_some() || !self.no_metadata {
            statement.raw_bind_parameter(7, metadata)?;
            self.no_metadata = metadata.is_none();
        }
        let chain_hash = event.chain_hash.as_ref();
        if chain_hash.is_some() || !self.no_chain_hash {
            statement.raw_bind_parameter(10, chain_hash.map(|hash| hash.as_bytes().as_slice()))?;
            self.no_chain_hash = chain_hash.is_none();
        }
        Ok(())
    }
}
