//! Appends: one `chronicle_append` call in the common case (the fast path,
//! committed with concurrent appends: see `group.rs`),
//! and when one of its checks fails or a concurrent writer wins, a second
//! look at what is stored, decided with the rules every store shares.

use std::sync::Arc;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::connection::{retrying, Failure};
use super::failover::settle_error;
use super::rows::{split_payload, PgTime};
use super::{PostgresStore, BACKEND};
use crate::store::decision::{decide, StreamCheck};
use crate::store::encoding::{
    backend, check_append, metadata_to_json, position_from_db, stream_version_from_db, to_db,
    tracked_from_db,
};
use crate::store::error::StoreError;
use crate::store::request::{AppendOutcome, AppendRequest, Tracking};

/// Appends that keep losing races to concurrent writers give up after this many rounds.
const APPEND_ROUNDS: usize = 8;

/// An append's parameters as arrays, one element per stream or per event.
#[derive(Default)]
pub(super) struct AppendParams<'a> {
    streams: Vec<Uuid>,
    expected: Vec<i64>,
    event_streams: Vec<Uuid>,
    versions: Vec<i64>,
    event_ids: Vec<Uuid>,
    types: Vec<&'a str>,
    schema_versions: Vec<i64>,
    times: Vec<PgTime>,
    metadata: Vec<Option<String>>,
    json: Vec<Option<&'a str>>,
    bytes: Vec<Option<&'a [u8]>>,
    consumer: Option<&'a str>,
    position: Option<i64>,
    aggregates: Vec<&'a str>,
    chain: Vec<Option<&'a [u8]>>,
}

impl<'a> AppendParams<'a> {
    pub(super) fn new(
        request: &'a AppendRequest,
        tracking: Option<&'a Tracking>,
        json_payloads: bool,
    ) -> Result<Self, StoreError> {
        let count = request.event_count();
        let mut params = AppendParams {
            streams: Vec::with_capacity(request.streams.len()),
            expected: Vec::with_capacity(request.streams.len()),
            event_streams: Vec::with_capacity(count),
            versions: Vec::with_capacity(count),
            event_ids: Vec::with_capacity(count),
            types: Vec::with_capacity(count),
            schema_versions: Vec::with_capacity(count),
            times: Vec::with_capacity(count),
            metadata: Vec::with_capacity(count),
            json: Vec::with_capacity(count),
            bytes: Vec::with_capacity(count),
            consumer: tracking.map(|t| t.consumer.as_str()),
            position: tracking.map(|t| to_db(t.position)),
            aggregates: Vec::with_capacity(count),
            chain: Vec::with_capacity(count),
        };
        for append in &request.streams {
            params.streams.push(append.stream_id);
            params.expected.push(to_db(append.expected_version));
            for (event, version) in append.events.iter().zip(append.expected_version + 1..) {
                params.event_streams.push(append.stream_id);
                params.versions.push(to_db(version));
                params.event_ids.push(event.event_id);
                params.types.push(&event.event_type);
                params.aggregates.push(&event.aggregate_type);
                params
                    .chain
                    .push(event.chain_hash.as_ref().map(|hash| &hash.as_bytes()[..]));
                params.schema_versions.push(i64::from(event.schema_version));
                params.times.push(PgTime(event.timestamp));
                params.metadata.push(metadata_to_json(&event.metadata)?);
                let (json, bytes) = split_payload(&event.payload, json_payloads);
                params.json.push(json);
                params.bytes.push(bytes);
            }
        }
        Ok(params)
    }

    /// Adds `other`'s streams and events after these; its tracking record
    /// replaces this one's (see `TogetherParams`, which moves each out first).
    fn extend(&mut self, other: AppendParams<'a>) {
        self.streams.extend(other.streams);
        self.expected.extend(other.expected);
        self.event_streams.extend(other.event_streams);
        self.versions.extend(other.versions);
        self.event_ids.extend(other.event_ids);
        self.types.extend(other.types);
        self.schema_versions.extend(other.schema_versions);
        self.times.extend(other.times);
        self.metadata.extend(other.metadata);
        self.json.extend(other.json);
        self.bytes.extend(other.bytes);
        self.consumer = other.consumer;
        self.position = other.position;
        self.aggregates.extend(other.aggregates);
        self.chain.extend(other.chain);
    }

    /// Stores every payload as bytes (for a database that refused one as JSON).
    pub(super) fn all_bytes(&mut self, request: &'a AppendRequest) {
        self.json.iter_mut().for_each(|json| *json = None);
        self.bytes = request
            .streams
            .iter()
            .flat_map(|append| &append.events)
            .map(|event| Some(event.payload.as_slice()))
            .collect();
    }

    /// The parameters of `Sql::append_one`, in order, when this is one
    /// event appended to one stream without a tracking record; `listen_key`
    /// is its listener-registry key (`Sql::listen_key`).
    pub(super) fn as_one_event<'s>(
        &'s self,
        listen_key: &'s i32,
    ) -> Option<[&'s (dyn ToSql + Sync); 13]> {
        if self.streams.len() != 1 || self.versions.len() != 1 || self.consumer.is_some() {
            return None;
        }
        Some([
            &self.streams[0],
            &self.versions[0],
            &self.event_ids[0],
            &self.types[0],
            &self.schema_versions[0],
            &self.times[0],
            &self.metadata[0],
            &self.json[0],
            &self.bytes[0],
            &self.aggregates[0],
            &self.chain[0],
            &self.expected[0],
            listen_key,
        ])
    }

    /// The parameters of `Sql::append`, in order.
    pub(super) fn as_params(&self) -> [&(dyn ToSql + Sync); 15] {
        [
            &self.streams,
            &self.expected,
            &self.event_streams,
            &self.versions,
            &self.event_ids,
            &self.types,
            &self.schema_versions,
            &self.times,
            &self.metadata,
            &self.json,
            &self.bytes,
            &self.consumer,
            &self.position,
            &self.aggregates,
            &self.chain,
        ]
    }
}

/// The appends of a group as the parameters of one
/// `chronicle_append_together` call: every append's arrays one after the
/// other, and the tracking records as arrays too, one element per append.
pub(super) struct TogetherParams<'a> {
    appends: AppendParams<'a>,
    consumers: Vec<Option<&'a str>>,
    positions: Vec<Option<i64>>,
    /// How many events each append writes, in order.
    event_counts: Vec<usize>,
}

/// The consumers and positions of a group without tracking records: NULL.
static NO_CONSUMERS: Option<Vec<Option<&str>>> = None;
static NO_POSITIONS: Option<Vec<Option<i64>>> = None;

impl<'a> TogetherParams<'a> {
    /// The parameters of `appends` side by side.
    pub(super) fn new(appends: impl IntoIterator<Item = AppendParams<'a>>) -> Self {
        let mut appends = appends.into_iter();
        let mut together = TogetherParams {
            appends: appends.next().unwrap_or_default(),
            consumers: Vec::new(),
            positions: Vec::new(),
            event_counts: Vec::new(),
        };
        together.take_tracking();
        for append in appends {
            together.appends.extend(append);
            together.take_tracking();
        }
        together
    }

    /// Moves the tracking record of the append last added into the arrays.
    fn take_tracking(&mut self) {
        let counted: usize = self.event_counts.iter().sum();
        self.event_counts
            .push(self.appends.versions.len() - counted);
        self.consumers.push(self.appends.consumer.take());
        self.positions.push(self.appends.position.take());
    }

    /// The last position each append wrote (none for an append of no
    /// events), from the positions the call returned, one per event; `None`
    /// when they do not match the events sent.
    pub(super) fn last_positions(&self, written: &[i64]) -> Option<Vec<Option<i64>>> {
        if written.len() != self.appends.versions.len() {
            return None;
        }
        let mut end = 0;
        Some(
            self.event_counts
                .iter()
                .map(|&count| {
                    end += count;
                    (count > 0).then(|| written[end - 1])
                })
                .collect(),
        )
    }

    /// Whether any append carries a tracking record: when none does, both
    /// tracking arrays are sent as NULL and the call skips the tracking
    /// statement altogether.
    fn tracked(&self) -> bool {
        self.consumers.iter().any(Option::is_some)
    }

    /// The parameters of `Sql::append_together`, in order.
    pub(super) fn as_params(&self) -> [&(dyn ToSql + Sync); 15] {
        let mut params = self.appends.as_params();
        if self.tracked() {
            params[11] = &self.consumers;
            params[12] = &self.positions;
        } else {
            params[11] = &NO_CONSUMERS;
            params[12] = &NO_POSITIONS;
        }
        params
    }
}

/// How one attempt at the fast path ended.
pub(super) enum Attempt {
    Written(Option<i64>),
    /// A check failed or a concurrent writer won: decide on fresh state.
    NotFresh,
    /// The server refused a payload as JSON: store payloads as bytes.
    NotJson,
}

/// What the slow path found.
enum Decision {
    Done(AppendOutcome),
    TryAgain,
}

/// What `chronicle_append`'s error code says about an attempt: its own
/// checks (CH001 stream, CH002 tracking), a unique violation or deadlock with
/// a concurrent writer, or a payload the server would not take as JSON.
pub(super) fn attempt_after(code: &str) -> Option<Attempt> {
    match code {
        "CH001" | "CH002" | "23505" | "40P01" => Some(Attempt::NotFresh),
        "22P02" | "22P05" | "22021" => Some(Attempt::NotJson),
        _ => None,
    }
}

impl PostgresStore {
    /// Appends with `chronicle_append`, one round trip in the common case;
    /// when a check fails, decides again on what is stored.
    pub(super) async fn append_now(
        &self,
        request: AppendRequest,
        tracking: Option<Tracking>,
    ) -> Result<AppendOutcome, StoreError> {
        check_append(&request, tracking.as_ref())?;
        if request.streams.is_empty() && tracking.is_none() {
            return Ok(AppendOutcome {
                last_position: None,
                written: true,
            });
        }
        // What could fail building the parameters (metadata as JSON),
        // checked here, where the error belongs to this append alone.
        for event in request.streams.iter().flat_map(|append| &append.events) {
            metadata_to_json(&event.metadata)?;
        }
        let request = Arc::new(request);
        let mut as_bytes = false;
        // In a cluster, "not fresh" may stand for an attempt whose outcome
        // was lost (see `group`): decide from what the standby confirms.
        let settle = self.inner.cluster;
        for _ in 0..APPEND_ROUNDS {
            match self
                .attempt_in_group(&request, tracking.as_ref(), as_bytes)
                .await?
            {
                Attempt::Written(position) => {
                    return Ok(AppendOutcome {
                        last_position: position.and_then(|p| u64::try_from(p).ok()),
                        written: true,
                    })
                }
                Attempt::NotJson if !as_bytes => as_bytes = true,
                Attempt::NotJson => {
                    return Err(backend(BACKEND, "the server refused the payloads as bytes"))
                }
                Attempt::NotFresh => match self
                    .decide_again(&request, tracking.as_ref(), settle)
                    .await
                    .map_err(|error| settle_error(settle, error))?
                {
                    Decision::Done(outcome) => return Ok(outcome),
                    Decision::TryAgain => {}
                },
            }
        }
        Err(backend(
            BACKEND,
            format!("append kept racing concurrent writers for {APPEND_ROUNDS} rounds"),
        ))
    }

    /// One attempt as one autocommit statement, bounded by the commit
    /// timeout; `in_doubt` is set when its outcome was lost (`failover`).
    /// One event is tried first as a plain statement (`Sql::append_one`);
    /// when that writes nothing, `chronicle_append` decides.
    pub(super) async fn try_append(
        &self,
        params: &AppendParams<'_>,
        in_doubt: &mut bool,
    ) -> Result<Attempt, StoreError> {
        let listen_key = self.inner.sql.listen_key(
            self.inner
                .listen_turn
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        );
        if let Some(values) = params.as_one_event(&listen_key) {
            if let Some(attempt) = self.try_append_one(&values, in_doubt).await? {
                return Ok(attempt);
            }
        }
        let sql = &self.inner.sql.append;
        retrying!(self, |client| {
            let statement = client.prepare_cached(sql).await?;
            let values = params.as_params();
            let answer = client.query_one(&statement, &values);
            match self.committed(in_doubt, answer).await? {
                Ok(row) => Ok(Attempt::Written(row.try_get(0)?)),
                Err(error) => match error.code().map(SqlState::code).and_then(attempt_after) {
                    Some(attempt) => Ok(attempt),
                    None => Err(Failure::from(error)),
                },
            }
        })
    }

    /// One attempt with `Sql::append_one`; `None` when it wrote nothing
    /// (the stream not at the expected version, or the floor's lock busy).
    async fn try_append_one(
        &self,
        values: &[&(dyn ToSql + Sync); 13],
        in_doubt: &mut bool,
    ) -> Result<Option<Attempt>, StoreError> {
        let sql = &self.inner.sql.append_one;
        retrying!(self, |client| {
            let statement = client.prepare_cached(sql).await?;
            let answer = client.query_opt(&statement, values);
            match self.committed(in_doubt, answer).await? {
                Ok(Some(row)) => Ok(Some(Attempt::Written(row.try_get(0)?))),
                Ok(None) => Ok(None),
                Err(error) => match error.code().map(SqlState::code).and_then(attempt_after) {
                    Some(attempt) => Ok(Some(attempt)),
                    None => Err(Failure::from(error)),
                },
            }
        })
    }

    /// Reads every stream of the request (and the tracking record) in one
    /// snapshot and decides as every store does; when `in_doubt` (an
    /// attempt's outcome may have been lost), from a read the synchronous
    /// standby confirms (`failover`).
    async fn decide_again(
        &self,
        request: &AppendRequest,
        tracking: Option<&Tracking>,
        in_doubt: bool,
    ) -> Result<Decision, StoreError> {
        let streams: Vec<Uuid> = request.streams.iter().map(|s| s.stream_id).collect();
        let low: Vec<i64> = request
            .streams
            .iter()
            .map(|s| to_db(s.expected_version))
            .collect();
        let high: Vec<i64> = request
            .streams
            .iter()
            .map(|s| to_db(s.expected_version + s.events.len() as u64))
            .collect();
        let consumer = tracking.map(|t| t.consumer.as_str());
        let sql = &self.inner.sql.state;
        let params: [&(dyn ToSql + Sync); 4] = [&streams, &low, &high, &consumer];
        let rows = if in_doubt {
            self.query_durable(None, sql, &params).await?
        } else {
            self.query_cached(sql, &params).await?
        };

        let mut actual: Vec<(Uuid, i64)> = Vec::new();
        let mut stored: Vec<(Uuid, i64, Uuid, i64)> = Vec::new();
        let mut tracked = 0i64;
        for row in &rows {
            let kind: i32 = row.try_get(0).map_err(|e| backend(BACKEND, e))?;
            let version: i64 = row.try_get(2).map_err(|e| backend(BACKEND, e))?;
            match kind {
                0 => actual.push((row.try_get(1).map_err(|e| backend(BACKEND, e))?, version)),
                1 => stored.push((
                    row.try_get(1).map_err(|e| backend(BACKEND, e))?,
                    version,
                    row.try_get(3).map_err(|e| backend(BACKEND, e))?,
                    row.try_get(4).map_err(|e| backend(BACKEND, e))?,
                )),
                _ => tracked = version,
            }
        }
        stored.sort_unstable_by_key(|&(stream, version, _, _)| (stream, version));
        let decision = decide(
            request,
            tracking,
            |append| {
                let version = actual
                    .iter()
                    .find(|(stream, _)| *stream == append.stream_id)
                    .map_or(0, |&(_, version)| version);
                stream_version_from_db(version, append.stream_id)
            },
            |append| {
                Ok(stored
                    .iter()
                    .filter(|(stream, ..)| *stream == append.stream_id)
                    .map(|&(_, _, id, _)| id)
                    .collect())
            },
            |consumer| tracked_from_db(BACKEND, tracked, consumer),
        )?;
        if decision == StreamCheck::Fresh {
            return Ok(Decision::TryAgain);
        }
        let mut last_position = None;
        for append in &request.streams {
            let last = to_db(append.expected_version + append.events.len() as u64);
            let position = stored
                .iter()
                .find(|&&(stream, version, ..)| stream == append.stream_id && version == last)
                .map(|&(.., position)| position)
                .ok_or_else(|| {
                    backend(BACKEND, "stored events vanished during an idempotent retry")
                })?;
            let position = position_from_db(position, append.stream_id, last as u64)?;
            last_position = last_position.max(Some(position));
        }
        Ok(Decision::Done(AppendOutcome {
            last_position,
            written: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Metadata;
    use crate::store::NewEvent;
    use crate::timestamp::Timestamp;

    fn event(payload: &[u8]) -> NewEvent {
        NewEvent {
            event_id: Uuid::new_v4(),
            aggregate_type: "Thing".into(),
            event_type: "Happened".into(),
            schema_version: 2,
            timestamp: Timestamp::from_unix_micros(0),
            metadata: Metadata::new().with("user", "ann"),
            payload: payload.to_vec(),
            chain_hash: None,
        }
    }

    #[test]
    fn parameters_are_one_array_element_per_stream_or_event() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let request = AppendRequest::new(vec![
            crate::store::StreamAppend {
                stream_id: a,
                expected_version: 3,
                events: vec![event(b"{}"), event(b"\x00")],
            },
            crate::store::StreamAppend {
                stream_id: b,
                expected_version: 0,
                events: vec![event(b"[1]")],
            },
        ]);
        let tracking = Tracking::new("process", 42);
        let mut params = AppendParams::new(&request, Some(&tracking), true).unwrap();
        assert_eq!(params.streams, [a, b]);
        assert_eq!(params.expected, [3, 0]);
        assert_eq!(params.event_streams, [a, a, b]);
        assert_eq!(params.versions, [4, 5, 1]);
        assert_eq!(params.types, ["Happened"; 3]);
        assert_eq!(params.schema_versions, [2; 3]);
        assert_eq!(
            params.metadata,
            vec![Some(r#"{"extra":{"user":"ann"}}"#.to_owned()); 3]
        );
        assert_eq!(params.json, [Some("{}"), None, Some("[1]")]);
        assert_eq!(params.bytes, [None, Some(&b"\x00"[..]), None]);
        assert_eq!(
            (params.consumer, params.position),
            (Some("process"), Some(42))
        );
        params.all_bytes(&request);
        assert_eq!(params.json, [None; 3]);
        assert_eq!(
            params.bytes,
            [Some(&b"{}"[..]), Some(&b"\x00"[..]), Some(&b"[1]"[..])]
        );
        assert_eq!(params.aggregates, ["Thing"; 3]);
        assert_eq!(params.chain, [None; 3]);
        assert_eq!(params.as_params().len(), 15);
    }

    #[test]
    fn appends_together_are_side_by_side_with_one_tracking_element_each() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let two = AppendRequest::new(vec![crate::store::StreamAppend {
            stream_id: a,
            expected_version: 1,
            events: vec![event(b"{}"), event(b"{}")],
        }]);
        let tracked_only = AppendRequest::new(Vec::new());
        let tracking = Tracking::new("process", 7);
        let one_each = AppendRequest::new(vec![
            crate::store::StreamAppend {
                stream_id: b,
                expected_version: 0,
                events: vec![event(b"{}")],
            },
            crate::store::StreamAppend {
                stream_id: c,
                expected_version: 4,
                events: vec![event(b"{}")],
            },
        ]);
        let together = TogetherParams::new([
            AppendParams::new(&two, None, true).unwrap(),
            AppendParams::new(&tracked_only, Some(&tracking), true).unwrap(),
            AppendParams::new(&one_each, None, true).unwrap(),
        ]);
        assert_eq!(together.appends.streams, [a, b, c]);
        assert_eq!(together.appends.expected, [1, 0, 4]);
        assert_eq!(together.appends.event_streams, [a, a, b, c]);
        assert_eq!(together.appends.versions, [2, 3, 1, 5]);
        assert_eq!(together.consumers, [None, Some("process"), None]);
        assert_eq!(together.positions, [None, Some(7), None]);
        assert!(together.tracked());
        assert_eq!(together.event_counts, [2, 0, 2]);
        assert_eq!(
            together.last_positions(&[10, 11, 14, 15]),
            Some(vec![Some(11), None, Some(15)])
        );
        assert_eq!(together.last_positions(&[10, 11, 14]), None);
        assert_eq!(together.as_params().len(), 15);
        let untracked = TogetherParams::new([
            AppendParams::new(&two, None, true).unwrap(),
            AppendParams::new(&one_each, None, true).unwrap(),
        ]);
        assert!(!untracked.tracked());
        assert_eq!(untracked.consumers, [None, None]);
    }

    #[test]
    fn error_codes_choose_the_next_step() {
        for code in ["CH001", "CH002", "23505", "40P01"] {
            assert!(
                matches!(attempt_after(code), Some(Attempt::NotFresh)),
                "{code}"
            );
        }
        for code in ["22P02", "22P05", "22021"] {
            assert!(
                matches!(attempt_after(code), Some(Attempt::NotJson)),
                "{code}"
            );
        }
        for code in ["42601", "08006", "CH003"] {
            assert!(attempt_after(code).is_none(), "{code}");
        }
    }
}
