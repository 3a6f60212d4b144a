//! The broker tests on RabbitMQ: the server of `CHRONICLE_TEST_AMQP_URL`,
//! each test in a virtual host of its own (deleted at its end), so that
//! closing connections touches no other test.

use lapin::options::{BasicGetOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

use chronicle_es::broker::{RabbitMq, RabbitQueue};

use super::*;
use common::brokers::{amqp_url, Forwarder, Vhost};

const EXCHANGE: &str = "dogs";

fn broker(url: &str) -> RabbitMq {
    RabbitMq::new(url, EXCHANGE)
}

fn routing() -> Routing {
    Routing::by_type("dogs")
}

fn queue(url: &str) -> RabbitQueue {
    broker(url).queue("notifications", ["dogs.#"])
}

async fn channel(url: &str) -> (Connection, Channel) {
    let properties = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    let connection = Connection::connect(url, properties).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    (connection, channel)
}

fn header_map(properties: &BasicProperties) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = properties
        .headers()
        .iter()
        .flat_map(|table| table.inner())
        .filter_map(|(name, value)| match value {
            AMQPValue::LongString(text) => Some((
                name.to_string(),
                String::from_utf8_lossy(text.as_bytes()).into_owned(),
            )),
            _ => None,
        })
        .collect();
    if let Some(content_type) = properties.content_type() {
        map.insert("content-type".into(), content_type.to_string());
    }
    map
}

/// Every message in `queue`, taken with `basic.get` and acknowledged.
async fn drain(url: &str, queue: &str) -> Vec<(BasicProperties, Vec<u8>)> {
    let (_connection, channel) = channel(url).await;
    let mut messages = Vec::new();
    while let Some(message) = channel
        .basic_get(queue, BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        messages.push((message.delivery.properties, message.delivery.data));
    }
    messages
}

struct RawRabbit<'a>(&'a Vhost);

impl Raw for RawRabbit<'_> {
    async fn inject(&self, subject: &str, headers: &[(&str, &str)], body: &[u8]) {
        let (_connection, channel) = channel(self.0.url()).await;
        let mut table = FieldTable::default();
        for (name, value) in headers {
            table.insert(
                ShortString::from(name.to_string()),
                AMQPValue::LongString(LongString::from(*value)),
            );
        }
        channel
            .basic_publish(
                EXCHANGE,
                subject,
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_headers(table),
            )
            .await
            .unwrap();
        // A confirm-less channel: close it cleanly so the message is routed.
        channel.close(200, "done").await.unwrap();
    }

    async fn dead_letters(&self) -> Vec<HashMap<String, String>> {
        drain(self.0.url(), "notifications.dead")
            .await
            .iter()
            .map(|(properties, _)| header_map(properties))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_take_effect_once_in_order() {
    let Some(url) = amqp_url() else { return };
    let vhost = Vhost::create(&url);
    end_to_end(broker(vhost.url()), routing(), queue(vhost.url())).await;
}

#[tokio::test]
async fn messages_carry_cloudevents_headers_and_the_event_id_as_message_id() {
    let Some(url) = amqp_url() else { return };
    let vhost = Vhost::create(&url);
    // Declares the queue, so that the event is routed to it.
    let (mut inbound, _, _) = consumer(queue(vhost.url()));
    inbound.catch_up_now().await.unwrap();
    drop(inbound);
    let event = publish_one(broker(vhost.url()), routing()).await;
    let messages = drain(vhost.url(), "notifications").await;
    assert_eq!(messages.len(), 1);
    let (properties, body) = &messages[0];
    assert_cloudevent_headers(&header_map(properties), &event);
    let message_id = properties.message_id().as_ref().map(ToString::to_string);
    assert_eq!(message_id, Some(event.event_id.to_string()));
    assert_eq!(properties.delivery_mode(), &Some(2), "persistent");
    assert_eq!(body, &event.payload);
}

#[tokio::test]
async fn a_resend_after_a_lost_position_is_handled_once() {
    let Some(url) = amqp_url() else { return };
    let vhost = Vhost::create(&url);
    resent_after_a_lost_position(broker(vhost.url()), routing(), queue(vhost.url())).await;
}

#[tokio::test]
async fn a_process_application_reacts_once_to_a_resent_log() {
    let Some(url) = amqp_url() else { return };
    let vhost = Vhost::create(&url);
    a_process_application_reacts_once(broker(vhost.url()), routing(), queue(vhost.url())).await;
}

#[tokio::test]
async fn unreadable_messages_go_to_the_dead_letter_queue() {
    let Some(url) = amqp_url() else { return };
    let vhost = Vhost::create(&url);
    unreadable_messages_are_dead_lettered(
        broker(vhost.url()),
        routing(),
        "dogs.Dog.TrickAdded",
        queue(vhost.url()),
        RawRabbit(&vhost),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_down_at_start_delays_publishing_and_skips_nothing() {
    let Some(url) = amqp_url() else { return };
    let vhost = Vhost::create(&url);
    let (mut forwarder, down) = Forwarder::down(vhost.url());
    let bring_up = forwarder.start();
    broker_down_at_start(broker(&down), routing(), queue(&down), bring_up).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_closed_mid_stream_lose_and_repeat_nothing() {
    let Some(url) = amqp_url() else { return };
    let vhost = Arc::new(Vhost::create(&url));
    let closer = vhost.clone();
    broker_fails_mid_stream(
        broker(vhost.url()),
        routing(),
        queue(vhost.url()),
        move || {
            closer.close_all_connections();
        },
    )
    .await;
}

#[tokio::test]
async fn a_publisher_told_to_give_up_stops_with_the_broker_error() {
    let Some(url) = amqp_url() else { return };
    let (_forwarder, down) = Forwarder::down(&url);
    gives_up_when_told(broker(&down)).await;
}
