//! Payload protection: what happens to encoded payloads between the codec and
//! the store (compression, encryption, per-aggregate keys).
//!
//! The application's [`Mapper`](crate::Mapper) calls
//! [`protect`](PayloadProtection::protect) on every encoded payload of a
//! stream before it is appended, and
//! [`unprotect`](PayloadProtection::unprotect) on every payload read back,
//! one stream at a time so that per-stream keys are looked up once per batch.

use uuid::Uuid;

use crate::BoxFuture;

/// Why a payload could not be protected or unprotected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectionError {
    /// The stream's data key was deleted (crypto-shredding): its protected
    /// payloads can no longer be read.
    #[error("the data key of stream {stream_id} has been forgotten; its payloads cannot be read")]
    Forgotten {
        /// The stream.
        stream_id: Uuid,
    },
    /// Authentication failed: the wrong key, or a payload that was changed.
    #[error("payload of stream {stream_id} failed authentication (wrong key or tampered data)")]
    Tampered {
        /// The stream.
        stream_id: Uuid,
    },
    /// A payload that is not in the protected format (too short, unknown
    /// header, bad compression).
    #[error("payload of stream {stream_id} is malformed: {reason}")]
    Malformed {
        /// The stream.
        stream_id: Uuid,
        /// What is wrong.
        reason: String,
    },
    /// The protection is misconfigured (a key of the wrong length, ...).
    #[error("payload protection configuration: {0}")]
    Config(String),
    /// The key store failed.
    #[error("key store: {0}")]
    KeyStore(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Transforms encoded payloads on their way to and from the store.
pub trait PayloadProtection: Send + Sync + 'static {
    /// Protects the encoded payloads of one stream, in place.
    fn protect<'a>(
        &'a self,
        stream_id: Uuid,
        payloads: &'a mut [Vec<u8>],
    ) -> BoxFuture<'a, Result<(), ProtectionError>>;

    /// Reverses [`protect`](Self::protect) on payloads read from one stream,
    /// in place.
    fn unprotect<'a>(
        &'a self,
        stream_id: Uuid,
        payloads: &'a mut [Vec<u8>],
    ) -> BoxFuture<'a, Result<(), ProtectionError>>;
}
