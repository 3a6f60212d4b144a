//! The rules every store applies to an append, written once: what a valid
//! request is, when a stream is fresh, when an append is an idempotent retry
//! and when it is a conflict, and when a tracking record may be written.
//!
//! The stores differ in how they read what is stored (under a lock, in a
//! transaction, in one snapshot), not in what they decide from it.

use uuid::Uuid;

use super::error::StoreError;
use super::request::{AppendRequest, StreamAppend, Tracking};

/// Checks a request for mistakes no store should accept: a stream named twice,
/// or a stream with no events.
pub(crate) fn validate_request(request: &AppendRequest) -> Result<(), StoreError> {
    for (index, stream) in request.streams.iter().enumerate() {
        if stream.events.is_empty() {
            return Err(StoreError::InvalidRequest(format!(
                "stream {} has no events to append",
                stream.stream_id
            )));
        }
        if request.streams[..index]
            .iter()
            .any(|earlier| earlier.stream_id == stream.stream_id)
        {
            return Err(StoreError::InvalidRequest(format!(
                "stream {} appears twice in one request",
                stream.stream_id
            )));
        }
    }
    Ok(())
}

/// How one stream of a request relates to what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamCheck {
    /// The stream is at the expected version: append.
    Fresh,
    /// Every event is already stored at its version with the same id: skip.
    AlreadyStored,
}

/// Decides whether `append` may go ahead on a stream at `actual` version.
///
/// `stored_ids` yields the ids stored at versions `expected_version + 1`
/// onwards (as many as the store holds, up to the batch's length); it is only
/// consulted when the stream is ahead of the expected version.
pub(crate) fn check_stream<I>(
    append: &StreamAppend,
    actual: u64,
    stored_ids: impl FnOnce() -> Result<I, StoreError>,
) -> Result<StreamCheck, StoreError>
where
    I: IntoIterator<Item = Uuid>,
{
    let conflict = || StoreError::Conflict {
        stream_id: append.stream_id,
        expected: append.expected_version,
        actual,
    };
    if actual == append.expected_version {
        return Ok(StreamCheck::Fresh);
    }
    let batch_end = append.expected_version + append.events.len() as u64;
    if actual < append.expected_version || actual < batch_end {
        return Err(conflict());
    }
    let mut stored = stored_ids()?.into_iter();
    let identical = append
        .events
        .iter()
        .all(|event| stored.next() == Some(event.event_id));
    if identical {
        Ok(StreamCheck::AlreadyStored)
    } else {
        Err(conflict())
    }
}

/// Combines per-stream checks: all fresh appends, or all already stored (an
/// idempotent retry). A mixture is a conflict on the first stored stream.
pub(crate) fn combine_checks(
    request: &AppendRequest,
    checks: &[(StreamCheck, u64)],
) -> Result<StreamCheck, StoreError> {
    let first_stored = checks
        .iter()
        .position(|(check, _)| *check == StreamCheck::AlreadyStored);
    let Some(index) = first_stored else {
        return Ok(StreamCheck::Fresh);
    };
    if checks
        .iter()
        .all(|(check, _)| *check == StreamCheck::AlreadyStored)
    {
        return Ok(StreamCheck::AlreadyStored);
    }
    Err(StoreError::Conflict {
        stream_id: request.streams[index].stream_id,
        expected: request.streams[index].expected_version,
        actual: checks[index].1,
    })
}

/// Refuses a tracking record that would not move its consumer forward from
/// `current` or, with `after`, that does not continue from exactly there.
pub(crate) fn check_tracking(
    tracking: &Tracking,
    current: u64,
    after: Option<u64>,
) -> Result<(), StoreError> {
    let continues = after.is_none_or(|after| after == current);
    if !continues || tracking.position <= current {
        return Err(StoreError::TrackingConflict {
            consumer: tracking.consumer.clone(),
            current,
            attempted: tracking.position,
        });
    }
    Ok(())
}

/// The whole append decision, over what a store reads inside its
/// transaction (or from one snapshot): every stream's check, then the
/// tracking record, then the combination.
///
/// `actual` gives a stream's current version, `stored_ids` the ids stored at
/// versions `expected_version + 1` onwards (up to the batch's length) and
/// `tracked` a consumer's tracked position (0 when none).
pub(crate) fn decide(
    request: &AppendRequest,
    tracking: Option<&Tracking>,
    mut actual: impl FnMut(&StreamAppend) -> Result<u64, StoreError>,
    mut stored_ids: impl FnMut(&StreamAppend) -> Result<Vec<Uuid>, StoreError>,
    tracked: impl FnOnce(&str) -> Result<u64, StoreError>,
) -> Result<StreamCheck, StoreError> {
    let mut checks = Vec::with_capacity(request.streams.len());
    for append in &request.streams {
        let version = actual(append)?;
        let check = check_stream(append, version, || stored_ids(append))?;
        checks.push((check, version));
    }
    if let Some(tracking) = tracking {
        check_tracking(tracking, tracked(&tracking.consumer)?, None)?;
    }
    combine_checks(request, &checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewEvent;

    fn append(expected_version: u64, count: usize) -> StreamAppend {
        StreamAppend {
            stream_id: Uuid::new_v4(),
            expected_version,
            events: (0..count).map(|_| NewEvent::happened()).collect(),
        }
    }

    fn ids(append: &StreamAppend) -> Vec<Uuid> {
        append.events.iter().map(|event| event.event_id).collect()
    }

    fn conflict(result: Result<StreamCheck, StoreError>) -> (Uuid, u64, u64) {
        match result {
            Err(StoreError::Conflict {
                stream_id,
                expected,
                actual,
            }) => (stream_id, expected, actual),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    fn never() -> Result<Vec<Uuid>, StoreError> {
        panic!("stored ids consulted for a stream that is not ahead")
    }

    #[test]
    fn a_stream_at_the_expected_version_is_fresh() {
        let batch = append(3, 2);
        assert_eq!(check_stream(&batch, 3, never).unwrap(), StreamCheck::Fresh);
        let new = append(0, 1);
        assert_eq!(check_stream(&new, 0, never).unwrap(), StreamCheck::Fresh);
    }

    #[test]
    fn a_stream_behind_or_partly_ahead_conflicts() {
        let batch = append(3, 2);
        assert_eq!(
            conflict(check_stream(&batch, 2, never)),
            (batch.stream_id, 3, 2)
        );
        // Ahead, but not past the batch's end: cannot be the same events.
        assert_eq!(
            conflict(check_stream(&batch, 4, never)),
            (batch.stream_id, 3, 4)
        );
    }

    #[test]
    fn the_same_events_already_stored_are_a_retry_other_events_a_conflict() {
        let batch = append(3, 2);
        let same = ids(&batch);
        assert_eq!(
            check_stream(&batch, 5, || Ok(same.clone())).unwrap(),
            StreamCheck::AlreadyStored
        );
        // More stored after the batch: still the same events at its versions.
        assert_eq!(
            check_stream(&batch, 9, || Ok(same.clone())).unwrap(),
            StreamCheck::AlreadyStored
        );
        let other = vec![same[0], Uuid::new_v4()];
        assert_eq!(
            conflict(check_stream(&batch, 5, || Ok(other))),
            (batch.stream_id, 3, 5)
        );
        let fewer = vec![same[0]];
        assert_eq!(
            conflict(check_stream(&batch, 5, || Ok(fewer))),
            (batch.stream_id, 3, 5)
        );
    }

    #[test]
    fn a_request_is_fresh_stored_or_a_conflict_on_the_first_stored_stream() {
        let request = AppendRequest::new(vec![append(0, 1), append(2, 1), append(0, 2)]);
        let fresh = [(StreamCheck::Fresh, 0), (StreamCheck::Fresh, 2)];
        assert_eq!(
            combine_checks(&request, &fresh).unwrap(),
            StreamCheck::Fresh
        );
        let stored = [
            (StreamCheck::AlreadyStored, 1),
            (StreamCheck::AlreadyStored, 3),
            (StreamCheck::AlreadyStored, 2),
        ];
        assert_eq!(
            combine_checks(&request, &stored).unwrap(),
            StreamCheck::AlreadyStored
        );
        let mixed = [
            (StreamCheck::Fresh, 0),
            (StreamCheck::AlreadyStored, 3),
            (StreamCheck::Fresh, 0),
        ];
        assert_eq!(
            conflict(combine_checks(&request, &mixed)),
            (request.streams[1].stream_id, 2, 3)
        );
    }

    #[test]
    fn tracking_moves_forward_only_and_continues_where_asked() {
        let tracking = Tracking::new("projection", 10);
        assert!(check_tracking(&tracking, 9, None).is_ok());
        assert!(check_tracking(&tracking, 0, None).is_ok());
        assert!(check_tracking(&tracking, 4, Some(4)).is_ok());
        for (current, after) in [(10, None), (11, None), (4, Some(3)), (10, Some(10))] {
            match check_tracking(&tracking, current, after) {
                Err(StoreError::TrackingConflict {
                    consumer,
                    current: found,
                    attempted: 10,
                }) => assert_eq!((consumer.as_str(), found), ("projection", current)),
                other => panic!("{current} {after:?}: expected a tracking conflict, got {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_requests_name_the_stream() {
        let empty = AppendRequest::new(vec![append(0, 0)]);
        assert!(matches!(
            validate_request(&empty),
            Err(StoreError::InvalidRequest(message)) if message.contains("no events")
        ));
        let twice = append(0, 1);
        let request = AppendRequest::new(vec![twice.clone(), twice]);
        assert!(matches!(
            validate_request(&request),
            Err(StoreError::InvalidRequest(message)) if message.contains("twice")
        ));
        assert!(validate_request(&AppendRequest::default()).is_ok());
    }

    #[test]
    fn the_decision_checks_streams_before_tracking() {
        let request = AppendRequest::new(vec![append(1, 1)]);
        let tracking = Tracking::new("process", 5);
        // A stale stream is a conflict whatever the tracking.
        let result = decide(&request, Some(&tracking), |_| Ok(0), |_| never(), |_| Ok(9));
        assert_eq!(conflict(result).2, 0);
        // A fresh stream with a tracking record that does not advance.
        assert!(matches!(
            decide(&request, Some(&tracking), |_| Ok(1), |_| never(), |_| Ok(5)),
            Err(StoreError::TrackingConflict { current: 5, .. })
        ));
        assert_eq!(
            decide(&request, Some(&tracking), |_| Ok(1), |_| never(), |_| Ok(4)).unwrap(),
            StreamCheck::Fresh
        );
        // A retry of stored events with its tracking record already written
        // is a tracking conflict: the store answers that it is done.
        let stored = ids(&request.streams[0]);
        assert!(matches!(
            decide(
                &request,
                Some(&tracking),
                |_| Ok(2),
                |_| Ok(stored.clone()),
                |_| Ok(5)
            ),
            Err(StoreError::TrackingConflict { .. })
        ));
        assert_eq!(
            decide(
                &request,
                None,
                |_| Ok(2),
                |_| Ok(stored.clone()),
                |_| { panic!("no tracking record to check") }
            )
            .unwrap(),
            StreamCheck::AlreadyStored
        );
    }
}
