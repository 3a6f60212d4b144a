//! Codecs turn event payloads into bytes and back.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A serialization failure, from a codec.
#[derive(Debug, thiserror::Error)]
#[error("{codec}: {message}")]
pub struct CodecError {
    /// The codec that failed (`"json"`, ...).
    pub codec: &'static str,
    /// What went wrong, as the serializer reported it.
    pub message: String,
}

/// Serializes values to bytes and back.
///
/// Every store keeps encoded payloads, so the in-memory store exercises the
/// same path as the durable ones.
pub trait Codec: Send + Sync + 'static {
    /// A short name for errors and configuration (`"json"`).
    const NAME: &'static str;

    /// True when this codec writes every value of the plain types exactly
    /// and reads it back equal: strings, booleans, chars, integers up to 64
    /// bits, UUIDs, and options, vectors, pairs and string-keyed maps of
    /// them (not options of options). A save checks that each event it
    /// stores reads back equal; with such a codec it skips the check for
    /// events whose fields all have plain types. False unless a codec says
    /// so, as [`JsonCodec`] and `MsgPackCodec` do.
    const EXACT_FOR_PLAIN_TYPES: bool = false;

    /// Encodes `value`.
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError>;

    /// Decodes a value from `bytes`.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError>;
}

/// JSON via `serde_json`: readable in any database console. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    const NAME: &'static str = "json";
    const EXACT_FOR_PLAIN_TYPES: bool = true;

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        serde_json::to_vec(value).map_err(|e| CodecError {
            codec: Self::NAME,
            message: e.to_string(),
        })
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        serde_json::from_slice(bytes).map_err(|e| CodecError {
            codec: Self::NAME,
            message: e.to_string(),
        })
    }
}
