//! Moving events: `export` (JSON Lines), `import`, and `copy` to another
//! store, resumable.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use chronicle_es::prelude::{LogStore, StreamStore, TrackingStore};
use chronicle_es::store::{AnyStore, AppendRequest, NewEvent, StoredEvent, StreamAppend, Tracking};
use chronicle_es::Uuid;
use indicatif::ProgressBar;
use serde::Serialize;

use crate::envelope::Envelope;
use crate::scan::{each_event, PAGE};
use crate::table::print_json;
use crate::{CliError, Outcome};

/// The tracking record `copy` keeps in the target: the source position it
/// has copied up to, committed with each batch.
pub const COPY_CONSUMER: &str = "chronicle-copy";

/// Writes every event as one JSON envelope per line.
pub async fn export(store: &AnyStore, output: Option<&Path>) -> Result<Outcome, CliError> {
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|error| {
            CliError::new(format!("cannot create {}: {error}", path.display()))
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut count = 0u64;
    each_event(store, 0, |event| {
        serde_json::to_writer(&mut out, &Envelope::of(&event))?;
        out.write_all(b"\n")?;
        count += 1;
        Ok(true)
    })
    .await?;
    out.flush()?;
    eprintln!("chronicle: exported {count} events");
    Ok(Outcome::Ok)
}

/// Consecutive events of one stream, to append together.
struct Run {
    append: StreamAppend,
}

impl Run {
    /// True when an event of `stream_id` at `version` continues this run.
    fn follows(&self, stream_id: Uuid, version: u64) -> bool {
        let next = self.append.expected_version + self.append.events.len() as u64 + 1;
        stream_id == self.append.stream_id && version == next
    }

    fn start(stream_id: Uuid, version: u64, event: NewEvent) -> Result<Run, CliError> {
        let expected_version = version.checked_sub(1).ok_or_else(|| {
            CliError::new(format!("stream {stream_id} has an event at version 0"))
        })?;
        Ok(Run {
            append: StreamAppend {
                stream_id,
                expected_version,
                events: vec![event],
            },
        })
    }
}

/// What `import` and `copy` report.
#[derive(Debug, Default, Serialize)]
struct Moved {
    /// Events written now.
    written: u64,
    /// Events found already stored (a repeated import).
    already_there: u64,
}

/// Appends the events of an export, each run of one stream's consecutive
/// events atomically; events already stored (same ids) are skipped.
pub async fn import(
    store: &AnyStore,
    input: Option<&Path>,
    json: bool,
) -> Result<Outcome, CliError> {
    let reader: Box<dyn BufRead> = match input {
        Some(path) => Box::new(BufReader::new(File::open(path).map_err(|error| {
            CliError::new(format!("cannot open {}: {error}", path.display()))
        })?)),
        None => Box::new(BufReader::new(std::io::stdin().lock())),
    };
    let mut moved = Moved::default();
    let mut run: Option<(usize, Run)> = None;
    for (index, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let at = |error: CliError| CliError::new(format!("line {}: {error}", index + 1));
        let envelope: Envelope =
            serde_json::from_str(&line).map_err(|error| at(CliError::from(error)))?;
        let event = envelope.to_new_event().map_err(at)?;
        let (stream, version) = (envelope.stream_id, envelope.version);
        match &mut run {
            Some((_, current))
                if current.append.events.len() < PAGE && current.follows(stream, version) =>
            {
                current.append.events.push(event);
            }
            _ => {
                if let Some((first_line, full)) = run.take() {
                    append(store, full, &mut moved, first_line).await?;
                }
                run = Some((index + 1, Run::start(stream, version, event).map_err(at)?));
            }
        }
    }
    if let Some((first_line, full)) = run {
        append(store, full, &mut moved, first_line).await?;
    }
    report(&moved, json)?;
    Ok(Outcome::Ok)
}

async fn append(
    store: &AnyStore,
    run: Run,
    moved: &mut Moved,
    line: usize,
) -> Result<(), CliError> {
    let count = run.append.events.len() as u64;
    let outcome = store
        .append(AppendRequest::new(vec![run.append]))
        .await
        .map_err(|error| CliError::new(format!("line {line}: {}", CliError::from(error))))?;
    if outcome.written {
        moved.written += count;
    } else {
        moved.already_there += count;
    }
    Ok(())
}

fn report(moved: &Moved, json: bool) -> Result<(), CliError> {
    if json {
        return print_json(moved);
    }
    println!(
        "imported {} events ({} already there)",
        moved.written, moved.already_there
    );
    Ok(())
}

/// The events of a batch as appends, one per stream in order of first
/// appearance; a stream whose versions do not follow on is refused (the
/// target would number them anew).
fn batch_request(events: Vec<StoredEvent>) -> Result<AppendRequest, CliError> {
    let mut runs: Vec<Run> = Vec::new();
    for event in events {
        let (stream, version) = (event.stream_id, event.version);
        let new = NewEvent::from(event);
        match runs.iter_mut().find(|run| run.append.stream_id == stream) {
            Some(run) if run.follows(stream, version) => run.append.events.push(new),
            Some(_) => {
                return Err(CliError::new(format!(
                    "source stream {stream} does not follow on at version {version}: run `chronicle verify` on it"
                )))
            }
            None => runs.push(Run::start(stream, version, new)?),
        }
    }
    Ok(AppendRequest::new(
        runs.into_iter().map(|run| run.append).collect(),
    ))
}

/// What `copy --json` prints.
#[derive(Debug, Serialize)]
struct Copied {
    /// Events copied by this run.
    copied: u64,
    /// Whether the whole source is in the target now (counts verified).
    complete: bool,
    /// Events and streams in the source and the target, when complete.
    events: u64,
    streams: u64,
}

/// Copies every event of `source` into `target`, `batch` events per atomic
/// append, each with the source position reached (the tracking record
/// [`COPY_CONSUMER`] in the target): a copy that was interrupted, or
/// stopped with `stop_after`, resumes there. At the end, the events and
/// streams of both stores are counted and must match.
pub async fn copy(
    source: &AnyStore,
    target: &AnyStore,
    batch: usize,
    stop_after: Option<u64>,
    json: bool,
) -> Result<Outcome, CliError> {
    let batch = batch.clamp(1, PAGE);
    let mut after = target.tracked_position(COPY_CONSUMER).await?;
    let end = source.last_position().await?;
    let progress = ProgressBar::new(end);
    progress.set_position(after.min(end));
    let mut left = stop_after.unwrap_or(u64::MAX);
    let mut copied = 0u64;
    let complete = loop {
        let limit = usize::try_from(left.min(batch as u64)).unwrap_or(batch);
        if limit == 0 {
            break false;
        }
        let events = source
            .read_log(chronicle_es::store::LogQuery::after(after, limit))
            .await?;
        let Some(last) = events.last().map(|event| event.position) else {
            break true;
        };
        let count = events.len() as u64;
        target
            .append_tracked(batch_request(events)?, Tracking::new(COPY_CONSUMER, last))
            .await?;
        (after, copied, left) = (last, copied + count, left - count);
        progress.set_position(after.min(end));
    };
    progress.finish_and_clear();
    let (mut events, mut streams) = (0, 0);
    if complete {
        let (source_events, source_streams) = count(source).await?;
        let (target_events, target_streams) = count(target).await?;
        if (source_events, source_streams) != (target_events, target_streams) {
            return Err(CliError::new(format!(
                "counts differ after the copy: the source has {source_events} events in {source_streams} streams, the target {target_events} in {target_streams} (was the target empty?)"
            )));
        }
        (events, streams) = (source_events, source_streams);
    }
    if json {
        print_json(&Copied {
            copied,
            complete,
            events,
            streams,
        })?;
    } else if complete {
        println!("copied {copied} events; the target holds all {events} events in {streams} streams (counts verified)");
    } else {
        println!("copied {copied} events up to source position {after}; run the same command again to resume");
    }
    Ok(Outcome::Ok)
}

/// Events and streams in the log of `store`.
async fn count(store: &AnyStore) -> Result<(u64, u64), CliError> {
    let mut events = 0;
    let mut streams = HashSet::new();
    each_event(store, 0, |event| {
        events += 1;
        streams.insert(event.stream_id);
        Ok(true)
    })
    .await?;
    Ok((events, streams.len() as u64))
}
