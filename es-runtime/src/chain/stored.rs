//! Hash chains against a store: linking new events to the stored head, and
//! checking a stored stream page by page.

use uuid::Uuid;

use super::{link_new, ChainHash, ChainVerifier, StreamHead};
use crate::error::Error;
use crate::store::{StreamAppend, StreamQuery, StreamStore};

/// How many events a verification reads at a time.
const VERIFY_PAGE: usize = 1_000;

/// The hash of the event at `version` of `stream_id` (`None`: version 0,
/// no such event, or one stored unhashed).
async fn hash_at<S: StreamStore>(
    store: &S,
    stream_id: Uuid,
    version: u64,
) -> Result<Option<ChainHash>, Error> {
    if version == 0 {
        return Ok(None);
    }
    let query = StreamQuery::all().from_version(version).to_version(version);
    let events = store.read_stream(stream_id, query).await?;
    Ok(events.first().and_then(|event| event.chain_hash))
}

/// Links the events of each append to the head they are appended after.
/// One read per append to a stream that exists; the append's own version
/// check then refuses a head that moved in between.
pub(crate) async fn link_appends<S: StreamStore>(
    store: &S,
    appends: &mut [StreamAppend],
) -> Result<(), Error> {
    for append in appends {
        let previous = hash_at(store, append.stream_id, append.expected_version).await?;
        link_new(
            append.stream_id,
            append.expected_version,
            previous,
            &mut append.events,
        );
    }
    Ok(())
}

/// The last event of `stream_id` as a [`StreamHead`] (`None`: no events).
pub(crate) async fn read_head<S: StreamStore>(
    store: &S,
    stream_id: Uuid,
) -> Result<Option<StreamHead>, Error> {
    let last = store
        .read_stream(stream_id, StreamQuery::all().descending().limit(1))
        .await?;
    Ok(last.first().map(|event| StreamHead {
        stream_id,
        version: event.version,
        hash: event.chain_hash,
    }))
}

/// Checks every event of `stream_id` with `verifier`, a page at a time.
pub(crate) async fn verify_stored<S: StreamStore>(
    store: &S,
    stream_id: Uuid,
    mut verifier: ChainVerifier,
) -> Result<Option<StreamHead>, Error> {
    let mut query = StreamQuery::all().limit(VERIFY_PAGE);
    loop {
        let events = store.read_stream(stream_id, query).await?;
        for event in &events {
            verifier.check(event)?;
        }
        match events.last() {
            Some(last) if events.len() == VERIFY_PAGE => {
                query = query.from_version(last.version + 1);
            }
            _ => return Ok(verifier.finish()?),
        }
    }
}
