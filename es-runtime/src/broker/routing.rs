//! Which subject (NATS) or routing key (RabbitMQ) an event is published to.

use std::fmt;
use std::sync::Arc;

use crate::store::StoredEvent;

/// How an event's subject (NATS) or routing key (RabbitMQ) is made from the
/// event: by default `{prefix}.{aggregate type}.{event type}`, so that
/// consumers subscribe to one aggregate (`dogs.Dog.*`, `dogs.Dog.#`) or one
/// event type.
#[derive(Clone)]
pub struct Routing {
    subject: Arc<dyn Fn(&StoredEvent) -> String + Send + Sync>,
}

impl Routing {
    /// `{prefix}.{aggregate type}.{event type}`. Characters that separate or
    /// match tokens in subjects and routing keys (`.`, `*`, `>`, `#`, white
    /// space) are replaced by `_` in the two type names, and an event stored
    /// without an aggregate type gets `_`.
    pub fn by_type(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        Self::custom(move |event| {
            let aggregate = event.aggregate_type.as_deref().unwrap_or("_");
            format!("{prefix}.{}.{}", token(aggregate), token(&event.event_type))
        })
    }

    /// A subject of your own making, from the stored event (its payload is
    /// still protected, if the application protects payloads).
    pub fn custom(subject: impl Fn(&StoredEvent) -> String + Send + Sync + 'static) -> Self {
        Self {
            subject: Arc::new(subject),
        }
    }

    pub(crate) fn subject(&self, event: &StoredEvent) -> String {
        (self.subject)(event)
    }
}

impl Default for Routing {
    /// [`Routing::by_type`] with the prefix `events`.
    fn default() -> Self {
        Self::by_type("events")
    }
}

impl fmt::Debug for Routing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Routing")
    }
}

/// `name` as one subject token.
fn token(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '.' | '*' | '>' | '#' => '_',
            c if c.is_whitespace() || c.is_control() => '_',
            c => c,
        })
        .collect();
    if cleaned.is_empty() {
        "_".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Metadata;
    use crate::timestamp::Timestamp;
    use uuid::Uuid;

    fn event(aggregate_type: Option<&str>, event_type: &str) -> StoredEvent {
        StoredEvent {
            position: 1,
            stream_id: Uuid::new_v4(),
            version: 1,
            event_id: Uuid::new_v4(),
            aggregate_type: aggregate_type.map(str::to_owned),
            event_type: event_type.to_owned(),
            schema_version: 1,
            timestamp: Timestamp::now(),
            metadata: Metadata::new(),
            payload: Vec::new(),
            chain_hash: None,
        }
    }

    #[test]
    fn subjects_by_type_are_three_clean_tokens() {
        let routing = Routing::by_type("dogs");
        assert_eq!(
            routing.subject(&event(Some("Dog"), "TrickAdded")),
            "dogs.Dog.TrickAdded"
        );
        assert_eq!(
            routing.subject(&event(None, "a.b*c>d#e f")),
            "dogs._.a_b_c_d_e_f"
        );
        assert_eq!(routing.subject(&event(Some(""), "X")), "dogs._.X");
        assert_eq!(
            Routing::default().subject(&event(Some("Dog"), "Y")),
            "events.Dog.Y"
        );
        let custom = Routing::custom(|event| format!("all.{}", event.version));
        assert_eq!(custom.subject(&event(Some("Dog"), "Y")), "all.1");
    }
}
