//! What goes wrong between the application and a broker.

/// Why talking to a broker failed, or why a received message was refused.
/// Each variant names the broker and what it was doing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The broker could not be reached, or the connection was lost.
    #[error("{broker}: cannot connect to {url}: {message}")]
    Connect {
        /// `"nats"` or `"rabbitmq"`.
        broker: &'static str,
        /// The URL tried, without its password.
        url: String,
        /// The client's error.
        message: String,
    },
    /// Declaring what a publisher or consumer needs (a JetStream stream or
    /// consumer, an exchange, a queue) failed.
    #[error("{broker}: cannot declare {what}: {message}")]
    Declare {
        /// `"nats"` or `"rabbitmq"`.
        broker: &'static str,
        /// What was declared (`stream DOGS`, `queue notifications`).
        what: String,
        /// The client's error.
        message: String,
    },
    /// The broker did not confirm a message (no publish ack, a negative
    /// publisher confirm, a timeout): it will be published again.
    #[error("{broker}: event {event_id} to `{subject}` not confirmed: {message}")]
    Publish {
        /// `"nats"` or `"rabbitmq"`.
        broker: &'static str,
        /// The subject or routing key.
        subject: String,
        /// The event's id (the message id).
        event_id: String,
        /// The client's error.
        message: String,
    },
    /// Receiving or acknowledging messages failed.
    #[error("{broker}: cannot {operation}: {message}")]
    Consume {
        /// `"nats"` or `"rabbitmq"`.
        broker: &'static str,
        /// `receive`, `ack`, `dead-letter`.
        operation: &'static str,
        /// The client's error.
        message: String,
    },
    /// A received message is not a CloudEvent of this library's shape: a
    /// header is missing or malformed. Such messages go to the dead-letter
    /// destination.
    #[error("message is not a readable event: {header}: {reason}")]
    Undecodable {
        /// The header (or `body`) at fault.
        header: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A URL as errors show it: without a password.
#[cfg_attr(not(any(feature = "nats", feature = "rabbitmq")), allow(dead_code))]
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => format!("{}***{}", &url[..scheme + 3], &url[at..]),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(redact("nats://token@host"), "nats://***@host");
    }
}
