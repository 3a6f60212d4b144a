//! Following an application's log needs a store with the `LogStore`
//! capability; a store that can only append and read streams has no log.
use chronicle_es::prelude::*;
use chronicle_es::store::{AppendOutcome, AppendRequest, Snapshot, StoreError, StoredEvent};
use chronicle_es::{Subscription, SubscriptionOptions};

struct StreamsOnly;

impl StreamStore for StreamsOnly {
    async fn append(&self, _: AppendRequest) -> Result<AppendOutcome, StoreError> {
        Ok(AppendOutcome { last_position: None, written: false })
    }

    async fn read_stream(&self, _: Uuid, _: StreamQuery) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Vec::new())
    }
}

impl SnapshotStore for StreamsOnly {
    async fn save_snapshot(&self, _: Snapshot) -> Result<(), StoreError> {
        Ok(())
    }

    async fn latest_snapshot(&self, _: Uuid, _: Option<u64>) -> Result<Option<Snapshot>, StoreError> {
        Ok(None)
    }
}

fn main() {
    let app = Application::new(StreamsOnly);
    let _subscription = Subscription::new(app, 0, SubscriptionOptions::default());
}
