//! [`Protection`]: compression and encryption of payloads, and
//! crypto-shredding with per-stream data keys (see the [module docs](super)).

#[cfg(feature = "encryption")]
use std::sync::Arc;
#[cfg(feature = "encryption")]
use std::time::Duration;

#[cfg(feature = "encryption")]
use chacha20poly1305::ChaCha20Poly1305;
use uuid::Uuid;

#[cfg(feature = "encryption")]
use super::cipher::{self, CipherKey};
#[cfg(feature = "compression")]
use super::compression;
#[cfg(feature = "encryption")]
use super::keys::{self, KeyStore};
use super::payload::{PayloadProtection, ProtectionError};
use crate::BoxFuture;

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

/// Compresses and/or encrypts payloads (see the [module docs](super)).
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
    /// the [module docs](super) for what this does not erase.
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
