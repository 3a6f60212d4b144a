//! Publishing the log to message brokers, and consuming it in another
//! service: NATS JetStream (feature `nats`) and RabbitMQ (feature
//! `rabbitmq`).
//!
//! The ordered log with tracking records is already an outbox: a
//! [`Publisher`] follows it from its recorded position and publishes each
//! event; an [`Inbound`] consumer takes the events from the broker in
//! another service and feeds a process application or a projection there.
//! Both run under a [`System`](crate::System) and stop with it.
//!
//! # The envelope
//! Each event is a CloudEvents 1.0 message in binary content mode: the
//! payload (plain, even when the store encrypts it) is the body, and the
//! attributes are headers (NATS message headers, the AMQP header table):
//!
//! | header | value |
//! |---|---|
//! | `ce-specversion` | `1.0` |
//! | `ce-id` | the event id (also `Nats-Msg-Id`, and AMQP `message_id`) |
//! | `ce-source` | the publisher's source (default its name) |
//! | `ce-type` | the stored event type (`TrickAdded`) |
//! | `ce-time` | the event's timestamp, RFC 3339 in UTC |
//! | `ce-subject` | the stream (aggregate) id |
//! | `ce-streamversion` | the event's version in its stream |
//! | `ce-schemaversion` | the version of the payload's schema |
//! | `ce-aggregatetype` | the aggregate type (when stored) |
//! | `ce-correlationid`, `ce-causationid` | the metadata's ids, when set |
//! | `ce-metadata` | the other metadata, a JSON object of strings, when any |
//! | `content-type` | the codec's media type (`application/json`); AMQP `content_type` |
//!
//! # Guarantees
//! - **At least once, duplicates harmless.** The publisher records its
//!   position only after the broker confirmed every event up to it, so a
//!   crash resends; the event id is the message id, so JetStream's duplicate
//!   window drops resends, and the consumer's dedupe records absorb any that
//!   get through (RabbitMQ has no dedupe of its own).
//! - **Order per stream, not across streams.** A stream's events are
//!   published one after the other, each after the previous one was
//!   confirmed; different streams are interleaved.
//! - **Effects once.** The consumer commits the handler's effects with its
//!   dedupe record in one transaction and acknowledges afterwards.
//! - **Nothing skipped, nothing stuck.** A broker that is down delays the
//!   publisher and the consumer (they retry with backoff); an unreadable
//!   message goes to the dead-letter destination, reported.

mod error;
pub use error::BrokerError;

#[cfg(any(feature = "nats", feature = "rabbitmq"))]
mod cloudevents;
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
mod inbound;
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
mod link;
#[cfg(feature = "nats")]
mod nats;
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
mod publisher;
#[cfg(feature = "rabbitmq")]
mod rabbitmq;
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
mod routing;

#[cfg(any(feature = "nats", feature = "rabbitmq"))]
pub use inbound::{DeadLetter, Inbound};
#[cfg(feature = "nats")]
pub use nats::{JetStream, JetStreamConsumer};
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
pub use publisher::Publisher;
#[cfg(feature = "rabbitmq")]
pub use rabbitmq::{RabbitMq, RabbitQueue};
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
pub use routing::Routing;

/// Where a [`Publisher`] publishes: [`JetStream`] or [`RabbitMq`]. Sealed.
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
pub trait Broker: sealed::Outlets {}

/// Where an [`Inbound`] consumer takes messages from:
/// [`JetStreamConsumer`] or [`RabbitQueue`]. Sealed.
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
pub trait Source: sealed::Inlets {}

#[cfg(any(feature = "nats", feature = "rabbitmq"))]
mod sealed {
    use super::link::{Inlet, Outlet};

    pub trait Outlets {
        fn outlet(&self) -> Box<dyn Outlet>;
    }

    pub trait Inlets {
        fn inlet(&self) -> Box<dyn Inlet>;
    }
}
