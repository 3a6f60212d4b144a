//! Appends: one `chronicle_append` call in the common case (the fast path,
//! committed with concurrent appends: see `group.rs`),
//! and when one of its checks fails or a concurrent writer wins, a second
//! look at what is stored, decided with the rules every store shares.

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::connection::{retrying, Failure, Hot};
use super::failover::settle_error;
use super::group::Request;
use super::rows::{split_payload, JsonColumn, PgTime};
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
        column: JsonColumn,
    ) -> Result<Self, StoreError> {
        let mut params = Self::with_capacity(request.streams.len(), request.event_count());
        params.consumer = tracking.map(|t| t.consumer.as_str());
        params.position = tracking.map(|t| to_db(t.position));
        params.push(request, column)?;
        Ok(params)
    }

    /// No streams yet, with room for `streams` streams and `events` events.
    fn with_capacity(streams: usize, events: usize) -> Self {
        AppendParams {
            streams: Vec::with_capacity(streams),
            expected: Vec::with_capacity(streams),
            event_streams: Vec::with_capacity(events),
            versions: Vec::with_capacity(events),
            event_ids: Vec::with_capacity(events),
            types: Vec::with_capacity(events),
            schema_versions: Vec::with_capacity(events),
            times: Vec::with_capacity(events),
            metadata: Vec::with_capacity(events),
            json: Vec::with_capacity(events),
            bytes: Vec::with_capacity(events),
            consumer: None,
            position: None,
            aggregates: Vec::with_capacity(events),
            chain: Vec::with_capacity(events),
        }
    }

    /// Adds the streams and events of `request` after those already here.
    fn push(&mut self, request: &'a AppendRequest, column: JsonColumn) -> Result<(), StoreError> {
        for append in &request.streams {
            self.streams.push(append.stream_id);
            self.expected.push(to_db(append.expected_version));
            for (event, version) in append.events.iter().zip(append.expected_version + 1..) {
                self.event_streams.push(append.stream_id);
                self.versions.push(to_db(version));
                self.event_ids.push(event.event_id);
                self.types.push(&event.event_type);
                self.aggregates.push(&event.aggregate_type);
                self.chain
                    .push(event.chain_hash.as_ref().map(|hash| &hash.as_bytes()[..]));
                self.schema_versions.push(i64::from(event.schema_version));
                self.times.push(PgTime(event.timestamp));
                self.metadata.push(metadata_to_json(&event.metadata)?);
                let (json, bytes) = split_payload(&event.payload, column);
                self.json.push(json);
                self.bytes.push(bytes);
            }
        }
        Ok(())
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

/// The parameters of `Sql::append_one`: one event appended to one stream
/// without a tracking record, as plain values (no array per column).
pub(super) struct OneEvent<'a> {
    stream: Uuid,
    version: i64,
    event_id: Uuid,
    event_type: &'a str,
    schema_version: i64,
    time: PgTime,
    metadata: Option<String>,
    json: Option<&'a str>,
    bytes: Option<&'a [u8]>,
    aggregate: &'a str,
    chain: Option<&'a [u8]>,
    expected: i64,
}

impl<'a> OneEvent<'a> {
    /// The one event of `request`, or `None` when it is not one event to
    /// one stream without a tracking record.
    pub(super) fn new(
        request: &'a AppendRequest,
        tracking: Option<&Tracking>,
        column: JsonColumn,
    ) -> Result<Option<Self>, StoreError> {
        let ([append], None) = (request.streams.as_slice(), tracking) else {
            return Ok(None);
        };
        let [event] = append.events.as_slice() else {
            return Ok(None);
        };
        let (json, bytes) = split_payload(&event.payload, column);
        Ok(Some(OneEvent {
            stream: append.stream_id,
            version: to_db(append.expected_version + 1),
            event_id: event.event_id,
            event_type: &event.event_type,
            schema_version: i64::from(event.schema_version),
            time: PgTime(event.timestamp),
            metadata: metadata_to_json(&event.metadata)?,
            json,
            bytes,
            aggregate: &event.aggregate_type,
            chain: event.chain_hash.as_ref().map(|hash| &hash.as_bytes()[..]),
            expected: to_db(append.expected_version),
        }))
    }

    /// The parameters of `Sql::append_one`, in order.
    /// `listen_key` is its listener-registry key (`Sql::listen_key`).
    pub(super) fn as_params<'s>(&'s self, listen_key: &'s i32) -> [&'s (dyn ToSql + Sync); 13] {
        [
            &self.stream,
            &self.version,
            &self.event_id,
            &self.event_type,
            &self.schema_version,
            &self.time,
            &self.metadata,
            &self.json,
            &self.bytes,
            &self.aggregate,
            &self.chain,
            &self.expected,
            listen_key,
        ]
    }
}

/// The appends of a group as the parameters of one statement (the
/// untracked statement, or a `chronicle_append_together` call): every
/// append's arrays one after the other, and the tracking records as arrays
/// too, one element per append.
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
    /// The parameters of `appends` (each a request, its tracking record and
    /// where its payloads go) side by side, each array made once at its
    /// full length.
    pub(super) fn new<I>(appends: I) -> Result<Self, StoreError>
    where
        I: Iterator<Item = (&'a AppendRequest, Option<&'a Tracking>, JsonColumn)> + Clone,
    {
        let (streams, events, count) =
            appends
                .clone()
                .fold((0, 0, 0), |(streams, events, count), (request, ..)| {
                    (
                        streams + request.streams.len(),
                        events + request.event_count(),
                        count + 1,
                    )
                });
        let mut together = TogetherParams {
            appends: AppendParams::with_capacity(streams, events),
            consumers: Vec::with_capacity(count),
            positions: Vec::with_capacity(count),
            event_counts: Vec::with_capacity(count),
        };
        for (request, tracking, column) in appends {
            together.appends.push(request, column)?;
            together.event_counts.push(request.event_count());
            together
                .consumers
                .push(tracking.map(|t| t.consumer.as_str()));
            together.positions.push(tracking.map(|t| to_db(t.position)));
        }
        Ok(together)
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

    /// Whether any append carries a tracking record: when none does, the
    /// group goes as the untracked statement, both tracking arrays NULL
    /// (which its gate requires).
    pub(super) fn tracked(&self) -> bool {
        self.consumers.iter().any(Option::is_some)
    }

    /// The parameters of `Sql::append_together` and of
    /// `Sql::append_untracked`, in order.
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
    /// `payloads` says which payloads may go into the `json` column
    /// (`Checked` or `Trusted`); after the server refused one as JSON,
    /// every payload goes as bytes.
    pub(super) async fn append_now(
        &self,
        request: AppendRequest,
        tracking: Option<Tracking>,
        payloads: JsonColumn,
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
        let mut request = Request::Owned(request);
        let mut column = payloads;
        // In a cluster, "not fresh" may stand for an attempt whose outcome
        // was lost (see `group`): decide from what the standby confirms.
        let settle = self.inner.cluster;
        for _ in 0..APPEND_ROUNDS {
            match self
                .attempt_in_group(&mut request, tracking.as_ref(), column)
                .await?
            {
                Attempt::Written(position) => {
                    return Ok(AppendOutcome {
                        last_position: position.and_then(|p| u64::try_from(p).ok()),
                        written: true,
                    })
                }
                Attempt::NotJson if column != JsonColumn::Unused => column = JsonColumn::Unused,
                Attempt::NotJson => {
                    return Err(backend(BACKEND, "the server refused the payloads as bytes"))
                }
                Attempt::NotFresh => match self
                    .decide_again(request.get(), tracking.as_ref(), settle)
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
        request: &AppendRequest,
        tracking: Option<&Tracking>,
        column: JsonColumn,
        in_doubt: &mut bool,
    ) -> Result<Attempt, StoreError> {
        if let Some(one) = OneEvent::new(request, tracking, column)? {
            let listen_key = self.inner.sql.listen_key(
                self.inner
                    .listen_turn
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            );
            if let Some(attempt) = self
                .try_append_one(&one.as_params(&listen_key), in_doubt)
                .await?
            {
                return Ok(attempt);
            }
        }
        let params = AppendParams::new(request, tracking, column)?;
        retrying!(self, |client| {
            let statement = self.prepare_hot(&client, Hot::Append).await?;
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
        retrying!(self, |client| {
            let statement = self.prepare_hot(&client, Hot::AppendOne).await?;
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
        let params = AppendParams::new(&request, Some(&tracking), JsonColumn::Checked).unwrap();
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
        assert_eq!(params.aggregates, ["Thing"; 3]);
        assert_eq!(params.chain, [None; 3]);
        assert_eq!(params.as_params().len(), 15);
        // A database that refused one as JSON: every payload as bytes.
        let params = AppendParams::new(&request, Some(&tracking), JsonColumn::Unused).unwrap();
        assert_eq!(params.json, [None; 3]);
        assert_eq!(
            params.bytes,
            [Some(&b"{}"[..]), Some(&b"\x00"[..]), Some(&b"[1]"[..])]
        );
    }

    #[test]
    fn one_event_to_one_stream_untracked_is_plain_values() {
        let stream = Uuid::new_v4();
        let one = |events: Vec<NewEvent>| {
            AppendRequest::new(vec![crate::store::StreamAppend {
                stream_id: stream,
                expected_version: 6,
                events,
            }])
        };
        let request = one(vec![event(b"[1]")]);
        let plain = OneEvent::new(&request, None, JsonColumn::Checked)
            .unwrap()
            .unwrap();
        let sent = &request.streams[0].events[0];
        assert_eq!(
            (plain.stream, plain.version, plain.expected),
            (stream, 7, 6)
        );
        assert_eq!(plain.event_id, sent.event_id);
        assert_eq!(
            (plain.event_type, plain.aggregate, plain.schema_version),
            ("Happened", "Thing", 2)
        );
        assert_eq!(
            plain.metadata.as_deref(),
            Some(r#"{"extra":{"user":"ann"}}"#)
        );
        assert_eq!((plain.json, plain.bytes), (Some("[1]"), None));
        assert_eq!(plain.chain, None);
        assert_eq!(plain.as_params(&0).len(), 13);
        let bytes = OneEvent::new(&request, None, JsonColumn::Unused)
            .unwrap()
            .unwrap();
        assert_eq!((bytes.json, bytes.bytes), (None, Some(&b"[1]"[..])));

        // Anything else goes to `chronicle_append`.
        let tracking = Tracking::new("process", 1);
        assert!(
            OneEvent::new(&request, Some(&tracking), JsonColumn::Checked)
                .unwrap()
                .is_none()
        );
        let two = one(vec![event(b"{}"), event(b"{}")]);
        assert!(OneEvent::new(&two, None, JsonColumn::Checked)
            .unwrap()
            .is_none());
        let mut streams = one(vec![event(b"{}")]);
        streams.streams.push(crate::store::StreamAppend {
            stream_id: Uuid::new_v4(),
            expected_version: 0,
            events: vec![event(b"{}")],
        });
        assert!(OneEvent::new(&streams, None, JsonColumn::Checked)
            .unwrap()
            .is_none());
        let none = AppendRequest::new(Vec::new());
        assert!(OneEvent::new(&none, None, JsonColumn::Checked)
            .unwrap()
            .is_none());
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
        let together = TogetherParams::new(
            [
                (&two, None, JsonColumn::Checked),
                (&tracked_only, Some(&tracking), JsonColumn::Checked),
                (&one_each, None, JsonColumn::Checked),
            ]
            .into_iter(),
        )
        .unwrap();
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
        let untracked = TogetherParams::new(
            [
                (&two, None, JsonColumn::Checked),
                (&one_each, None, JsonColumn::Unused),
            ]
            .into_iter(),
        )
        .unwrap();
        assert!(!untracked.tracked());
        assert_eq!(untracked.consumers, [None, None]);
        // Each append's payloads go where its own column says.
        assert_eq!(untracked.appends.json, [Some("{}"), Some("{}"), None, None]);
        assert_eq!(
            untracked.appends.bytes,
            [None, None, Some(&b"{}"[..]), Some(&b"{}"[..])]
        );
        assert_eq!(untracked.event_counts, [2, 2]);
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
