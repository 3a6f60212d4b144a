//! A process application commits its new events with its tracking record,
//! so its downstream store needs the `TrackingStore` capability.
use chronicle_es::prelude::*;
use chronicle_es::store::{AppendOutcome, AppendRequest, Snapshot, StoreError, StoredEvent};
use chronicle_es::{Codec, HandlerError, Policy, ProcessContext, ProcessRunner, ProcessStore};

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self { name }
    }
}

struct Welcome;

impl Policy for Welcome {
    type Event = DogEvent;

    fn name(&self) -> &str {
        "welcome"
    }

    async fn react<S: ProcessStore, C: Codec>(
        &self,
        _: &Envelope<DogEvent>,
        _: &mut ProcessContext<'_, S, C>,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}

struct NoTracking;

impl StreamStore for NoTracking {
    async fn append(&self, _: AppendRequest) -> Result<AppendOutcome, StoreError> {
        Ok(AppendOutcome { last_position: None, written: false })
    }

    async fn read_stream(&self, _: Uuid, _: StreamQuery) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Vec::new())
    }
}

impl SnapshotStore for NoTracking {
    async fn save_snapshot(&self, _: Snapshot) -> Result<(), StoreError> {
        Ok(())
    }

    async fn latest_snapshot(&self, _: Uuid, _: Option<u64>) -> Result<Option<Snapshot>, StoreError> {
        Ok(None)
    }
}

fn main() {
    let dogs = Application::in_memory();
    let welcomes = Application::new(NoTracking);
    let _runner = ProcessRunner::new(dogs, welcomes, Welcome);
}
