//! `verify` and `heads`: every stream's versions and hash chain, and the
//! log's order, in one pass over the log.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chronicle_es::chain::{ChainBreak, ChainVerifier, StreamHead};
use chronicle_es::store::AnyStore;
use chronicle_es::Uuid;
use serde::Serialize;

use crate::scan::each_event;
use crate::table::print_json;
use crate::{CliError, Outcome};

/// One thing found wrong.
#[derive(Debug, Serialize)]
struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
    problem: String,
}

impl From<ChainBreak> for Problem {
    fn from(broken: ChainBreak) -> Self {
        Problem {
            stream_id: Some(broken.stream_id),
            version: Some(broken.version),
            position: None,
            problem: broken.fault.to_string(),
        }
    }
}

/// What `verify --json` prints.
#[derive(Debug, Serialize)]
struct Report {
    streams: usize,
    events: u64,
    problems: Vec<Problem>,
}

/// Checks the log (positions strictly increasing) and every stream
/// (versions contiguous from 1, hash chains where events carry them, and
/// the heads in `heads_file` still there). Exit status 1 on any problem.
pub async fn verify(
    store: &AnyStore,
    heads_file: Option<&Path>,
    json: bool,
) -> Result<Outcome, CliError> {
    let mut anchors = match heads_file {
        Some(path) => read_heads(path)?,
        None => HashMap::new(),
    };
    // A stream's verifier, until its first problem.
    let mut streams: BTreeMap<Uuid, Option<ChainVerifier>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut last_position = 0;
    let mut events = 0;
    each_event(store, 0, |event| {
        events += 1;
        if event.position <= last_position {
            problems.push(Problem {
                stream_id: Some(event.stream_id),
                version: Some(event.version),
                position: Some(event.position),
                problem: format!(
                    "log position {} follows position {last_position}: positions must increase",
                    event.position
                ),
            });
        }
        last_position = last_position.max(event.position);
        let verifier = streams.entry(event.stream_id).or_insert_with(|| {
            let verifier = ChainVerifier::new(event.stream_id);
            Some(match anchors.remove(&event.stream_id) {
                Some(head) => verifier.anchored(head),
                None => verifier,
            })
        });
        if let Some(checking) = verifier {
            if let Err(broken) = checking.check(&event) {
                problems.push(broken.into());
                *verifier = None;
            }
        }
        Ok(true)
    })
    .await?;
    let count = streams.len();
    for verifier in streams.into_values().flatten() {
        if let Err(broken) = verifier.finish() {
            problems.push(broken.into());
        }
    }
    // Heads kept for streams the log no longer has at all.
    for head in anchors.into_values() {
        problems.push(Problem {
            stream_id: Some(head.stream_id),
            version: Some(head.version),
            position: None,
            problem:
                "the stream has no events, but a head was kept for it (the stream was removed)"
                    .into(),
        });
    }
    let outcome = if problems.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    };
    if json {
        print_json(&Report {
            streams: count,
            events,
            problems,
        })?;
        return Ok(outcome);
    }
    for problem in &problems {
        let mut place = Vec::new();
        if let Some(stream) = problem.stream_id {
            place.push(format!("stream {stream}"));
        }
        if let Some(version) = problem.version {
            place.push(format!("version {version}"));
        }
        println!("{}: {}", place.join(" "), problem.problem);
    }
    match problems.len() {
        0 => println!("ok: {count} streams, {events} events"),
        n => println!("{n} problem(s) in {count} streams, {events} events"),
    }
    Ok(outcome)
}

/// Heads kept earlier: JSON Lines of `{"stream_id", "version", "hash"}`.
fn read_heads(path: &Path) -> Result<HashMap<Uuid, StreamHead>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| CliError::new(format!("cannot read {}: {error}", path.display())))?;
    let mut heads = HashMap::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let head: StreamHead = serde_json::from_str(line).map_err(|error| {
            CliError::new(format!("{} line {}: {error}", path.display(), index + 1))
        })?;
        heads.insert(head.stream_id, head);
    }
    Ok(heads)
}

/// Prints every stream's head as JSON Lines, by stream id.
pub async fn heads(store: &AnyStore) -> Result<Outcome, CliError> {
    let mut heads: BTreeMap<Uuid, StreamHead> = BTreeMap::new();
    each_event(store, 0, |event| {
        let head = StreamHead {
            stream_id: event.stream_id,
            version: event.version,
            hash: event.chain_hash,
        };
        heads
            .entry(event.stream_id)
            .and_modify(|kept| {
                if head.version > kept.version {
                    *kept = head;
                }
            })
            .or_insert(head);
        Ok(true)
    })
    .await?;
    heads.values().try_for_each(print_json)?;
    Ok(Outcome::Ok)
}
