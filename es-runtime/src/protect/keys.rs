//! Per-stream data keys (feature `encryption`): the [`KeyStore`] contract,
//! [`MemoryKeyStore`], wrapping with the master key, and the bounded cache of
//! unwrapped keys.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chacha20poly1305::ChaCha20Poly1305;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::cipher::{open, random, seal, CipherKey, OpenError, KEY_LEN, NONCE_LEN, TAG_LEN};
use super::payload::ProtectionError;
use crate::BoxFuture;

/// What a [`KeyStore`] holds for a stream.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyRecord {
    /// The stream's data key, wrapped (encrypted) with the master key: opaque
    /// bytes to the store.
    Active(Vec<u8>),
    /// The key was deleted by [`KeyStore::forget`]; only this tombstone
    /// remains, so that the stream is never given a new key.
    Forgotten,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRecord::Active(wrapped) => write!(f, "Active({} wrapped bytes)", wrapped.len()),
            KeyRecord::Forgotten => f.write_str("Forgotten"),
        }
    }
}

/// Where per-stream data keys live, wrapped with the master key.
///
/// Implementations only store bytes: wrapping, unwrapping and caching are the
/// [`Protection`](super::Protection)'s. Dyn-compatible; `Arc<K>` is a key
/// store too, so one store can be shared.
pub trait KeyStore: Send + Sync + 'static {
    /// What the store holds for `stream_id`: `None` when it never had a key.
    fn load(&self, stream_id: Uuid) -> BoxFuture<'_, Result<Option<KeyRecord>, ProtectionError>>;

    /// Stores `wrapped_key` for `stream_id` unless the stream already has a
    /// record (a key, or a tombstone), and returns the record in force: the
    /// new key, or what was there first (another writer may have won the
    /// race).
    fn create(
        &self,
        stream_id: Uuid,
        wrapped_key: Vec<u8>,
    ) -> BoxFuture<'_, Result<KeyRecord, ProtectionError>>;

    /// Deletes the key of `stream_id` and leaves a tombstone (also when the
    /// stream had no key yet). Idempotent.
    fn forget(&self, stream_id: Uuid) -> BoxFuture<'_, Result<(), ProtectionError>>;
}

impl<K: KeyStore + ?Sized> KeyStore for Arc<K> {
    fn load(&self, stream_id: Uuid) -> BoxFuture<'_, Result<Option<KeyRecord>, ProtectionError>> {
        (**self).load(stream_id)
    }

    fn create(
        &self,
        stream_id: Uuid,
        wrapped_key: Vec<u8>,
    ) -> BoxFuture<'_, Result<KeyRecord, ProtectionError>> {
        (**self).create(stream_id, wrapped_key)
    }

    fn forget(&self, stream_id: Uuid) -> BoxFuture<'_, Result<(), ProtectionError>> {
        (**self).forget(stream_id)
    }
}

/// Keys in process memory: for tests and for the in-memory store. Clones
/// share the keys.
#[derive(Debug, Clone, Default)]
pub struct MemoryKeyStore {
    records: Arc<Mutex<HashMap<Uuid, KeyRecord>>>,
}

impl MemoryKeyStore {
    /// An empty key store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many streams have a record (a key or a tombstone).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no stream has a record.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, KeyRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyStore for MemoryKeyStore {
    fn load(&self, stream_id: Uuid) -> BoxFuture<'_, Result<Option<KeyRecord>, ProtectionError>> {
        let record = self.lock().get(&stream_id).cloned();
        Box::pin(async move { Ok(record) })
    }

    fn create(
        &self,
        stream_id: Uuid,
        wrapped_key: Vec<u8>,
    ) -> BoxFuture<'_, Result<KeyRecord, ProtectionError>> {
        let record = self
            .lock()
            .entry(stream_id)
            .or_insert(KeyRecord::Active(wrapped_key))
            .clone();
        Box::pin(async move { Ok(record) })
    }

    fn forget(&self, stream_id: Uuid) -> BoxFuture<'_, Result<(), ProtectionError>> {
        self.lock().insert(stream_id, KeyRecord::Forgotten);
        Box::pin(async move { Ok(()) })
    }
}

/// Version byte of a wrapped data key.
const WRAP_V1: u8 = 1;
/// Domain separation: a wrapped key never authenticates as a payload.
const WRAP_CONTEXT: &[u8] = b"chronicle data key";
/// Bytes in a wrapped key: version, nonce, encrypted key, tag.
pub(crate) const WRAPPED_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;

fn wrap_aad(stream_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_CONTEXT.len() + 17);
    aad.extend_from_slice(WRAP_CONTEXT);
    aad.push(WRAP_V1);
    aad.extend_from_slice(stream_id.as_bytes());
    aad
}

/// A fresh data key for `stream_id`, and it wrapped with `master`
/// (`version || nonce || encrypted key || tag`, bound to the stream).
pub(crate) fn new_data_key(
    master: &ChaCha20Poly1305,
    stream_id: Uuid,
) -> Result<(CipherKey, Vec<u8>), ProtectionError> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    random(&mut bytes[..])?;
    let key = CipherKey::from_bytes(&bytes[..])?;
    let wrapped = seal(master, &[WRAP_V1], &wrap_aad(stream_id), &bytes[..])?;
    Ok((key, wrapped))
}

/// Unwraps a data key read from the key store.
pub(crate) fn unwrap_data_key(
    master: &ChaCha20Poly1305,
    stream_id: Uuid,
    wrapped: &[u8],
) -> Result<CipherKey, ProtectionError> {
    let malformed = |reason: &str| ProtectionError::Malformed {
        stream_id,
        reason: format!("its wrapped data key in the key store {reason}"),
    };
    match wrapped.split_first() {
        Some((&WRAP_V1, sealed)) if wrapped.len() == WRAPPED_LEN => {
            let bytes =
                Zeroizing::new(open(master, &wrap_aad(stream_id), sealed).map_err(|error| {
                    match error {
                        OpenError::Truncated => malformed("is truncated"),
                        // The wrong master key, or a key row changed or moved.
                        OpenError::Forged => ProtectionError::Tampered { stream_id },
                    }
                })?);
            CipherKey::from_bytes(&bytes)
        }
        Some((&WRAP_V1, _)) => Err(malformed(&format!(
            "has {} bytes instead of {WRAPPED_LEN}",
            wrapped.len()
        ))),
        Some((version, _)) => Err(malformed(&format!("has unknown version {version}"))),
        None => Err(malformed("is empty")),
    }
}

/// Unwrapped data keys, ready to use, bounded in number (CLOCK eviction: a
/// key used since the hand last passed gets a second chance) and optionally
/// in age, so that a key forgotten by another process stops being used here
/// after at most the time to live.
pub(crate) struct KeyCache {
    capacity: usize,
    ttl: Option<Duration>,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    keys: HashMap<Uuid, Cached>,
    clock: VecDeque<Uuid>,
    /// Bumped by every removal, so that a key loaded before a `forget` is not
    /// cached after it.
    generation: u64,
}

struct Cached {
    cipher: Arc<ChaCha20Poly1305>,
    loaded_at: Instant,
    used: bool,
}

impl KeyCache {
    pub(crate) fn new(capacity: usize, ttl: Option<Duration>) -> Self {
        Self {
            capacity,
            ttl,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached key of `stream_id`, if any and fresh.
    pub(crate) fn get(&self, stream_id: Uuid) -> Option<Arc<ChaCha20Poly1305>> {
        let mut inner = self.lock();
        let entry = inner.keys.get_mut(&stream_id)?;
        if self.ttl.is_some_and(|ttl| entry.loaded_at.elapsed() > ttl) {
            inner.keys.remove(&stream_id);
            return None;
        }
        entry.used = true;
        Some(Arc::clone(&entry.cipher))
    }

    /// The current generation, to pass to [`insert`](Self::insert) after a load.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Caches `cipher` for `stream_id`, unless something was removed since
    /// `generation` was read.
    pub(crate) fn insert(&self, stream_id: Uuid, cipher: Arc<ChaCha20Poly1305>, generation: u64) {
        if self.capacity == 0 {
            return;
        }
        let mut guard = self.lock();
        let inner = &mut *guard;
        if inner.generation != generation {
            return;
        }
        let cached = Cached {
            cipher,
            loaded_at: Instant::now(),
            used: false,
        };
        if let Entry::Occupied(mut entry) = inner.keys.entry(stream_id) {
            entry.insert(cached);
            return;
        }
        // Evict until there is room; each pass over the clock clears the
        // `used` bits, so this ends within two passes.
        let mut budget = inner.clock.len().saturating_mul(2);
        while inner.keys.len() >= self.capacity && budget > 0 {
            budget -= 1;
            let Some(candidate) = inner.clock.pop_front() else {
                break;
            };
            match inner.keys.get_mut(&candidate) {
                None => {} // removed earlier: a stale slot.
                Some(entry) if entry.used => {
                    entry.used = false;
                    inner.clock.push_back(candidate);
                }
                Some(_) => {
                    inner.keys.remove(&candidate);
                }
            }
        }
        if inner.keys.len() >= self.capacity {
            return;
        }
        inner.keys.insert(stream_id, cached);
        inner.clock.push_back(stream_id);
        // Stale slots (removed or expired keys) are dropped now and then.
        if inner.clock.len() > self.capacity.saturating_mul(2).saturating_add(16) {
            let keys = &inner.keys;
            inner.clock.retain(|id| keys.contains_key(id));
        }
    }

    /// Drops the key of `stream_id`.
    pub(crate) fn remove(&self, stream_id: Uuid) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.keys.remove(&stream_id);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Arc<ChaCha20Poly1305> {
        Arc::new(CipherKey::generate().unwrap().cipher())
    }

    #[test]
    fn wrapping_binds_key_and_stream() {
        let master = CipherKey::generate().unwrap().cipher();
        let stream = Uuid::new_v4();
        let (key, wrapped) = new_data_key(&master, stream).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        assert_eq!(unwrap_data_key(&master, stream, &wrapped).unwrap(), key);
        let other = CipherKey::generate().unwrap().cipher();
        assert!(matches!(
            unwrap_data_key(&other, stream, &wrapped),
            Err(ProtectionError::Tampered { .. })
        ));
        assert!(matches!(
            unwrap_data_key(&master, Uuid::new_v4(), &wrapped),
            Err(ProtectionError::Tampered { .. })
        ));
        assert!(matches!(
            unwrap_data_key(&master, stream, &wrapped[..10]),
            Err(ProtectionError::Malformed { .. })
        ));
        assert!(matches!(
            unwrap_data_key(&master, stream, &[]),
            Err(ProtectionError::Malformed { .. })
        ));
    }

    #[test]
    fn cache_is_bounded_and_keeps_used_keys() {
        let cache = KeyCache::new(3, None);
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        for id in &ids[..3] {
            cache.insert(*id, cipher(), cache.generation());
        }
        assert!(cache.get(ids[0]).is_some());
        cache.insert(ids[3], cipher(), cache.generation());
        assert_eq!(cache.len(), 3);
        assert!(
            cache.get(ids[0]).is_some(),
            "a used key gets a second chance"
        );
        assert!(cache.get(ids[1]).is_none(), "the oldest unused key goes");
        for _ in 0..100 {
            cache.insert(Uuid::new_v4(), cipher(), cache.generation());
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn removal_wins_over_a_load_in_flight() {
        let cache = KeyCache::new(10, None);
        let id = Uuid::new_v4();
        let generation = cache.generation();
        cache.remove(id);
        cache.insert(id, cipher(), generation);
        assert!(cache.get(id).is_none());
        cache.insert(id, cipher(), cache.generation());
        assert!(cache.get(id).is_some());
        cache.remove(id);
        assert!(cache.get(id).is_none());
    }

    #[test]
    fn expired_keys_are_reloaded() {
        let cache = KeyCache::new(10, Some(Duration::ZERO));
        let id = Uuid::new_v4();
        cache.insert(id, cipher(), cache.generation());
        std::thread::sleep(Duration::from_millis(2));
        assert!(cache.get(id).is_none());
    }

    #[tokio::test]
    async fn memory_key_store_keeps_tombstones() {
        let store = MemoryKeyStore::new();
        let id = Uuid::new_v4();
        assert_eq!(store.load(id).await.unwrap(), None);
        let first = store.create(id, vec![1]).await.unwrap();
        assert_eq!(first, KeyRecord::Active(vec![1]));
        assert_eq!(store.create(id, vec![2]).await.unwrap(), first);
        store.forget(id).await.unwrap();
        assert_eq!(store.load(id).await.unwrap(), Some(KeyRecord::Forgotten));
        assert_eq!(
            store.create(id, vec![3]).await.unwrap(),
            KeyRecord::Forgotten
        );
    }
}
