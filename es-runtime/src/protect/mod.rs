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
//! use chronicle_es_runtime::{Application, MemoryStore};
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
//! table `data_keys` in the event store's file) or `PostgresKeyStore` (feature
//! `postgres`, table `data_keys` in a schema). Unwrapped keys are cached in
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
#[cfg(all(feature = "encryption", feature = "postgres"))]
mod postgres;
#[cfg(all(feature = "encryption", feature = "sqlite"))]
mod sqlite;

#[cfg(feature = "encryption")]
use std::sync::Arc;
#[cfg(feature = "encryption")]
use std::time::Duration;

#[cfg(feature = "encryption")]
use chacha20poly1305::ChaCha20Poly1305;
use uuid::Uuid;

#[cfg(feature = "encryption")]
pub use cipher::{CipherKey, CIPHER_KEY_ENV};
#[cfg(feature = "encryption")]
pub use keys::{KeyRecord, KeyStore, MemoryKeyStore};
#[cfg(all(feature = "encryption", feature = "postgres"))]
pub use postgres::PostgresKeyStore;
#[cfg(all(feature = "encryption", feature = "sqlite"))]
pub use sqlite::SqliteKeyStore;

use crate::protection::{BoxFuture, PayloadProtection, ProtectionError};

/// The format generation, in the high nibble of the format byte.
const GENERATION_1: u8 = 0x10;
/// Format bit: the body is a zlib stream.
const COMPRESSED: u8 = 0x01;
/// Format bit: the body is encrypted.
const ENCRYPTED: u8 = 0x02;
/// Format bit: encrypted with the stream's data key.
const STREAM_KEY: u8 = 0x04;
/// Every format bit this code knows.
const KNOWN: u8 = COMPRESSED | ENCRYPTED | STREAM_KEY;

/// Payloads larger than this (after decompression) are refused by default.
const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024 * 1024;
#[cfg(feature = "encryption")]
const DEFAULT_CACHE_CAPACITY: usize = 10_000;
#[cfg(feature = "encryption")]
const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// Compresses and/or encrypts payloads (see the [module docs](self)).
/// Cheap to clone: clones share keys and caches, so keep one to call
/// [`forget`](Self::forget) after handing another to an application.
#[derive(Clone)]
pub struct Protection {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    compression: Option<CompressionConfig>,
    #[cfg(feature = "encryption")]
    encryption: Option<Encryption>,
    max_payload_size: usize,
}

#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "compression"), allow(dead_code))]
struct CompressionConfig {
    level: u32,
    min_size: usize,
}

#[cfg(feature = "encryption")]
enum Encryption {
    /// One key for every payload.
    Single(ChaCha20Poly1305),
    /// A data key per stream, wrapped with the master key.
    PerStream {
        master: ChaCha20Poly1305,
        store: Arc<dyn KeyStore>,
        cache: keys::KeyCache,
    },
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Protection");
        debug.field("compressed", &self.inner.compression.is_some());
        #[cfg(feature = "encryption")]
        debug.field(
            "encryption",
            &match &self.inner.encryption {
                None => "none",
                Some(Encryption::Single(_)) => "one key",
                Some(Encryption::PerStream { .. }) => "per-stream keys",
            },
        );
        debug.finish_non_exhaustive()
    }
}

/// Options for a [`Protection`]: start with [`Protection::builder`].
#[must_use]
pub struct ProtectionBuilder {
    compression: Option<CompressionConfig>,
    #[cfg(feature = "encryption")]
    encryption: Option<EncryptionConfig>,
    #[cfg(feature = "encryption")]
    cache_capacity: usize,
    #[cfg(feature = "encryption")]
    cache_ttl: Option<Duration>,
    max_payload_size: usize,
}

#[cfg(feature = "encryption")]
enum EncryptionConfig {
    Single(CipherKey),
    PerStream(CipherKey, Arc<dyn KeyStore>),
}

impl Protection {
    /// Options for a protection; by itself, `build()` gives one that only
    /// adds the format byte.
    pub fn builder() -> ProtectionBuilder {
        ProtectionBuilder {
            compression: None,
            #[cfg(feature = "encryption")]
            encryption: None,
            #[cfg(feature = "encryption")]
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            #[cfg(feature = "encryption")]
            cache_ttl: Some(DEFAULT_CACHE_TTL),
            max_payload_size: DEFAULT_MAX_PAYLOAD,
        }
    }
}

impl ProtectionBuilder {
    /// Compresses payloads with zlib (level 6) before any encryption.
    #[cfg(feature = "compression")]
    pub fn compress(mut self) -> Self {
        self.compression.get_or_insert(CompressionConfig {
            level: compression::DEFAULT_LEVEL,
            min_size: compression::DEFAULT_MIN_SIZE,
        });
        self
    }

    /// Compresses at `level`, 0 (store) to 9 (smallest); implies
    /// [`compress`](Self::compress).
    #[cfg(feature = "compression")]
    pub fn compression_level(mut self, level: u32) -> Self {
        self = self.compress();
        if let Some(config) = &mut self.compression {
            config.level = level.min(9);
        }
        self
    }

    /// Leaves payloads shorter than `bytes` uncompressed (default 64);
    /// implies [`compress`](Self::compress).
    #[cfg(feature = "compression")]
    pub fn compress_min_size(mut self, bytes: usize) -> Self {
        self = self.compress();
        if let Some(config) = &mut self.compression {
            config.min_size = bytes;
        }
        self
    }

    /// Encrypts every payload with `key`.
    #[cfg(feature = "encryption")]
    pub fn encrypt(mut self, key: CipherKey) -> Self {
        self.encryption = Some(EncryptionConfig::Single(key));
        self
    }

    /// Encrypts each stream's payloads with its own data key, created on
    /// the stream's first write and kept in `store` wrapped with
    /// `master_key`; [`Protection::forget`] erases it.
    #[cfg(feature = "encryption")]
    pub fn encrypt_per_stream(mut self, master_key: CipherKey, store: impl KeyStore) -> Self {
        self.encryption = Some(EncryptionConfig::PerStream(master_key, Arc::new(store)));
        self
    }

    /// Caches at most `streams` unwrapped data keys (default 10,000; 0
    /// turns caching off).
    #[cfg(feature = "encryption")]
    pub fn key_cache_capacity(mut self, streams: usize) -> Self {
        self.cache_capacity = streams;
        self
    }

    /// Reloads a cached data key after `ttl` (default 5 minutes; `None`:
    /// never), which bounds how long another process's `forget` goes
    /// unnoticed here.
    #[cfg(feature = "encryption")]
    pub fn key_cache_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Refuses payloads that decompress to more than `bytes` (default 64 MiB).
    pub fn max_payload_size(mut self, bytes: usize) -> Self {
        self.max_payload_size = bytes;
        self
    }

    /// The protection.
    pub fn build(self) -> Protection {
        Protection {
            inner: std::sync::Arc::new(Inner {
                compression: self.compression,
                #[cfg(feature = "encryption")]
                encryption: self.encryption.map(|config| match config {
                    EncryptionConfig::Single(key) => Encryption::Single(key.cipher()),
                    EncryptionConfig::PerStream(master, store) => Encryption::PerStream {
                        master: master.cipher(),
                        store,
                        cache: keys::KeyCache::new(self.cache_capacity, self.cache_ttl),
                    },
                }),
                max_payload_size: self.max_payload_size,
            }),
        }
    }
}

impl Protection {
    /// Crypto-shredding: deletes the data key of `stream_id` (leaving a
    /// tombstone) and drops it from this protection's cache. Afterwards every
    /// payload of the stream, events and snapshots, gives
    /// [`ProtectionError::Forgotten`], and so does writing to the stream. See
    /// the [module docs](self) for what this does not erase.
    ///
    /// A [`ProtectionError::Config`] error unless the protection was built
    /// with [`encrypt_per_stream`](ProtectionBuilder::encrypt_per_stream).
    #[cfg(feature = "encryption")]
    pub async fn forget(&self, stream_id: Uuid) -> Result<(), ProtectionError> {
        let Some(Encryption::PerStream { store, cache, .. }) = &self.inner.encryption else {
            return Err(ProtectionError::Config(
                "forget needs per-stream data keys (ProtectionBuilder::encrypt_per_stream)".into(),
            ));
        };
        cache.remove(stream_id);
        let result = store.forget(stream_id).await;
        // Again: a load that raced with the deletion must not stay cached.
        cache.remove(stream_id);
        result
    }

    /// The cipher sealing the payloads of `stream_id`, creating the stream's
    /// data key if `create` and it has none; `None` when not encrypting.
    #[cfg(feature = "encryption")]
    async fn cipher_for(
        &self,
        stream_id: Uuid,
        create: bool,
    ) -> Result<Option<CipherRef<'_>>, ProtectionError> {
        let Some(encryption) = &self.inner.encryption else {
            return Ok(None);
        };
        let (master, store, cache) = match encryption {
            Encryption::Single(cipher) => return Ok(Some(CipherRef::Master(cipher))),
            Encryption::PerStream {
                master,
                store,
                cache,
            } => (master, store, cache),
        };
        if let Some(cipher) = cache.get(stream_id) {
            return Ok(Some(CipherRef::Stream(cipher)));
        }
        let generation = cache.generation();
        let record = match store.load(stream_id).await? {
            Some(record) => record,
            None if create => {
                let (_, wrapped) = keys::new_data_key(master, stream_id)?;
                store.create(stream_id, wrapped).await?
            }
            None => return Err(ProtectionError::Forgotten { stream_id }),
        };
        let wrapped = match record {
            keys::KeyRecord::Active(wrapped) => wrapped,
            keys::KeyRecord::Forgotten => return Err(ProtectionError::Forgotten { stream_id }),
        };
        let cipher = Arc::new(keys::unwrap_data_key(master, stream_id, &wrapped)?.cipher());
        cache.insert(stream_id, Arc::clone(&cipher), generation);
        Ok(Some(CipherRef::Stream(cipher)))
    }

    fn protect_one(
        &self,
        stream_id: Uuid,
        payload: &mut Vec<u8>,
        #[cfg(feature = "encryption")] cipher: Option<(&CipherRef<'_>, [u8; cipher::NONCE_LEN])>,
    ) -> Result<(), ProtectionError> {
        let mut format = GENERATION_1;
        #[cfg(feature = "compression")]
        if let Some(config) = self.inner.compression {
            if payload.len() >= config.min_size {
                if let Some(compressed) = compression::compress(payload, config.level) {
                    *payload = compressed;
                    format |= COMPRESSED;
                }
            }
        }
        #[cfg(feature = "encryption")]
        if let Some((cipher, nonce)) = cipher {
            format |= ENCRYPTED;
            if let CipherRef::Stream(_) = cipher {
                format |= STREAM_KEY;
            }
            *payload = cipher::seal_with_nonce(
                cipher.get(),
                &[format],
                nonce,
                &associated_data(format, stream_id),
                payload,
            )?;
            return Ok(());
        }
        let _ = stream_id;
        payload.insert(0, format);
        Ok(())
    }

    fn unprotect_one(
        &self,
        stream_id: Uuid,
        payload: &mut Vec<u8>,
        #[cfg(feature = "encryption")] cipher: Option<&CipherRef<'_>>,
    ) -> Result<(), ProtectionError> {
        let malformed = |reason: String| ProtectionError::Malformed { stream_id, reason };
        let format = check_format(stream_id, payload)?;
        let mut body = if format & ENCRYPTED != 0 {
            #[cfg(feature = "encryption")]
            {
                let Some(cipher) = cipher else {
                    return Err(malformed(
                        "it is encrypted, but this protection has no key".into(),
                    ));
                };
                let sealed = payload.get(1..).unwrap_or_default();
                cipher::open(cipher.get(), &associated_data(format, stream_id), sealed).map_err(
                    |error| match error {
                        cipher::OpenError::Truncated => malformed(format!(
                            "an encrypted payload has at least {} bytes, this one {}",
                            1 + cipher::NONCE_LEN + cipher::TAG_LEN,
                            payload.len()
                        )),
                        cipher::OpenError::Forged => ProtectionError::Tampered { stream_id },
                    },
                )?
            }
            #[cfg(not(feature = "encryption"))]
            {
                return Err(malformed(
                    "it is encrypted, but chronicle was built without the `encryption` feature"
                        .into(),
                ));
            }
        } else {
            #[cfg(feature = "encryption")]
            if self.inner.encryption.is_some() {
                // Anyone could have written an unencrypted payload.
                return Err(ProtectionError::Tampered { stream_id });
            }
            payload.drain(..1);
            std::mem::take(payload)
        };
        if format & COMPRESSED != 0 {
            #[cfg(feature = "compression")]
            {
                body = compression::decompress(&body, self.inner.max_payload_size)
                    .map_err(malformed)?;
            }
            #[cfg(not(feature = "compression"))]
            {
                return Err(malformed(
                    "it is compressed, but chronicle was built without the `compression` feature"
                        .into(),
                ));
            }
        }
        if body.len() > self.inner.max_payload_size {
            return Err(malformed(format!(
                "it has more than the {}-byte payload limit",
                self.inner.max_payload_size
            )));
        }
        *payload = std::mem::take(&mut body);
        Ok(())
    }

    /// Refuses a payload encrypted with another kind of key than this
    /// protection uses.
    #[cfg(feature = "encryption")]
    fn check_key_mode(&self, stream_id: Uuid, payload: &[u8]) -> Result<(), ProtectionError> {
        let Ok(format) = check_format(stream_id, payload) else {
            return Ok(()); // `unprotect_one` says what is wrong.
        };
        let reason = match &self.inner.encryption {
            Some(Encryption::Single(_)) if format & STREAM_KEY != 0 => {
                "it is encrypted with a per-stream data key, but this protection uses one key"
            }
            Some(Encryption::PerStream { .. })
                if format & ENCRYPTED != 0 && format & STREAM_KEY == 0 =>
            {
                "it is encrypted with one key for all streams, but this protection uses per-stream data keys"
            }
            _ => return Ok(()),
        };
        Err(ProtectionError::Malformed {
            stream_id,
            reason: reason.into(),
        })
    }

    /// Whether unprotecting these payloads needs the stream's data key.
    #[cfg(feature = "encryption")]
    fn needs_stream_key(payloads: &[Vec<u8>]) -> bool {
        payloads.iter().any(|payload| {
            payload
                .first()
                .is_some_and(|format| format & STREAM_KEY != 0)
        })
    }
}

/// Checks the format byte of a protected payload.
fn check_format(stream_id: Uuid, payload: &[u8]) -> Result<u8, ProtectionError> {
    let malformed = |reason: String| ProtectionError::Malformed { stream_id, reason };
    let Some(&format) = payload.first() else {
        return Err(malformed("it is empty".into()));
    };
    if format & 0xf0 != GENERATION_1 {
        return Err(malformed(format!(
            "unknown format byte {format:#04x} (not a protected payload, or a newer format)"
        )));
    }
    if format & !(GENERATION_1 | KNOWN) != 0
        || (format & STREAM_KEY != 0 && format & ENCRYPTED == 0)
    {
        return Err(malformed(format!("unknown format byte {format:#04x}")));
    }
    Ok(format)
}

/// What encrypted payloads authenticate besides their ciphertext.
#[cfg(feature = "encryption")]
fn associated_data(format: u8, stream_id: Uuid) -> [u8; 17] {
    let mut aad = [0u8; 17];
    aad[0] = format;
    aad[1..].copy_from_slice(stream_id.as_bytes());
    aad
}

/// The cipher for one stream's batch.
#[cfg(feature = "encryption")]
enum CipherRef<'a> {
    Master(&'a ChaCha20Poly1305),
    Stream(Arc<ChaCha20Poly1305>),
}

#[cfg(feature = "encryption")]
impl CipherRef<'_> {
    fn get(&self) -> &ChaCha20Poly1305 {
        match self {
            CipherRef::Master(cipher) => cipher,
            CipherRef::Stream(cipher) => cipher,
        }
    }
}

impl PayloadProtection for Protection {
    fn protect<'a>(
        &'a self,
        stream_id: Uuid,
        payloads: &'a mut [Vec<u8>],
    ) -> BoxFuture<'a, Result<(), ProtectionError>> {
        Box::pin(async move {
            if payloads.is_empty() {
                return Ok(());
            }
            #[cfg(feature = "encryption")]
            {
                let cipher = self.cipher_for(stream_id, true).await?;
                if let Some(cipher) = &cipher {
                    // One call to the system's generator for the whole batch.
                    let mut nonces = vec![0u8; cipher::NONCE_LEN * payloads.len()];
                    cipher::random(&mut nonces)?;
                    for (payload, nonce) in payloads
                        .iter_mut()
                        .zip(nonces.chunks_exact(cipher::NONCE_LEN))
                    {
                        let nonce = nonce.try_into().map_err(|_| {
                            ProtectionError::Config("nonce of the wrong length".into())
                        })?;
                        self.protect_one(stream_id, payload, Some((cipher, nonce)))?;
                    }
                    return Ok(());
                }
            }
            for payload in payloads.iter_mut() {
                self.protect_one(
                    stream_id,
                    payload,
                    #[cfg(feature = "encryption")]
                    None,
                )?;
            }
            Ok(())
        })
    }

    fn unprotect<'a>(
        &'a self,
        stream_id: Uuid,
        payloads: &'a mut [Vec<u8>],
    ) -> BoxFuture<'a, Result<(), ProtectionError>> {
        Box::pin(async move {
            #[cfg(feature = "encryption")]
            let cipher = match &self.inner.encryption {
                Some(Encryption::PerStream { .. }) if !Self::needs_stream_key(payloads) => None,
                _ => self.cipher_for(stream_id, false).await?,
            };
            for payload in payloads.iter_mut() {
                #[cfg(feature = "encryption")]
                self.check_key_mode(stream_id, payload)?;
                self.unprotect_one(
                    stream_id,
                    payload,
                    #[cfg(feature = "encryption")]
                    cipher.as_ref(),
                )?;
            }
            Ok(())
        })
    }
}
