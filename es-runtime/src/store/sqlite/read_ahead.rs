//! Reading the log ahead for a caller that pages through it.
//!
//! A caller that reads the log page after page (a projection catching up,
//! an export, `read_log` in a loop) waits for each page on a reader thread,
//! then works on it while the reader idles. Once a caller has asked for the
//! page right after a full one, the store reads the next page on a reader
//! while the caller works, and hands it over when asked for.
//!
//! A page read ahead is handed over only when it is full. Positions are
//! given in commit order and stored events never change, so a full page of
//! events after a position holds exactly what a new read would return: an
//! event committed since has a position past all of them. A page that is
//! not full (the end of the log) may miss such an event, so it is dropped
//! and the page read again.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::store::error::StoreError;
use crate::store::record::StoredEvent;
use crate::store::request::LogQuery;

/// How many callers paging through the log at once are read ahead for;
/// the one that read least recently is forgotten first.
const MAX_CALLERS: usize = 4;

/// Pages larger than this are not read ahead: a page waiting for its
/// caller is held in memory beside the one the caller works on.
pub(super) const MAX_PAGE: usize = 10_000;

/// A page on its way from a reader thread.
pub(super) type PageOnItsWay = oneshot::Receiver<Result<Vec<StoredEvent>, StoreError>>;

/// What a caller that pages through the log is expected to ask for next.
struct Expected {
    /// The query for the page after the caller's last (full) page.
    next: LogQuery,
    /// That page, when it is being read ahead.
    page: Option<PageOnItsWay>,
}

/// The pages expected next, by caller; see the module documentation.
#[derive(Default)]
pub(super) struct LogReadAhead {
    expected: Mutex<Vec<Expected>>,
}

/// What the store knew of a query when it was asked.
pub(super) enum Foreseen {
    /// The query does not continue a full page read before.
    No,
    /// It continues a full page; the page was not read ahead.
    Continues,
    /// It continues a full page, and the page was read ahead.
    ReadAhead(PageOnItsWay),
}

impl LogReadAhead {
    fn expected(&self) -> MutexGuard<'_, Vec<Expected>> {
        // Nothing runs under the lock that could panic halfway.
        self.expected.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `query` was foreseen; a page read ahead for it is handed over
    /// (at most once).
    pub(super) fn take(&self, query: &LogQuery) -> Foreseen {
        let mut expected = self.expected();
        let Some(index) = expected.iter().position(|entry| entry.next == *query) else {
            return Foreseen::No;
        };
        match expected.remove(index).page {
            Some(page) => Foreseen::ReadAhead(page),
            None => Foreseen::Continues,
        }
    }

    /// Expects `next` to be asked for, with its page if it is read ahead.
    pub(super) fn expect(&self, next: LogQuery, page: Option<PageOnItsWay>) {
        let mut expected = self.expected();
        expected.retain(|entry| entry.next != next);
        if expected.len() == MAX_CALLERS {
            expected.remove(0);
        }
        expected.push(Expected { next, page });
    }
}

/// The query for the page after `page`, read for `query`, when `page` is
/// full and small enough to read ahead.
pub(super) fn next_page(query: &LogQuery, page: &[StoredEvent]) -> Option<LogQuery> {
    if page.len() != query.limit || query.limit > MAX_PAGE {
        return None;
    }
    let last = page.last()?;
    Some(LogQuery {
        after: last.position,
        ..query.clone()
    })
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::super::{test_file_store, SqliteStore};
    use super::*;
    use crate::store::{AppendRequest, LogStore, NewEvent, StreamStore};

    /// A store on a fresh file, with reader threads.
    async fn store(name: &str) -> (SqliteStore, std::path::PathBuf) {
        test_file_store(&format!("read-ahead-{name}"), 2).await
    }

    /// Appends `count` events to a new stream.
    async fn append(store: &SqliteStore, count: usize) {
        let events = (0..count).map(|_| NewEvent::happened()).collect();
        store
            .append(AppendRequest::stream(Uuid::new_v4(), 0, events))
            .await
            .unwrap();
    }

    /// The positions of a page of 10 after `after`.
    async fn page(store: &SqliteStore, after: u64) -> Vec<u64> {
        let page = store.read_log(LogQuery::after(after, 10)).await.unwrap();
        page.iter().map(|event| event.position).collect()
    }

    #[tokio::test]
    async fn a_caller_paging_through_the_log_gets_its_next_page_read_ahead() {
        let (store, dir) = store("paging").await;
        append(&store, 40).await;
        assert_eq!(page(&store, 0).await, (1..=10).collect::<Vec<_>>());
        // One full page: the next is expected, not yet read ahead.
        assert!(matches!(
            store.inner.read_ahead.take(&LogQuery::after(10, 10)),
            Foreseen::Continues
        ));
        store.inner.read_ahead.expect(LogQuery::after(10, 10), None);
        assert_eq!(page(&store, 10).await, (11..=20).collect::<Vec<_>>());
        // The caller continued: the page after is on its way.
        assert!(matches!(
            store.inner.read_ahead.take(&LogQuery::after(20, 10)),
            Foreseen::ReadAhead(_)
        ));
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn pages_read_ahead_miss_no_event_appended_since() {
        let (store, dir) = store("appended").await;
        append(&store, 25).await;
        assert_eq!(page(&store, 0).await, (1..=10).collect::<Vec<_>>());
        assert_eq!(page(&store, 10).await, (11..=20).collect::<Vec<_>>());
        // The page after 20 was read ahead holding 21..=25 only; events
        // appended since must be in it when the caller asks.
        append(&store, 10).await;
        assert_eq!(page(&store, 20).await, (21..=30).collect::<Vec<_>>());
        // That page was full: the next was read ahead while 31..=35 were
        // there; more appended since come after it, in the page after.
        append(&store, 10).await;
        assert_eq!(page(&store, 30).await, (31..=40).collect::<Vec<_>>());
        assert_eq!(page(&store, 40).await, (41..=45).collect::<Vec<_>>());
        assert_eq!(page(&store, 45).await, Vec::<u64>::new());
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_query_with_other_filters_is_not_answered_by_a_page_read_ahead() {
        let (store, dir) = store("filters").await;
        append(&store, 30).await;
        page(&store, 0).await;
        page(&store, 10).await;
        let other = store
            .read_log(LogQuery::after(20, 10).event_types(["Other"]))
            .await
            .unwrap();
        assert!(other.is_empty());
        assert_eq!(page(&store, 20).await, (21..=30).collect::<Vec<_>>());
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_page_read_ahead_is_handed_over_once_to_the_query_it_was_read_for() {
        let read_ahead = LogReadAhead::default();
        let next = LogQuery::after(10, 10);
        let (_reply, answer) = oneshot::channel();
        read_ahead.expect(next.clone(), Some(answer));
        assert!(matches!(
            read_ahead.take(&LogQuery::after(10, 5)),
            Foreseen::No
        ));
        assert!(matches!(
            read_ahead.take(&next.clone().event_types(["A"])),
            Foreseen::No
        ));
        assert!(matches!(read_ahead.take(&next), Foreseen::ReadAhead(_)));
        assert!(matches!(read_ahead.take(&next), Foreseen::No));
    }

    #[test]
    fn continuing_callers_are_remembered_up_to_a_few() {
        let read_ahead = LogReadAhead::default();
        for after in 0..=MAX_CALLERS as u64 {
            read_ahead.expect(LogQuery::after(after, 1), None);
        }
        // The one that read least recently was forgotten.
        assert!(matches!(
            read_ahead.take(&LogQuery::after(0, 1)),
            Foreseen::No
        ));
        for after in 1..=MAX_CALLERS as u64 {
            assert!(matches!(
                read_ahead.take(&LogQuery::after(after, 1)),
                Foreseen::Continues
            ));
        }
    }
}
