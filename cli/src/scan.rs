//! Reading the whole log, a page at a time.

use chronicle_es::prelude::LogStore;
use chronicle_es::store::{AnyStore, LogQuery, StoredEvent};

use crate::CliError;

/// How many events one read of the log returns.
pub const PAGE: usize = 1_000;

/// Calls `each` with every event of the log after `after`, in position
/// order, a page at a time; stops early when `each` returns false.
pub async fn each_event(
    store: &AnyStore,
    after: u64,
    mut each: impl FnMut(StoredEvent) -> Result<bool, CliError>,
) -> Result<(), CliError> {
    let mut after = after;
    loop {
        let page = store.read_log(LogQuery::after(after, PAGE)).await?;
        let full = page.len() == PAGE;
        for event in page {
            after = after.max(event.position);
            if !each(event)? {
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
    }
}
