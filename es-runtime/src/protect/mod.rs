//! Protected payloads: compression (feature `compression`), authenticated
//! encryption and crypto-shredding (feature `encryption`).
//!
//! A [`Protection`] is a [`PayloadProtection`] for
//! [`ApplicationBuilder::protection`](crate::ApplicationBuilder::protection).
//! It compresses first, then encrypts (encrypted data does not compress):
//!
//! ```
//! # #[cfg(all(feature = "compression", feature = "encryption"))]
//! # async fn demo() -> Result<(), chronicle_es_runtime::Error> {
//! use chronicle_es_runtime::protect::{CipherKey, MemoryKeyStore, Protection};
//! use chronicle_es_runtime::store::MemoryStore;
//! use chronicle_es_runtime::Application;
//!
//! // One key for every payload (from CHRONICLE_CIPHER_KEY, hex or base64):
//! let protection = Protection::builder()
//!     .compress()
//!     .encrypt(CipherKey::from_env()?)
//!     .build();
//!
//! // Or a data key per aggregate, wrapped with the master key, which can be
//! // forgotten (crypto-shredding):
//! let protection = Protection::builder()
//!     .compress()
//!     .encrypt_per_stream(CipherKey::from_env()?, MemoryKeyStore::new())
//!     .build();
//! let app = Application::builder(MemoryStore::new())
//!     .protection(protection.clone()) // clones share keys and cache
//!     .build();
//! # let dog_id = chronicle_es_runtime::Uuid::new_v4();
//! protection.forget(dog_id).await?;   // the dog's payloads are unreadable now
//! # Ok(())
//! # }
//! ```
//!
//! # Stored format
//! Every protected payload starts with one format byte: the high nibble is
//! the format generation (`1`), the low nibble says what was done:
//!
//! | bit    | meaning                                                     |
//! |--------|-------------------------------------------------------------|
//! | `0x01` | compressed (a zlib stream, RFC 1950, with its Adler-32)     |
//! | `0x02` | encrypted (ChaCha20-Poly1305, RFC 8439)                     |
//! | `0x04` | encrypted with the stream's data key, not the master key    |
//! | `0x08` | reserved (a payload with it set is malformed)               |
//!
//! - not encrypted: `format || body`, where the body is the codec's bytes, or
//!   their zlib stream when bit `0x01` is set;
//! - encrypted: `format || nonce (12 random bytes) || ciphertext || tag (16)`,
//!   the ciphertext being the encrypted body. The associated data is
//!   `format || stream id (16 bytes)`: the format byte cannot be changed (say
//!   to skip decompression) and a payload copied into another stream does not
//!   authenticate.
//!
//! A payload is compressed only when it has at least
//! [`compress_min_size`](ProtectionBuilder::compress_min_size) bytes (64 by
//! default) and compression makes it smaller, so the overhead of compression
//! alone is one byte; of encryption, 29 bytes.
//!
//! Reading follows the format byte, not the configuration: compression can be
//! turned on or off at any time. A protection that encrypts refuses a payload
//! that is not encrypted ([`ProtectionError::Tampered`]: it could have been
//! written by anyone). Payloads written before protection was turned on (plain
//! JSON starts with `{`, `0x7b`) are reported as
//! [`ProtectionError::Malformed`]: migrate them by re-writing the streams.
//!
//! # Errors
//! - the wrong key, a changed byte, a payload moved to another stream, an
//!   unencrypted payload where encryption is required:
//!   [`ProtectionError::Tampered`] naming the stream;
//! - a payload too short, an unknown format byte, a zlib stream that does not
//!   decompress (or decompresses beyond
//!   [`max_payload_size`](ProtectionBuilder::max_payload_size)), a payload
//!   encrypted one way read by a protection configured another:
//!   [`ProtectionError::Malformed`] naming the stream and the reason;
//! - a stream whose data key was forgotten: [`ProtectionError::Forgotten`].
//!
//! A truncated encrypted payload that still holds a nonce and a tag is, to
//! the cipher, a changed one: `Tampered`.
//!
//! Integrity is per payload and per stream: the protection does not see event
//! versions, so it cannot tell two payloads of the same stream swapped (their
//! event types, stored beside them, then usually fail to decode).
//!
//! # Keys
//! [`CipherKey`] is a 256-bit key from bytes, hexadecimal, base64 or the
//! environment variable `CHRONICLE_CIPHER_KEY`. Nonces are random, so one key
//! should seal fewer than 2^32 payloads; per-stream keys make that moot.
//! There is no master-key rotation yet: a new master key cannot read data
//! keys wrapped with the old one.
//!
//! # Crypto-shredding: per-stream data keys
//! With [`encrypt_per_stream`](ProtectionBuilder::encrypt_per_stream), every
//! stream (aggregate) gets its own random data key on its first write,
//! stored in a [`KeyStore`] wrapped (encrypted, bound to the stream id) with
//! the master key: [`MemoryKeyStore`], `SqliteKeyStore` (feature `sqlite`,
//! table `data_keys` in the event store's database, on the event store's
//! threads) or `PostgresKeyStore` (feature `postgres`, table `data_keys` in a
//! schema, usually the event store's). Unwrapped keys are cached in
//! memory (10,000 streams and 5 minutes by default,
//! [`key_cache_capacity`](ProtectionBuilder::key_cache_capacity),
//! [`key_cache_ttl`](ProtectionBuilder::key_cache_ttl)), so a stream costs
//! at most one key-store round trip per batch of payloads and usually none.
//!
//! [`Protection::forget`] deletes a stream's key and leaves a tombstone, so
//! the stream never gets a new key: reading any of its payloads, and writing
//! new ones, gives [`ProtectionError::Forgotten`]; loading the aggregate
//! through an [`Application`](crate::Application) gives
//! `Error::Protection(ProtectionError::Forgotten { .. })`.
//!
//! **What is erased:** the stream's data key, hence the readable content of
//! the payloads of its events and snapshots, in every copy of the event store
//! (backups of the events included), as long as no copy of the key survives.
//!
//! **What is not erased:**
//! - everything stored beside the payloads: stream ids, event ids, versions,
//!   event types, schema versions, timestamps, log positions, snapshot types,
//!   tracking records, and **metadata: correlation and causation ids and the
//!   user key/values of [`Metadata`](crate::Metadata)**, which are never
//!   encrypted. Keep personal data out of metadata;
//! - anything derived from the payloads before the key was forgotten: read
//!   models, projections, caches, logs, exports, messages sent;
//! - payloads written before per-stream encryption was turned on, or with
//!   [`encrypt`](ProtectionBuilder::encrypt) (the master key);
//! - copies of the key: backups of the key store (and with it the master key),
//!   the database's write-ahead log and free pages until they are reused or
//!   vacuumed (the SQLite key store turns `secure_delete` on and checkpoints
//!   after a forget; PostgreSQL keeps the old row version until `VACUUM` and
//!   in WAL archives), and the key caches of *other* processes until their
//!   time to live runs out (`forget` clears this protection's cache at once);
//! - the sizes of payloads, which hint at their content.
//!
//! # Cost
//! Compression and encryption run on the calling task: both take
//! microseconds for the payloads of ordinary events (see
//! `cargo bench --bench codecs --all-features`).

#[cfg(feature = "encryption")]
mod cipher;
#[cfg(feature = "compression")]
mod compression;
#[cfg(feature = "encryption")]
mod keys;
mod payload;
#[cfg(all(feature = "encryption", feature = "postgres"))]
mod postgres;
#[cfg(any(feature = "compression", feature = "encryption"))]
mod protection;
#[cfg(all(feature = "encryption", feature = "sqlite"))]
mod sqlite;

#[cfg(feature = "encryption")]
pub use cipher::{CipherKey, CIPHER_KEY_ENV};
#[cfg(feature = "encryption")]
pub use keys::{KeyRecord, KeyStore, MemoryKeyStore};
pub use payload::{PayloadProtection, ProtectionError};
#[cfg(all(feature = "encryption", feature = "postgres"))]
pub use postgres::PostgresKeyStore;
#[cfg(any(feature = "compression", feature = "encryption"))]
pub use protection::{Protection, ProtectionBuilder};
#[cfg(all(feature = "encryption", feature = "sqlite"))]
pub use sqlite::SqliteKeyStore;
