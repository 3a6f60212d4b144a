//! Events as JSON: what `show`, `log`, `tail` and `export` print and
//! `import` reads, one envelope per line. The payload reads back byte for
//! byte: as JSON when it is JSON text on one line (`payload`), else as text
//! (`payload_text`), else as hex (`payload_hex`).

use chronicle_es::chain::ChainHash;
use chronicle_es::store::{NewEvent, StoredEvent};
use chronicle_es::{Metadata, Timestamp, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::CliError;

/// One event with its envelope.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// Its position in the log it was read from.
    pub position: u64,
    pub stream_id: Uuid,
    pub version: u64,
    pub event_id: Uuid,
    #[serde(default)]
    pub aggregate_type: Option<String>,
    pub event_type: String,
    pub schema_version: u32,
    /// RFC 3339, for people.
    pub timestamp: String,
    /// Microseconds since 1970, exact.
    pub timestamp_micros: i64,
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_hash: Option<String>,
}

impl Envelope {
    /// The envelope of a stored event.
    pub fn of(event: &StoredEvent) -> Self {
        let (mut payload, mut payload_text, mut payload_hex) = (None, None, None);
        match std::str::from_utf8(&event.payload) {
            Ok(text) if !text.contains('\n') => match RawValue::from_string(text.to_owned()) {
                Ok(raw) if raw.get() == text => payload = Some(raw),
                _ => payload_text = Some(text.to_owned()),
            },
            Ok(text) => payload_text = Some(text.to_owned()),
            Err(_) => payload_hex = Some(hex(&event.payload)),
        }
        Envelope {
            position: event.position,
            stream_id: event.stream_id,
            version: event.version,
            event_id: event.event_id,
            aggregate_type: event.aggregate_type.clone(),
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            timestamp: event.timestamp.to_string(),
            timestamp_micros: event.timestamp.unix_micros(),
            metadata: event.metadata.clone(),
            payload,
            payload_text,
            payload_hex,
            chain_hash: event.chain_hash.map(|hash| hash.to_string()),
        }
    }

    /// The payload's bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, CliError> {
        match (&self.payload, &self.payload_text, &self.payload_hex) {
            (Some(json), None, None) => Ok(json.get().as_bytes().to_vec()),
            (None, Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, None, Some(hex)) => unhex(hex)
                .ok_or_else(|| self.invalid("payload_hex is not an even number of hex digits")),
            _ => Err(self.invalid("needs exactly one of payload, payload_text and payload_hex")),
        }
    }

    /// The event to append again (same id, type, time, metadata, payload
    /// and chain hash).
    pub fn to_new_event(&self) -> Result<NewEvent, CliError> {
        let chain_hash = self
            .chain_hash
            .as_deref()
            .map(|hash| hash.parse::<ChainHash>())
            .transpose()
            .map_err(|error| self.invalid(&error.to_string()))?;
        Ok(NewEvent {
            event_id: self.event_id,
            aggregate_type: self.aggregate_type.clone().unwrap_or_default(),
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            timestamp: Timestamp::from_unix_micros(self.timestamp_micros),
            metadata: self.metadata.clone(),
            payload: self.payload_bytes()?,
            chain_hash,
        })
    }

    fn invalid(&self, why: &str) -> CliError {
        CliError::new(format!(
            "event {} version {} of stream {}: {why}",
            self.event_id, self.version, self.stream_id
        ))
    }

    /// The payload as people read it: the JSON or text, else `<N bytes>`.
    pub fn payload_summary(&self) -> String {
        match (&self.payload, &self.payload_text) {
            (Some(json), _) => json.get().to_owned(),
            (None, Some(text)) => text.escape_debug().to_string(),
            _ => format!(
                "<{} bytes>",
                self.payload_hex.as_ref().map_or(0, |hex| hex.len() / 2)
            ),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(payload: &[u8]) -> StoredEvent {
        StoredEvent {
            position: 3,
            stream_id: Uuid::nil(),
            version: 2,
            event_id: Uuid::from_u128(7),
            aggregate_type: Some("Dog".into()),
            event_type: "TrickAdded".into(),
            schema_version: 1,
            timestamp: Timestamp::from_unix_micros(1_700_000_000_123_456),
            metadata: Metadata::new().with("user", "ann"),
            payload: payload.to_vec(),
            chain_hash: Some(ChainHash::from_bytes([9; 32])),
        }
    }

    #[test]
    fn payloads_round_trip_byte_for_byte_through_a_line() {
        let payloads: [&[u8]; 5] = [
            br#"{"trick":"sit","b":1}"#,
            b"  {\"spaced\": true}\n",
            b"not json",
            &[0, 159, 255],
            b"",
        ];
        for payload in payloads {
            let line = serde_json::to_string(&Envelope::of(&stored(payload))).unwrap();
            assert!(!line.contains('\n'), "{line}");
            let back: Envelope = serde_json::from_str(&line).unwrap();
            let event = back.to_new_event().unwrap();
            assert_eq!(event.payload, payload, "{line}");
            assert_eq!(event.chain_hash, Some(ChainHash::from_bytes([9; 32])));
            assert_eq!(event.timestamp.unix_micros(), 1_700_000_000_123_456);
            assert_eq!(event.metadata, Metadata::new().with("user", "ann"));
        }
        let json = Envelope::of(&stored(br#"{"trick":"sit"}"#));
        assert_eq!(json.payload_summary(), r#"{"trick":"sit"}"#);
        assert_eq!(
            Envelope::of(&stored(&[0, 159])).payload_summary(),
            "<2 bytes>"
        );
    }

    #[test]
    fn a_bad_payload_field_is_named() {
        let mut envelope = Envelope::of(&stored(&[1]));
        envelope.payload_hex = Some("abc".into());
        let error = envelope.to_new_event().unwrap_err().to_string();
        assert!(error.contains("payload_hex"), "{error}");
        envelope.payload_text = Some("x".into());
        let error = envelope.to_new_event().unwrap_err().to_string();
        assert!(error.contains("exactly one"), "{error}");
    }
}
