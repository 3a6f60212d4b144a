//! Tracking records: `consumers` and `consumers reset`.

use std::io::{BufRead, Write};

use chronicle_es::prelude::{LogStore, TrackingStore};
use chronicle_es::store::{AnyStore, AppendRequest, Tracking};
use serde::Serialize;

use crate::table::{print, print_json};
use crate::{CliError, Outcome};

/// One consumer as listed.
#[derive(Debug, Serialize)]
struct ConsumerRow {
    consumer: String,
    position: u64,
    /// How many positions it is behind the end of the log.
    lag: u64,
}

/// Every tracking record with its lag behind the end of the log.
pub async fn list(store: &AnyStore, json: bool) -> Result<Outcome, CliError> {
    let end = store.last_position().await?;
    let rows: Vec<ConsumerRow> = store
        .consumers()
        .await?
        .into_iter()
        .map(|tracking| ConsumerRow {
            lag: end.saturating_sub(tracking.position),
            consumer: tracking.consumer,
            position: tracking.position,
        })
        .collect();
    if json {
        return print_json(&rows).map(|()| Outcome::Ok);
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.consumer.clone(),
                row.position.to_string(),
                row.lag.to_string(),
            ]
        })
        .collect();
    print(&["CONSUMER", "POSITION", "LAG"], &cells);
    Ok(Outcome::Ok)
}

/// Moves `name` back to `to` (0: forgets it, so it starts over), after
/// asking unless `yes`. Two steps (forget, then record `to`): interrupted
/// in between, the consumer starts over from the beginning.
pub async fn reset(store: &AnyStore, name: &str, to: u64, yes: bool) -> Result<Outcome, CliError> {
    let Some(current) = store
        .consumers()
        .await?
        .into_iter()
        .find(|tracking| tracking.consumer == name)
    else {
        return Err(CliError::new(format!("no consumer named `{name}`")));
    };
    let end = store.last_position().await?;
    if to > end {
        return Err(CliError::new(format!(
            "position {to} is past the end of the log ({end})"
        )));
    }
    if !yes && !confirm(&format!(
        "Reset consumer `{name}` from position {} to {to}? It will process the events after {to} again. [y/N] ",
        current.position
    ))? {
        eprintln!("chronicle: not reset");
        return Ok(Outcome::Problems);
    }
    store.reset_tracking(name).await?;
    if to > 0 {
        store
            .append_tracked(AppendRequest::default(), Tracking::new(name, to))
            .await?;
    }
    println!("consumer `{name}` reset from {} to {to}", current.position);
    Ok(Outcome::Ok)
}

/// Asks on stderr, reads the answer from stdin: yes only for `y` or `yes`.
fn confirm(question: &str) -> Result<bool, CliError> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
