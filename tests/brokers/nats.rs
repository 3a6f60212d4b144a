//! The broker tests on NATS JetStream: the shared server of
//! `CHRONICLE_TEST_NATS_URL` (a stream of each test's own, deleted at its
//! end), and `nats-server`s of the tests' own for the faults.

use async_nats::header::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage};
use chronicle_es::broker::{JetStream, JetStreamConsumer};

use super::*;
use common::brokers::{nats_url, NatsServer};

/// A stream, subjects and consumer of the test's own.
struct Rig {
    url: String,
    stream: String,
    prefix: String,
}

impl Rig {
    fn new(url: &str) -> Rig {
        let id = Uuid::new_v4().simple().to_string();
        Rig {
            url: url.to_owned(),
            stream: format!("T{id}"),
            prefix: format!("t{id}"),
        }
    }

    fn broker(&self) -> JetStream {
        JetStream::new(&self.url, &self.stream, [format!("{}.>", self.prefix)])
    }

    fn routing(&self) -> Routing {
        Routing::by_type(&self.prefix)
    }

    fn consumer(&self) -> JetStreamConsumer {
        self.broker().consumer("notifications")
    }

    fn dead_stream(&self) -> String {
        format!("{}_notifications_DEAD", self.stream)
    }

    async fn context(&self) -> jetstream::Context {
        jetstream::new(async_nats::connect(self.url.as_str()).await.unwrap())
    }

    async fn stored(&self, stream: &str) -> u64 {
        let mut stream = self.context().await.get_stream(stream).await.unwrap();
        stream.info().await.unwrap().state.messages
    }

    /// Removes the test's streams from the shared server.
    async fn delete(self) {
        let context = self.context().await;
        for stream in [self.stream.clone(), self.dead_stream()] {
            let _ = context.delete_stream(&stream).await;
        }
    }
}

fn header_map(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .iter()
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |value| (name.to_string(), value.as_str().to_owned()))
        })
        .collect()
}

impl Raw for &Rig {
    async fn inject(&self, subject: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, *value);
        }
        let message = PublishMessage::build()
            .payload(body.to_vec().into())
            .headers(map);
        let context = self.context().await;
        let ack = context.send_publish(subject.to_owned(), message).await;
        ack.unwrap().await.unwrap();
    }

    async fn dead_letters(&self) -> Vec<HashMap<String, String>> {
        let context = self.context().await;
        let stream = context.get_stream(self.dead_stream()).await.unwrap();
        let mut letters = Vec::new();
        for sequence in 1..=self.stored(&self.dead_stream()).await {
            let message = stream.get_raw_message(sequence).await.unwrap();
            letters.push(header_map(&message.headers));
        }
        letters
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_take_effect_once_in_order() {
    let Some(url) = nats_url() else { return };
    let rig = Rig::new(&url);
    end_to_end(rig.broker(), rig.routing(), rig.consumer()).await;
    assert_eq!(rig.stored(&rig.stream).await, 10_000);
    rig.delete().await;
}

#[tokio::test]
async fn messages_carry_cloudevents_headers_and_the_event_id_as_msg_id() {
    let Some(url) = nats_url() else { return };
    let rig = Rig::new(&url);
    let event = publish_one(rig.broker(), rig.routing()).await;
    let stream = rig.context().await.get_stream(&rig.stream).await.unwrap();
    let message = stream.get_raw_message(1).await.unwrap();
    let headers = header_map(&message.headers);
    assert_cloudevent_headers(&headers, &event);
    assert_eq!(
        headers.get("Nats-Msg-Id"),
        Some(&event.event_id.to_string())
    );
    assert_eq!(
        message.subject.as_str(),
        format!("{}.Dog.Registered", rig.prefix)
    );
    assert_eq!(message.payload.as_ref(), event.payload.as_slice());
    rig.delete().await;
}

#[tokio::test]
async fn a_filtered_publisher_publishes_only_its_types() {
    let Some(url) = nats_url() else { return };
    let rig = Rig::new(&url);
    let app = Application::in_memory();
    save_dogs(&app, 3, 4).await;
    let mut publisher = Publisher::new("tricks", app.clone(), rig.broker())
        .routing(rig.routing())
        .event_types(["TrickAdded"]);
    assert_eq!(publisher.catch_up().await.unwrap(), 9);
    assert_eq!(rig.stored(&rig.stream).await, 9);
    let stream = rig.context().await.get_stream(&rig.stream).await.unwrap();
    for sequence in 1..=9 {
        let message = stream.get_raw_message(sequence).await.unwrap();
        assert_eq!(
            message.subject.as_str(),
            format!("{}.Dog.TrickAdded", rig.prefix)
        );
    }
    assert_eq!(app.store().tracked_position("tricks").await.unwrap(), 12);
    rig.delete().await;
}

#[tokio::test]
async fn a_resend_after_a_lost_position_is_stored_once_and_handled_once() {
    let Some(url) = nats_url() else { return };
    let rig = Rig::new(&url);
    resent_after_a_lost_position(rig.broker(), rig.routing(), rig.consumer()).await;
    assert_eq!(
        rig.stored(&rig.stream).await,
        500,
        "the duplicate window dropped the resends"
    );
    rig.delete().await;
}

#[tokio::test]
async fn a_process_application_reacts_once_to_a_resent_log() {
    let Some(url) = nats_url() else { return };
    let rig = Rig::new(&url);
    a_process_application_reacts_once(rig.broker(), rig.routing(), rig.consumer()).await;
    rig.delete().await;
}

#[tokio::test]
async fn unreadable_messages_go_to_the_dead_letter_stream() {
    let Some(url) = nats_url() else { return };
    let rig = Rig::new(&url);
    let subject = format!("{}.Dog.TrickAdded", rig.prefix);
    unreadable_messages_are_dead_lettered(
        rig.broker(),
        rig.routing(),
        &subject,
        rig.consumer(),
        &rig,
    )
    .await;
    rig.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_down_at_start_delays_publishing_and_skips_nothing() {
    // Needs no shared server, but runs with the NATS tests.
    if nats_url().is_none() {
        return;
    }
    let mut server = NatsServer::stopped();
    let rig = Rig::new(&server.url());
    let bring_up = async { server.run() };
    broker_down_at_start(rig.broker(), rig.routing(), rig.consumer(), bring_up).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_and_restarted_mid_stream_loses_and_repeats_nothing() {
    if nats_url().is_none() {
        return;
    }
    let server = Arc::new(Mutex::new(NatsServer::start()));
    let url = server.lock().unwrap().url();
    let rig = Rig::new(&url);
    let killed = server.clone();
    broker_fails_mid_stream(rig.broker(), rig.routing(), rig.consumer(), move || {
        let mut server = killed.lock().unwrap();
        server.kill();
        std::thread::sleep(Duration::from_millis(500));
        server.run();
    })
    .await;
    assert_eq!(
        rig.stored(&rig.stream).await,
        10_000,
        "no resend was stored twice"
    );
}

/// Publishes sent to a server that then crashes are never acknowledged:
/// the publisher waits one ack timeout for all of them, not one per event,
/// and sends them again to the restarted server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_lost_in_a_crash_are_sent_again_after_one_timeout() {
    if nats_url().is_none() {
        return;
    }
    let mut server = NatsServer::start();
    let rig = Rig::new(&server.url());
    let app = Application::in_memory();
    let mut publisher =
        Publisher::new("dog-events", app.clone(), rig.broker()).routing(rig.routing());
    // Connected, with the stream made, before the crash.
    save_dogs(&app, 1, 1).await;
    publisher.catch_up().await.unwrap();
    // Three hundred streams: one round of three hundred publishes in flight.
    save_dogs(&app, 300, 1).await;
    server.freeze();
    let publishing = tokio::spawn(async move { publisher.catch_up().await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.kill();
    server.run();
    let published = tokio::time::timeout(Duration::from_secs(60), publishing)
        .await
        .expect("the lost acks were awaited one after another")
        .unwrap()
        .unwrap();
    assert_eq!(published, 300);
    assert_eq!(rig.stored(&rig.stream).await, 301);
}

#[tokio::test]
async fn a_publisher_told_to_give_up_stops_with_the_broker_error() {
    if nats_url().is_none() {
        return;
    }
    let server = NatsServer::stopped();
    gives_up_when_told(JetStream::new(server.url(), "S", ["s.>"])).await;
}
