//! Looking at a store: `streams`, `show`, `log`, `tail` and `stats`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chronicle_es::prelude::{LogStore, StreamQuery, StreamStore, TrackingStore};
use chronicle_es::store::{AnyStore, LogQuery, StoredEvent};
use chronicle_es::{Timestamp, Uuid};
use serde::Serialize;

use crate::envelope::Envelope;
use crate::scan::each_event;
use crate::table::{cut, print, print_json};
use crate::{CliError, Outcome};

/// How much of a payload a table shows.
const PAYLOAD_WIDTH: usize = 60;

/// One stream as `streams` lists it.
#[derive(Debug, Serialize)]
struct StreamRow {
    aggregate_type: Option<String>,
    stream_id: Uuid,
    version: u64,
    events: u64,
    last_modified: String,
}

/// Every stream, from one pass over the log.
pub async fn streams(
    store: &AnyStore,
    aggregate_type: Option<&str>,
    json: bool,
) -> Result<Outcome, CliError> {
    let mut found: HashMap<Uuid, StreamRow> = HashMap::new();
    each_event(store, 0, |event| {
        let row = found.entry(event.stream_id).or_insert_with(|| StreamRow {
            aggregate_type: None,
            stream_id: event.stream_id,
            version: 0,
            events: 0,
            last_modified: String::new(),
        });
        row.events += 1;
        if event.version >= row.version {
            row.version = event.version;
            row.last_modified = event.timestamp.to_string();
        }
        if event.aggregate_type.is_some() {
            row.aggregate_type = event.aggregate_type;
        }
        Ok(true)
    })
    .await?;
    let mut rows: Vec<StreamRow> = found
        .into_values()
        .filter(|row| {
            aggregate_type.is_none_or(|wanted| row.aggregate_type.as_deref() == Some(wanted))
        })
        .collect();
    rows.sort_by(|a, b| (&a.aggregate_type, a.stream_id).cmp(&(&b.aggregate_type, b.stream_id)));
    if json {
        return print_json(&rows).map(|()| Outcome::Ok);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.aggregate_type.clone().unwrap_or_else(|| "-".into()),
                row.stream_id.to_string(),
                row.version.to_string(),
                row.last_modified.clone(),
            ]
        })
        .collect();
    print(&["TYPE", "STREAM", "VERSION", "LAST MODIFIED"], &cells);
    Ok(Outcome::Ok)
}

/// Parses a stream id given on the command line.
pub fn stream_id(text: &str) -> Result<Uuid, CliError> {
    text.parse()
        .map_err(|_| CliError::new(format!("`{text}` is not a stream id (a UUID)")))
}

/// Prints events as a table, or as JSON Lines.
fn print_events(events: &[StoredEvent], json: bool) -> Result<(), CliError> {
    if json {
        return events
            .iter()
            .try_for_each(|event| print_json(&Envelope::of(event)));
    }
    let rows: Vec<Vec<String>> = events.iter().map(event_row).collect();
    print(
        &[
            "POSITION",
            "STREAM",
            "VERSION",
            "TYPE",
            "TIMESTAMP",
            "PAYLOAD",
        ],
        &rows,
    );
    Ok(())
}

fn event_row(event: &StoredEvent) -> Vec<String> {
    vec![
        event.position.to_string(),
        event.stream_id.to_string(),
        event.version.to_string(),
        event.event_type.clone(),
        event.timestamp.to_string(),
        cut(&Envelope::of(event).payload_summary(), PAYLOAD_WIDTH),
    ]
}

/// The events of one stream, up to `at`.
pub async fn show(
    store: &AnyStore,
    stream: &str,
    at: Option<u64>,
    json: bool,
) -> Result<Outcome, CliError> {
    let id = stream_id(stream)?;
    let query = match at {
        Some(version) => StreamQuery::all().to_version(version),
        None => StreamQuery::all(),
    };
    let events = store.read_stream(id, query).await?;
    if events.is_empty() {
        return Err(CliError::new(format!("stream {id} has no events")));
    }
    if let Some(version) = at.filter(|&at| events.last().is_some_and(|e| e.version < at)) {
        let last = events.last().map_or(0, |e| e.version);
        return Err(CliError::new(format!(
            "stream {id} has no version {version}: its latest is {last}"
        )));
    }
    print_events(&events, json)?;
    Ok(Outcome::Ok)
}

/// A page of the log.
pub async fn log(
    store: &AnyStore,
    after: u64,
    limit: usize,
    json: bool,
) -> Result<Outcome, CliError> {
    let events = store.read_log(LogQuery::after(after, limit)).await?;
    print_events(&events, json)?;
    Ok(Outcome::Ok)
}

/// Follows the log: prints events as they arrive, until `count` or Ctrl-C.
pub async fn tail(
    store: &AnyStore,
    after: Option<u64>,
    count: Option<u64>,
    json: bool,
) -> Result<Outcome, CliError> {
    let mut after = match after {
        Some(after) => after,
        None => store.last_position().await?,
    };
    let mut left = count.unwrap_or(u64::MAX);
    while left > 0 {
        let limit = usize::try_from(left.min(1_000)).unwrap_or(1_000);
        let events = store.read_log(LogQuery::after(after, limit)).await?;
        for event in &events {
            if json {
                print_json(&Envelope::of(event))?;
            } else {
                println!("{}", event_row(event).join("  "));
            }
            after = after.max(event.position);
            left -= 1;
        }
        if events.is_empty() {
            store.wait_for_events(after, Duration::from_secs(1)).await;
        }
    }
    Ok(Outcome::Ok)
}

/// What `stats` reports.
#[derive(Debug, Default, Serialize)]
struct Stats {
    events: u64,
    streams: u64,
    payload_bytes: u64,
    last_position: u64,
    oldest: Option<String>,
    newest: Option<String>,
    events_by_aggregate_type: BTreeMap<String, u64>,
    consumers: u64,
}

/// Counts, sizes, oldest and newest, from one pass over the log.
pub async fn stats(store: &AnyStore, json: bool) -> Result<Outcome, CliError> {
    let mut stats = Stats::default();
    let mut streams = std::collections::HashSet::new();
    let (mut oldest, mut newest): (Option<Timestamp>, Option<Timestamp>) = (None, None);
    each_event(store, 0, |event| {
        stats.events += 1;
        stats.payload_bytes += event.payload.len() as u64;
        streams.insert(event.stream_id);
        oldest = Some(oldest.map_or(event.timestamp, |t| t.min(event.timestamp)));
        newest = Some(newest.map_or(event.timestamp, |t| t.max(event.timestamp)));
        let kind = event.aggregate_type.unwrap_or_else(|| "-".into());
        *stats.events_by_aggregate_type.entry(kind).or_default() += 1;
        Ok(true)
    })
    .await?;
    stats.streams = streams.len() as u64;
    stats.last_position = store.last_position().await?;
    stats.oldest = oldest.map(|t| t.to_string());
    stats.newest = newest.map(|t| t.to_string());
    stats.consumers = store.consumers().await?.len() as u64;
    if json {
        return print_json(&stats).map(|()| Outcome::Ok);
    }
    let none = || "-".to_owned();
    let mut rows = vec![
        vec!["events".into(), stats.events.to_string()],
        vec!["streams".into(), stats.streams.to_string()],
        vec!["payload bytes".into(), stats.payload_bytes.to_string()],
        vec!["last position".into(), stats.last_position.to_string()],
        vec!["oldest".into(), stats.oldest.clone().unwrap_or_else(none)],
        vec!["newest".into(), stats.newest.clone().unwrap_or_else(none)],
        vec!["consumers".into(), stats.consumers.to_string()],
    ];
    for (kind, count) in &stats.events_by_aggregate_type {
        rows.push(vec![format!("events of {kind}"), count.to_string()]);
    }
    print(&["WHAT", "VALUE"], &rows);
    Ok(Outcome::Ok)
}
