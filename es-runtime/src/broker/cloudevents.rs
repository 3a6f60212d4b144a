//! The envelope on the wire: CloudEvents 1.0 in binary content mode. The
//! attributes travel as `ce-` headers (NATS headers, AMQP header table), the
//! event's payload as the body, so that consumers in any language read it
//! without this library.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::error::BrokerError;
use crate::metadata::Metadata;
use crate::store::StoredEvent;
use crate::timestamp::Timestamp;

/// `ce-specversion`: CloudEvents 1.0.
pub(crate) const SPEC_VERSION: &str = "1.0";

/// The header names: the required and optional attributes of the spec, then
/// this library's extension attributes (lower-case letters only, as the spec
/// asks of extension names).
pub(crate) mod header {
    pub const SPEC_VERSION: &str = "ce-specversion";
    pub const ID: &str = "ce-id";
    pub const SOURCE: &str = "ce-source";
    pub const TYPE: &str = "ce-type";
    pub const TIME: &str = "ce-time";
    pub const SUBJECT: &str = "ce-subject";
    /// The event's version in its stream.
    pub const STREAM_VERSION: &str = "ce-streamversion";
    /// The version of the payload's schema (for upcasting).
    pub const SCHEMA_VERSION: &str = "ce-schemaversion";
    /// The type of the aggregate whose stream this is.
    pub const AGGREGATE_TYPE: &str = "ce-aggregatetype";
    pub const CORRELATION_ID: &str = "ce-correlationid";
    pub const CAUSATION_ID: &str = "ce-causationid";
    /// The application's other metadata, a JSON object of strings.
    pub const METADATA: &str = "ce-metadata";
    /// `datacontenttype`, as the NATS and HTTP bindings carry it.
    pub const CONTENT_TYPE: &str = "content-type";
}

/// One event as it leaves for the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvent {
    /// The subject (NATS) or routing key (RabbitMQ).
    pub subject: String,
    /// The event id: the message id the broker dedupes by.
    pub event_id: Uuid,
    /// The `ce-` headers and `content-type`, in a fixed order.
    pub headers: Vec<(&'static str, String)>,
    /// The plain (unprotected) payload.
    pub body: Vec<u8>,
}

/// The content type of payloads written by the codec named `codec`.
pub(crate) fn content_type(codec: &str) -> String {
    match codec {
        "json" => "application/json".to_owned(),
        "msgpack" => "application/msgpack".to_owned(),
        other => format!("application/x-{other}"),
    }
}

/// The envelope of `event` (whose payload is already plain).
pub(crate) fn outgoing(
    event: &StoredEvent,
    body: Vec<u8>,
    subject: String,
    source: &str,
    content_type: &str,
) -> OutgoingEvent {
    let mut headers = vec![
        (header::SPEC_VERSION, SPEC_VERSION.to_owned()),
        (header::ID, event.event_id.to_string()),
        (header::SOURCE, source.to_owned()),
        (header::TYPE, event.event_type.clone()),
        (header::TIME, event.timestamp.to_string()),
        (header::SUBJECT, event.stream_id.to_string()),
        (header::STREAM_VERSION, event.version.to_string()),
        (header::SCHEMA_VERSION, event.schema_version.to_string()),
        (header::CONTENT_TYPE, content_type.to_owned()),
    ];
    if let Some(aggregate_type) = &event.aggregate_type {
        headers.push((header::AGGREGATE_TYPE, aggregate_type.clone()));
    }
    if let Some(id) = event.metadata.correlation_id {
        headers.push((header::CORRELATION_ID, id.to_string()));
    }
    if let Some(id) = event.metadata.causation_id {
        headers.push((header::CAUSATION_ID, id.to_string()));
    }
    if !event.metadata.extra.is_empty() {
        // A map of strings always serializes.
        if let Ok(extra) = serde_json::to_string(&event.metadata.extra) {
            headers.push((header::METADATA, extra));
        }
    }
    OutgoingEvent {
        subject,
        event_id: event.event_id,
        headers,
        body,
    }
}

/// A received message read back into a record (its log position is 0: it
/// has none in the consumer's log). Headers are looked up by name, case
/// insensitively; a missing required attribute, or one that does not
/// parse, is [`BrokerError::Undecodable`] naming it.
pub(crate) fn incoming<'a>(
    headers: impl Fn(&str) -> Option<&'a str>,
    body: Vec<u8>,
) -> Result<StoredEvent, BrokerError> {
    let required = |name: &str| {
        headers(name).ok_or_else(|| BrokerError::Undecodable {
            header: name.to_owned(),
            reason: "missing".to_owned(),
        })
    };
    let invalid = |name: &str, reason: String| BrokerError::Undecodable {
        header: name.to_owned(),
        reason,
    };
    let uuid = |name: &str, text: &str| {
        Uuid::parse_str(text).map_err(|error| invalid(name, format!("`{text}`: {error}")))
    };
    let number = |name: &str, text: &str| {
        text.parse::<u64>()
            .map_err(|error| invalid(name, format!("`{text}`: {error}")))
    };
    let spec = required(header::SPEC_VERSION)?;
    if spec != SPEC_VERSION {
        return Err(invalid(
            header::SPEC_VERSION,
            format!("`{spec}`: only CloudEvents {SPEC_VERSION} is read"),
        ));
    }
    let event_id = uuid(header::ID, required(header::ID)?)?;
    let stream_id = uuid(header::SUBJECT, required(header::SUBJECT)?)?;
    let version = number(header::STREAM_VERSION, required(header::STREAM_VERSION)?)?;
    if version == 0 {
        return Err(invalid(
            header::STREAM_VERSION,
            "versions start at 1".to_owned(),
        ));
    }
    let schema_version = match headers(header::SCHEMA_VERSION) {
        None => 1,
        Some(text) => u32::try_from(number(header::SCHEMA_VERSION, text)?)
            .map_err(|_| invalid(header::SCHEMA_VERSION, format!("`{text}` is out of range")))?,
    };
    let time = required(header::TIME)?;
    let timestamp = time
        .parse::<Timestamp>()
        .map_err(|error| invalid(header::TIME, error.to_string()))?;
    let optional_uuid = |name: &str| headers(name).map(|text| uuid(name, text)).transpose();
    let extra = match headers(header::METADATA) {
        None => BTreeMap::new(),
        Some(text) => serde_json::from_str(text).map_err(|error| {
            invalid(
                header::METADATA,
                format!("not a JSON object of strings: {error}"),
            )
        })?,
    };
    Ok(StoredEvent {
        position: 0,
        stream_id,
        version,
        event_id,
        aggregate_type: headers(header::AGGREGATE_TYPE).map(str::to_owned),
        event_type: required(header::TYPE)?.to_owned(),
        schema_version,
        timestamp,
        metadata: Metadata {
            correlation_id: optional_uuid(header::CORRELATION_ID)?,
            causation_id: optional_uuid(header::CAUSATION_ID)?,
            extra,
        },
        payload: body,
        // The publishing store's hash chain does not travel: a consumer
        // trusts the broker's delivery, not the publisher's storage.
        chain_hash: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> StoredEvent {
        StoredEvent {
            position: 7,
            stream_id: Uuid::new_v4(),
            version: 3,
            event_id: Uuid::new_v4(),
            aggregate_type: Some("Dog".into()),
            event_type: "TrickAdded".into(),
            schema_version: 2,
            timestamp: Timestamp::from_unix_micros(1_795_461_518_123_456),
            metadata: Metadata::new()
                .with_correlation_id(Uuid::new_v4())
                .with_causation_id(Uuid::new_v4())
                .with("tenant", "north"),
            payload: br#"{"trick":"sit"}"#.to_vec(),
            chain_hash: None,
        }
    }

    fn read(message: &OutgoingEvent) -> Result<StoredEvent, BrokerError> {
        incoming(
            |name| {
                message
                    .headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.as_str())
            },
            message.body.clone(),
        )
    }

    #[test]
    fn an_event_reads_back_from_its_headers() {
        let event = event();
        let message = outgoing(
            &event,
            event.payload.clone(),
            "dogs.Dog.TrickAdded".into(),
            "urn:dog-school",
            "application/json",
        );
        let value = |name: &str| {
            message
                .headers
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(value("ce-specversion").as_deref(), Some("1.0"));
        assert_eq!(value("ce-id"), Some(event.event_id.to_string()));
        assert_eq!(value("ce-source").as_deref(), Some("urn:dog-school"));
        assert_eq!(value("ce-type").as_deref(), Some("TrickAdded"));
        assert_eq!(
            value("ce-time").as_deref(),
            Some("2026-11-23T19:18:38.123456Z")
        );
        assert_eq!(value("ce-subject"), Some(event.stream_id.to_string()));
        assert_eq!(value("ce-streamversion").as_deref(), Some("3"));
        assert_eq!(
            value("ce-metadata").as_deref(),
            Some(r#"{"tenant":"north"}"#)
        );
        assert_eq!(
            read(&message),
            Ok(StoredEvent {
                position: 0,
                ..event
            })
        );
    }

    #[test]
    fn a_message_without_a_readable_attribute_is_named() {
        let event = event();
        let good = outgoing(&event, Vec::new(), "s".into(), "src", "application/json");
        let broken = |name: &str, value: Option<&str>| {
            let mut message = good.clone();
            message.headers.retain(|(key, _)| *key != name);
            if let Some(value) = value {
                let key = good.headers.iter().find(|(key, _)| *key == name).unwrap().0;
                message.headers.push((key, value.to_owned()));
            }
            match read(&message) {
                Err(BrokerError::Undecodable { header, .. }) => header,
                other => panic!("{name}: {other:?}"),
            }
        };
        assert_eq!(broken("ce-id", None), "ce-id");
        assert_eq!(broken("ce-id", Some("not-a-uuid")), "ce-id");
        assert_eq!(broken("ce-specversion", Some("0.3")), "ce-specversion");
        assert_eq!(broken("ce-subject", Some("")), "ce-subject");
        assert_eq!(broken("ce-streamversion", Some("0")), "ce-streamversion");
        assert_eq!(broken("ce-streamversion", Some("-1")), "ce-streamversion");
        assert_eq!(broken("ce-time", Some("yesterday")), "ce-time");
        assert_eq!(broken("ce-type", None), "ce-type");
        assert_eq!(broken("ce-metadata", Some("[1]")), "ce-metadata");
        assert_eq!(
            broken("ce-schemaversion", Some("99999999999")),
            "ce-schemaversion"
        );
    }
}
