//! The library reports what it does through `tracing`: spans for saves,
//! loads, log reads and follower batches, with the fields the issue of an
//! operator needs (store, aggregate type, stream, versions, positions, lag).
//! It installs no subscriber of its own; this test installs one that keeps
//! what it hears.

mod common;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chronicle_es::prelude::*;
use chronicle_es::store::MemoryStore;
use chronicle_es::{HandlerError, Projection, ProjectionRunner};
use common::dogs::{saved_dog, Dog, DogEvent};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Every span opened and event emitted, as `name field=value …` lines.
#[derive(Clone, Default)]
struct Heard {
    lines: Arc<Mutex<Vec<String>>>,
    next_id: Arc<AtomicU64>,
}

impl Heard {
    fn lines_starting(&self, prefix: &str) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|line| line.starts_with(prefix))
            .cloned()
            .collect()
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Heard {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(span.metadata().name().to_owned());
        span.record(&mut fields);
        self.lines.lock().unwrap().push(fields.0);
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(format!(
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        ));
        event.record(&mut fields);
        self.lines.lock().unwrap().push(fields.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Counts the dogs registered.
struct Registrations(Arc<Mutex<u64>>);

impl Projection for Registrations {
    type Event = DogEvent;
    type Writes = ();

    fn name(&self) -> &str {
        "registrations"
    }

    fn handle(&mut self, event: &Envelope<DogEvent>, (): &mut ()) -> Result<(), HandlerError> {
        if let DogEvent::Registered { .. } = event.event {
            *self.0.lock().unwrap() += 1;
        }
        Ok(())
    }
}

#[test]
fn saves_loads_reads_and_batches_are_spans() {
    let heard = Heard::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dog = tracing::subscriber::with_default(heard.clone(), || {
        runtime.block_on(async {
            let app = Application::new(MemoryStore::new());
            let dog = saved_dog(&app, "Fido", 2).await;
            let loaded: Dog = app.get(dog.id()).await.unwrap();
            assert_eq!(loaded.version(), 3);
            app.read_log(LogQuery::after(0, 10)).await.unwrap();
            let count = Arc::new(Mutex::new(0));
            ProjectionRunner::new(app.clone(), Registrations(Arc::clone(&count)))
                .catch_up(|_| {})
                .await
                .unwrap();
            assert_eq!(*count.lock().unwrap(), 1);
            dog
        })
    });
    let id = dog.id();

    let saves = heard.lines_starting("chronicle.save");
    assert_eq!(
        saves,
        [format!(
            "chronicle.save store=\"MemoryStore\" aggregate_type=\"Dog\" stream_id={id} from_version=0 streams=1 events=3"
        )]
    );
    assert!(heard
        .lines_starting("DEBUG chronicle_es_runtime::application")
        .iter()
        .any(|line| line.contains("appended")
            && line.contains("position=3")
            && line.contains("written=true")));

    let loads = heard.lines_starting("chronicle.load");
    assert_eq!(
        loads,
        [format!(
            "chronicle.load store=\"MemoryStore\" aggregate_type=\"Dog\" stream_id={id}"
        )]
    );
    assert!(heard
        .lines_starting("DEBUG chronicle_es_runtime::application")
        .iter()
        .any(|line| line.contains("loaded") && line.contains("version=3")));

    let reads = heard.lines_starting("chronicle.read_log");
    assert_eq!(
        reads[0],
        "chronicle.read_log store=\"MemoryStore\" after=0 limit=10"
    );
    assert!(heard
        .lines_starting("DEBUG chronicle_es_runtime::application")
        .iter()
        .any(|line| line.contains("read events=3 last_position=3")));

    let batches = heard.lines_starting("chronicle.follow");
    assert_eq!(
        batches,
        ["chronicle.follow consumer=\"registrations\" from_position=1 to_position=3 events=3 lag=0"]
    );
}
