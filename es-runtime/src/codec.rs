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
