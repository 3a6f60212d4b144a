//! Rebuilding aggregates from stored events.

use crate::aggregate::{Aggregate, ApplyError};
use crate::codec::Codec;
use crate::error::Error;
use crate::event::EventHeader;
use crate::record::StoredEvent;

/// Folds stored events, oldest first, into an aggregate. `None` when there are
/// no events. Checks that versions start at 1 and are consecutive.
pub fn replay<A: Aggregate, C: Codec>(
    codec: &C,
    records: impl IntoIterator<Item = StoredEvent>,
) -> Result<Option<A>, Error> {
    fold(None, codec, records)
}

/// Folds stored events, oldest first, onto `aggregate` (or from nothing when
/// `None`). Each event's version must be the next one.
pub fn fold<A: Aggregate, C: Codec>(
    mut aggregate: Option<A>,
    codec: &C,
    records: impl IntoIterator<Item = StoredEvent>,
) -> Result<Option<A>, Error> {
    for record in records {
        let event = record.decode_event::<A::Event, C>(codec)?;
        let header = EventHeader {
            stream_id: record.stream_id,
            version: record.version,
            timestamp: record.timestamp,
        };
        let replay_error = |source| Error::Replay {
            aggregate: A::TYPE_NAME,
            stream_id: record.stream_id,
            version: record.version,
            source,
        };
        let expected = aggregate.as_ref().map_or(1, |a| a.meta().version() + 1);
        if record.version != expected {
            return Err(replay_error(ApplyError::VersionGap {
                expected,
                found: record.version,
            }));
        }
        match &mut aggregate {
            None => aggregate = Some(A::create(&header, event).map_err(replay_error)?),
            Some(existing) => {
                existing.mutate(event).map_err(replay_error)?;
                existing.meta_mut().advance(&header);
            }
        }
    }
    Ok(aggregate)
}
