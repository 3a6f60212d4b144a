//! Publishing to brokers: throughput against a bare client, and latency
//! from `save` to a remote consumer's handler.
//!
//! `cargo bench --bench brokers --features nats,rabbitmq` prints, for NATS
//! JetStream and RabbitMQ:
//! - publish throughput: a `Publisher` catching up over 20,000 events
//!   (2,000 dogs, 10 events each, interleaved), in pages of 1,000 whose
//!   position is recorded after every confirm; events per second including
//!   reading the log and building the CloudEvents;
//! - the same-run baseline: the bare client (`async-nats`, `lapin`)
//!   publishing the same messages (same subjects, headers, message ids and
//!   bodies) pipelined 1,000 at a time, waiting for every confirm (JetStream
//!   publish acks, publisher confirms), and the ratio;
//! - end-to-end latency from the start of a `save` to the handler of an
//!   `Inbound` consumer in another application, over 1,000 saves of one
//!   event 2 ms apart (median and p99).
//!
//! Each figure is the median of 3 runs, library and baseline alternating.
//! The servers are `CHRONICLE_TEST_NATS_URL` and `CHRONICLE_TEST_AMQP_URL`
//! (defaults: the local ones); each run uses streams, exchanges and queues
//! of its own, deleted at the end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::header::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage};
use chronicle_es::broker::{Broker, Inbound, JetStream, Publisher, RabbitMq, Routing, Source};
use chronicle_es::prelude::*;
use chronicle_es::store::{MemoryStore, StoredEvent};
use chronicle_es::{HandlerError, Projection, System};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
// The publisher's messages are mandatory (an unroutable one is published again): so are the baseline's.
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
        }
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

const DOGS: usize = 2_000;
const EVENTS_PER_DOG: usize = 10;
const EVENTS: usize = DOGS * EVENTS_PER_DOG;
const PAGE: usize = 1_000;
const SAVES: usize = 1_000;
const RUNS: usize = 3;

fn env_url(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

async fn loaded_app() -> Application<MemoryStore> {
    let app = Application::in_memory();
    let mut dogs: Vec<Dog> = (0..DOGS)
        .map(|n| Dog::register(format!("dog {n}")))
        .collect();
    for dog in &mut dogs {
        app.save(&mut *dog).await.unwrap();
    }
    for trick in 1..EVENTS_PER_DOG {
        for dog in &mut dogs {
            dog.add_trick(format!("trick {trick}"));
            app.save(&mut *dog).await.unwrap();
        }
    }
    app
}

/// The headers the publisher sends, built by hand for the baseline.
fn cloudevent_headers(event: &StoredEvent) -> Vec<(&'static str, String)> {
    vec![
        ("ce-specversion", "1.0".into()),
        ("ce-id", event.event_id.to_string()),
        ("ce-source", "dog-events".into()),
        ("ce-type", event.event_type.clone()),
        ("ce-time", event.timestamp.to_string()),
        ("ce-subject", event.stream_id.to_string()),
        ("ce-streamversion", event.version.to_string()),
        ("ce-schemaversion", event.schema_version.to_string()),
        ("content-type", "application/json".into()),
        ("ce-aggregatetype", "Dog".into()),
    ]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Events per second of a fresh publisher catching up over `app`'s log.
async fn library_run(app: &Application<MemoryStore>, broker: impl Broker, prefix: &str) -> f64 {
    let name = format!("bench-{}", Uuid::new_v4().simple());
    let mut publisher = Publisher::new(name.as_str(), app.clone(), broker)
        .routing(Routing::by_type(prefix))
        .source("dog-events");
    let started = Instant::now();
    let published = publisher.catch_up().await.unwrap();
    assert_eq!(published as usize, EVENTS);
    EVENTS as f64 / started.elapsed().as_secs_f64()
}

async fn nats_baseline_run(context: &jetstream::Context, log: &[StoredEvent], prefix: &str) -> f64 {
    let started = Instant::now();
    for page in log.chunks(PAGE) {
        let mut acks = Vec::with_capacity(page.len());
        for event in page {
            let mut headers = HeaderMap::new();
            for (name, value) in cloudevent_headers(event) {
                headers.insert(name, value.as_str());
            }
            let subject = format!("{prefix}.Dog.{}", event.event_type);
            let message = PublishMessage::build()
                .payload(event.payload.clone().into())
                .headers(headers)
                .message_id(event.event_id.to_string());
            acks.push(context.send_publish(subject, message).await.unwrap());
        }
        for ack in acks {
            ack.await.unwrap();
        }
    }
    EVENTS as f64 / started.elapsed().as_secs_f64()
}

async fn nats_stream(context: &jetstream::Context, name: &str, prefix: &str) {
    context
        .create_stream(jetstream::stream::Config {
            name: name.to_owned(),
            subjects: vec![format!("{prefix}.>")],
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn bench_nats(app: &Application<MemoryStore>, log: &[StoredEvent]) {
    let url = env_url("CHRONICLE_TEST_NATS_URL", "nats://127.0.0.1:4222");
    let context = jetstream::new(async_nats::connect(url.as_str()).await.unwrap());
    let (mut library, mut baseline, mut streams) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        // Fresh streams each run: the duplicate window would drop a rerun.
        let id = Uuid::new_v4().simple().to_string();
        let (ours, bare) = (format!("BL{id}"), format!("BB{id}"));
        let (our_prefix, bare_prefix) = (format!("bl{id}"), format!("bb{id}"));
        nats_stream(&context, &bare, &bare_prefix).await;
        let broker = JetStream::new(&url, &ours, [format!("{our_prefix}.>")]);
        library.push(library_run(app, broker, &our_prefix).await);
        baseline.push(nats_baseline_run(&context, log, &bare_prefix).await);
        streams.extend([ours, bare]);
    }
    report("NATS JetStream", median(library), median(baseline));
    let id = Uuid::new_v4().simple().to_string();
    let broker = JetStream::new(&url, format!("BE{id}"), [format!("be{id}.>")]);
    let source = broker.consumer("latency");
    latency("NATS JetStream", broker, source, &format!("be{id}")).await;
    streams.extend([format!("BE{id}"), format!("BE{id}_latency_DEAD")]);
    for stream in streams {
        let _ = context.delete_stream(&stream).await;
    }
}

async fn rabbit_channel(url: &str) -> (Connection, Channel) {
    let properties = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    let connection = Connection::connect(url, properties).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    (connection, channel)
}

async fn rabbit_baseline_run(channel: &Channel, exchange: &str, log: &[StoredEvent]) -> f64 {
    let started = Instant::now();
    for page in log.chunks(PAGE) {
        let mut confirms = Vec::with_capacity(page.len());
        for event in page {
            let mut table = FieldTable::default();
            for (name, value) in cloudevent_headers(event) {
                table.insert(
                    ShortString::from(name.to_owned()),
                    AMQPValue::LongString(LongString::from(value)),
                );
            }
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type(ShortString::from("application/json".to_owned()))
                .with_message_id(ShortString::from(event.event_id.to_string()))
                .with_headers(table);
            let routing_key = format!("dogs.Dog.{}", event.event_type);
            let confirm = channel
                .basic_publish(
                    exchange,
                    &routing_key,
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &event.payload,
                    properties,
                )
                .await
                .unwrap();
            confirms.push(confirm);
        }
        for confirm in confirms {
            let confirmation = confirm.await.unwrap();
            assert!(confirmation.is_ack() && confirmation.take_message().is_none());
        }
    }
    EVENTS as f64 / started.elapsed().as_secs_f64()
}

async fn bench_rabbitmq(app: &Application<MemoryStore>, log: &[StoredEvent]) {
    let url = env_url(
        "CHRONICLE_TEST_AMQP_URL",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
    );
    let (_connection, channel) = rabbit_channel(&url).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let id = Uuid::new_v4().simple().to_string();
    let (ours, bare) = (format!("bl{id}"), format!("bb{id}"));
    let (ours_queue, bare_queue) = (format!("bl{id}.q"), format!("bb{id}.q"));
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(&bare, ExchangeKind::Topic, durable, FieldTable::default())
        .await
        .unwrap();
    // Both exchanges route into a durable queue, as a consumer's would.
    let bind = |exchange: String, queue: String| {
        let broker = RabbitMq::new(&url, exchange);
        broker.queue(queue, ["#"])
    };
    let our_queue = bind(ours.clone(), ours_queue.clone());
    let mut declare = Inbound::projection("declare", our_queue, Application::in_memory(), Noop);
    chronicle_es::Follower::catch_up_now(&mut declare)
        .await
        .unwrap();
    let bare_source = bind(bare.clone(), bare_queue.clone());
    let mut declare = Inbound::projection("declare", bare_source, Application::in_memory(), Noop);
    chronicle_es::Follower::catch_up_now(&mut declare)
        .await
        .unwrap();
    let (mut library, mut baseline) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        library.push(library_run(app, RabbitMq::new(&url, &ours), "dogs").await);
        baseline.push(rabbit_baseline_run(&channel, &bare, log).await);
    }
    report("RabbitMQ", median(library), median(baseline));
    let latency_exchange = format!("be{id}");
    let broker = RabbitMq::new(&url, &latency_exchange);
    let source = broker.queue(format!("be{id}.q"), ["#"]);
    latency("RabbitMQ", broker, source, "dogs").await;
    for queue in [
        ours_queue.clone(),
        bare_queue.clone(),
        format!("{ours_queue}.dead"),
        format!("{bare_queue}.dead"),
        format!("be{id}.q"),
        format!("be{id}.q.dead"),
    ] {
        let _ = channel
            .queue_delete(&queue, QueueDeleteOptions::default())
            .await;
    }
    for exchange in [ours, bare, latency_exchange] {
        let _ = channel
            .exchange_delete(&exchange, ExchangeDeleteOptions::default())
            .await;
    }
}

fn report(broker: &str, library: f64, baseline: f64) {
    println!(
        "{broker}: publish {EVENTS} events: Publisher {library:>9.0} events/s, bare client {baseline:>9.0} events/s, ratio {:.2}",
        library / baseline
    );
}

/// A projection that does nothing: declares a queue by consuming once.
struct Noop;

impl Projection for Noop {
    type Event = DogEvent;
    type Writes = ();

    fn name(&self) -> &str {
        "noop"
    }

    fn handle(&mut self, _: &Envelope<DogEvent>, (): &mut ()) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// When the consumer's handler saw each event.
struct Arrivals(Arc<Mutex<HashMap<Uuid, Instant>>>);

impl Projection for Arrivals {
    type Event = DogEvent;
    type Writes = ();

    fn name(&self) -> &str {
        "arrivals"
    }

    fn handle(&mut self, event: &Envelope<DogEvent>, (): &mut ()) -> Result<(), HandlerError> {
        self.0
            .lock()
            .unwrap()
            .insert(event.event_id, Instant::now());
        Ok(())
    }
}

async fn latency(broker_name: &str, broker: impl Broker, source: impl Source, prefix: &str) {
    let app = Application::in_memory();
    let arrivals = Arc::new(Mutex::new(HashMap::new()));
    let mut inbound = Inbound::projection(
        "latency",
        source,
        Application::in_memory(),
        Arrivals(arrivals.clone()),
    );
    chronicle_es::Follower::catch_up_now(&mut inbound)
        .await
        .unwrap();
    let publisher =
        Publisher::new("latency", app.clone(), broker).routing(Routing::by_type(prefix));
    let system = System::new().with(publisher).with(inbound).start();
    let mut saved = Vec::with_capacity(SAVES);
    for n in 0..SAVES {
        let mut dog = Dog::register(format!("dog {n}"));
        let started = Instant::now();
        app.save(&mut dog).await.unwrap();
        saved.push(started);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals.lock().unwrap().len() < SAVES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let errors = system.stop().await;
    assert!(errors.is_empty(), "{errors:?}");
    let log = app.read_log(LogQuery::after(0, usize::MAX)).await.unwrap();
    let arrivals = arrivals.lock().unwrap();
    let mut latencies: Vec<f64> = log
        .iter()
        .zip(&saved)
        .map(|(event, started)| {
            let arrived = arrivals[&event.event_id];
            arrived.duration_since(*started).as_secs_f64() * 1_000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "{broker_name}: save -> remote handler over {SAVES} saves: median {:.2} ms, p99 {:.2} ms",
        latencies[SAVES / 2],
        latencies[SAVES * 99 / 100]
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = loaded_app().await;
        let log = app.read_log(LogQuery::after(0, usize::MAX)).await.unwrap();
        bench_nats(&app, &log).await;
        bench_rabbitmq(&app, &log).await;
    });
}
