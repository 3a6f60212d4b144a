//! A bounded cache of loaded aggregates, kept current by fast-forwarding.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::application::Application;
use crate::codec::{Codec, JsonCodec};
use crate::error::Error;
use crate::store::{AppendOutcome, MemoryStore, SnapshotStore, StreamStore};

/// A bounded LRU cache of loaded aggregates of type `A`, read through an
/// [`Application`] and kept current by fast-forwarding them instead of
/// replaying them. Cheap to clone; clones share the entries.
///
/// [`AggregateCache`] keeps up to `capacity` aggregates of one type, least
/// recently used first out. [`get`](AggregateCache::get) never trusts an
/// entry blindly: it clones the cached aggregate and
/// [fast-forwards](crate::Repository::fast_forward) it, reading only the
/// events stored after the cached version. A hit therefore costs one small
/// read (usually empty) instead of a full replay, and it is this read that
/// keeps the cache correct when other copies of the aggregate, in this
/// process or any other, saved events behind its back: what `get` returns
/// includes every event stored before the call.
///
/// With the `chronicle-es` facade (`tests/cache.rs` runs the same steps):
///
/// ```ignore
/// use chronicle_es::prelude::*;
/// use chronicle_es::AggregateCache;
///
/// #[aggregate]
/// #[derive(Debug, Clone, PartialEq)]
/// pub struct Dog {
///     name: String,
/// }
///
/// #[aggregate]
/// impl Dog {
///     #[event("Registered")]
///     pub fn register(name: String) -> Self {
///         Self { name }
///     }
///
///     #[event("Renamed")]
///     pub fn rename(&mut self, name: String) {
///         self.name = name;
///     }
/// }
///
/// # async fn demo() -> Result<(), chronicle_es::Error> {
/// let app = Application::in_memory();
/// let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 1_000);
/// let mut dog = Dog::register("Fido".into());
/// cache.save(&mut dog).await?;              // saved and cached
///
/// let mut copy: Dog = app.get(dog.id()).await?;
/// copy.rename("Rex".into());
/// app.save(&mut copy).await?;               // saved behind the cache's back
///
/// let cached = cache.get(dog.id()).await?;  // a hit, fast-forwarded
/// assert_eq!(cached, copy);
/// assert_eq!(cache.stats().hits, 1);
/// # Ok(())
/// # }
/// ```
///
/// # What it caches
///
/// Latest versions only. Temporal queries
/// ([`Repository::get_at`](crate::Repository::get_at)) go to the repository:
/// an old version is not what the next `get` wants, and caching it would push
/// out entries that are.
///
/// # What it trusts
///
/// An entry only ever holds a version that was read from the store or that
/// [`save`](AggregateCache::save) has just written, so it is always a prefix
/// of its stream and fast-forwarding it is always correct. An aggregate
/// whose pending events were taken with
/// [`collect_events`](crate::AggregateMeta::collect_events) instead of being
/// saved does not describe its stream any more: do not save it through the
/// cache.
///
/// Cached aggregates are plaintext state held in memory. After
/// crypto-shredding an aggregate, [`evict`](AggregateCache::evict) it (or
/// [`clear`](AggregateCache::clear) the cache): a hit with no new events
/// reads nothing that needs the deleted key.
///
/// # Concurrency
///
/// The cache is `Send + Sync` and cheap to clone (clones share the entries).
/// Its entries sit behind a mutex that is held only for map and list
/// updates, never across a read from the store. Two tasks that miss the same
/// id at once both load it; the newer result is kept.
pub struct AggregateCache<A, S = MemoryStore, C = JsonCodec> {
    shared: Arc<Shared<A, S, C>>,
}

struct Shared<A, S, C> {
    app: Application<S, C>,
    state: Mutex<State<A>>,
}

struct State<A> {
    entries: Lru<A>,
    stats: CacheStats,
}

/// What the cache has done since it was created, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Gets that found the aggregate cached (and fast-forwarded it).
    pub hits: u64,
    /// Gets that did not, and loaded the aggregate from the store.
    pub misses: u64,
    /// Hits whose entry was behind the store: the fast-forward applied at
    /// least one event saved by another copy.
    pub caught_up: u64,
    /// Entries dropped to make room (least recently used first).
    pub evictions: u64,
    /// Entries dropped because a save or a fast-forward through the cache
    /// failed, or because [`evict`](AggregateCache::evict) or
    /// [`clear`](AggregateCache::clear) asked.
    pub invalidations: u64,
}

impl<A, S, C> Clone for AggregateCache<A, S, C> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<A, S, C> fmt::Debug for AggregateCache<A, S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("AggregateCache")
            .field("len", &state.entries.len())
            .field("capacity", &state.entries.capacity)
            .field("stats", &state.stats)
            .finish()
    }
}

/// Locks the cache's state. No code panics while holding the lock, so a
/// poisoned lock (a panic in a user's `Clone` or `Drop`) still guards
/// consistent entries: recover it.
fn lock<A>(state: &Mutex<State<A>>) -> MutexGuard<'_, State<A>> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<A, S, C> AggregateCache<A, S, C>
where
    A: Aggregate + Clone,
    S: StreamStore + SnapshotStore,
    C: Codec,
{
    /// A cache of up to `capacity` aggregates read through `app` (pass a
    /// clone: applications are cheap to clone). A capacity of 0 caches
    /// nothing: every get loads from the store.
    pub fn new(app: Application<S, C>, capacity: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                app,
                state: Mutex::new(State {
                    entries: Lru::new(capacity),
                    stats: CacheStats::default(),
                }),
            }),
        }
    }

    /// The application the cache reads and saves through.
    pub fn app(&self) -> &Application<S, C> {
        &self.shared.app
    }

    /// The aggregate `id` at its latest version.
    ///
    /// On a hit, a copy of the cached aggregate is fast-forwarded with the
    /// events stored after its version (one read, empty when nothing
    /// changed); on a miss, the aggregate is loaded as by
    /// [`Application::get`]. Either way the result includes every event
    /// stored before the call, and it is cached unless the cache already
    /// holds a newer version. [`Error::NotFound`] when there is no such
    /// aggregate.
    pub async fn get(&self, id: Uuid) -> Result<A, Error> {
        let cached = {
            let mut state = lock(&self.shared.state);
            let cached = state.entries.get(id).cloned();
            match cached {
                Some(_) => state.stats.hits += 1,
                None => state.stats.misses += 1,
            }
            cached
        };
        match cached {
            Some(copy) => {
                let before = copy.meta().version();
                match self.shared.app.repository().fast_forward(copy).await {
                    Ok(current) => {
                        if current.meta().version() != before {
                            let mut state = lock(&self.shared.state);
                            state.stats.caught_up += 1;
                            offer(&mut state, &current);
                        }
                        Ok(current)
                    }
                    Err(error) => {
                        self.invalidate(id);
                        Err(error)
                    }
                }
            }
            None => {
                let loaded: A = self.shared.app.get(id).await?;
                offer(&mut lock(&self.shared.state), &loaded);
                Ok(loaded)
            }
        }
    }

    /// Saves `aggregate`'s pending events through the application (see
    /// [`Application::save`]) and, when they were written, caches a copy
    /// of it, unless the cache already holds a newer version.
    ///
    /// On any error the entry for `aggregate` is evicted, so that the next
    /// [`get`](Self::get) reloads it: after a conflict
    /// ([`Error::is_conflict`]) that is the store's truth, written by the
    /// other copy.
    pub async fn save(&self, aggregate: &mut A) -> Result<AppendOutcome, Error> {
        match self.shared.app.save(&mut *aggregate).await {
            Ok(outcome) => {
                // Not written: nothing was pending, so there is nothing new
                // to cache (and nothing proves this copy is in the store).
                if outcome.written {
                    offer(&mut lock(&self.shared.state), &*aggregate);
                }
                Ok(outcome)
            }
            Err(error) => {
                self.invalidate(aggregate.meta().id());
                Err(error)
            }
        }
    }

    /// Drops the entry for `id`, if any; true when there was one.
    pub fn evict(&self, id: Uuid) -> bool {
        self.invalidate(id)
    }

    /// Drops every entry. The counters are kept.
    pub fn clear(&self) {
        let mut state = lock(&self.shared.state);
        let dropped = state.entries.len() as u64;
        state.entries.clear();
        state.stats.invalidations += dropped;
    }

    /// True when `id` is cached. Does not count as a use.
    pub fn contains(&self, id: Uuid) -> bool {
        lock(&self.shared.state).entries.contains(id)
    }

    /// The cached version of `id`, if cached. Does not count as a use and
    /// does not read the store: the store may hold a newer version.
    pub fn cached_version(&self, id: Uuid) -> Option<u64> {
        lock(&self.shared.state)
            .entries
            .peek(id)
            .map(|aggregate| aggregate.meta().version())
    }

    /// How many aggregates are cached.
    pub fn len(&self) -> usize {
        lock(&self.shared.state).entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most aggregates the cache holds.
    pub fn capacity(&self) -> usize {
        lock(&self.shared.state).entries.capacity
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        lock(&self.shared.state).stats
    }

    fn invalidate(&self, id: Uuid) -> bool {
        let mut state = lock(&self.shared.state);
        let removed = state.entries.remove(id).is_some();
        if removed {
            state.stats.invalidations += 1;
        }
        removed
    }
}

/// Caches a copy of `aggregate` unless the cache holds the same or a newer
/// version (another task may have cached a newer one meanwhile). Pending
/// events are not copied into the cache.
fn offer<A: Aggregate + Clone>(state: &mut State<A>, aggregate: &A) {
    let id = aggregate.meta().id();
    let version = aggregate.meta().version();
    if let Some(cached) = state.entries.peek(id) {
        if cached.meta().version() >= version {
            state.entries.touch(id);
            return;
        }
    }
    let mut copy = aggregate.clone();
    copy.meta_mut().mark_saved();
    if state.entries.insert(id, copy) {
        state.stats.evictions += 1;
    }
}

/// No node: the end of the list.
const NIL: usize = usize::MAX;

struct Node<V> {
    id: Uuid,
    value: V,
    /// Towards the most recently used end.
    prev: usize,
    /// Towards the least recently used end.
    next: usize,
}

/// A map with a bounded number of entries that drops the least recently used
/// one to make room: a hash map from id to slot, and a doubly linked list
/// threaded through the slots by index, most recently used first. Every
/// operation is O(1). Never panics: a missing slot (which the invariants
/// rule out) is treated as absent.
struct Lru<V> {
    index: HashMap<Uuid, usize>,
    slots: Vec<Option<Node<V>>>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    capacity: usize,
}

impl<V> Lru<V> {
    fn new(capacity: usize) -> Self {
        Self {
            index: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            capacity,
        }
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn contains(&self, id: Uuid) -> bool {
        self.index.contains_key(&id)
    }

    fn node(&self, slot: usize) -> Option<&Node<V>> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    fn node_mut(&mut self, slot: usize) -> Option<&mut Node<V>> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    /// The value for `id`, without marking it used.
    fn peek(&self, id: Uuid) -> Option<&V> {
        let slot = *self.index.get(&id)?;
        self.node(slot).map(|node| &node.value)
    }

    /// The value for `id`, marked most recently used.
    fn get(&mut self, id: Uuid) -> Option<&V> {
        let slot = *self.index.get(&id)?;
        self.move_to_front(slot);
        self.node(slot).map(|node| &node.value)
    }

    /// Marks `id` most recently used.
    fn touch(&mut self, id: Uuid) {
        if let Some(&slot) = self.index.get(&id) {
            self.move_to_front(slot);
        }
    }

    /// Inserts or replaces the value for `id`, most recently used. True when
    /// the least recently used entry was dropped to make room.
    fn insert(&mut self, id: Uuid, value: V) -> bool {
        if let Some(&slot) = self.index.get(&id) {
            if let Some(node) = self.node_mut(slot) {
                node.value = value;
            }
            self.move_to_front(slot);
            return false;
        }
        if self.capacity == 0 {
            return false;
        }
        let evicted = self.len() >= self.capacity && self.pop_back().is_some();
        let node = Node {
            id,
            value,
            prev: NIL,
            next: NIL,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(free) = self.slots.get_mut(slot) {
                    *free = Some(node);
                }
                slot
            }
            None => {
                self.slots.push(Some(node));
                self.slots.len() - 1
            }
        };
        self.push_front(slot);
        self.index.insert(id, slot);
        evicted
    }

    /// Removes and returns the value for `id`.
    fn remove(&mut self, id: Uuid) -> Option<V> {
        let slot = self.index.remove(&id)?;
        self.release(slot)
    }

    /// Removes and returns the least recently used entry.
    fn pop_back(&mut self) -> Option<V> {
        let slot = self.tail;
        let id = self.node(slot)?.id;
        self.index.remove(&id);
        self.release(slot)
    }

    fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.free.clear();
        self.head = NIL;
        self.tail = NIL;
    }

    /// Unlinks `slot` and frees it for reuse.
    fn release(&mut self, slot: usize) -> Option<V> {
        self.unlink(slot);
        let node = self.slots.get_mut(slot)?.take()?;
        self.free.push(slot);
        Some(node.value)
    }

    fn move_to_front(&mut self, slot: usize) {
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    fn unlink(&mut self, slot: usize) {
        let Some(&Node { prev, next, .. }) = self.node(slot) else {
            return;
        };
        match self.node_mut(prev) {
            Some(node) => node.next = next,
            None => self.head = next,
        }
        match self.node_mut(next) {
            Some(node) => node.prev = prev,
            None => self.tail = prev,
        }
        if let Some(node) = self.node_mut(slot) {
            node.prev = NIL;
            node.next = NIL;
        }
    }

    fn push_front(&mut self, slot: usize) {
        let old_head = self.head;
        let Some(node) = self.node_mut(slot) else {
            return;
        };
        node.prev = NIL;
        node.next = old_head;
        match self.node_mut(old_head) {
            Some(head) => head.prev = slot,
            None => self.tail = slot,
        }
        self.head = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    /// Ids from most to least recently used, walking the list both ways.
    fn order(lru: &Lru<u32>) -> Vec<Uuid> {
        let mut forward = Vec::new();
        let mut slot = lru.head;
        while let Some(node) = lru.node(slot) {
            forward.push(node.id);
            slot = node.next;
        }
        let mut backward = Vec::new();
        let mut slot = lru.tail;
        while let Some(node) = lru.node(slot) {
            backward.push(node.id);
            slot = node.prev;
        }
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(forward.len(), lru.len());
        forward
    }

    #[test]
    fn evicts_least_recently_used() {
        let id = ids(4);
        let mut lru = Lru::new(3);
        assert!(!lru.insert(id[0], 0));
        assert!(!lru.insert(id[1], 1));
        assert!(!lru.insert(id[2], 2));
        assert_eq!(order(&lru), [id[2], id[1], id[0]]);
        assert_eq!(lru.get(id[0]), Some(&0));
        assert_eq!(order(&lru), [id[0], id[2], id[1]]);
        assert!(lru.insert(id[3], 3));
        assert_eq!(order(&lru), [id[3], id[0], id[2]]);
        assert_eq!(lru.peek(id[1]), None);
        assert_eq!(lru.slots.len(), 3, "the evicted slot is reused");
    }

    #[test]
    fn replace_remove_and_reuse() {
        let id = ids(3);
        let mut lru = Lru::new(2);
        lru.insert(id[0], 0);
        lru.insert(id[1], 1);
        assert!(!lru.insert(id[0], 10));
        assert_eq!(order(&lru), [id[0], id[1]]);
        assert_eq!(lru.peek(id[0]), Some(&10));
        assert_eq!(lru.remove(id[0]), Some(10));
        assert_eq!(lru.remove(id[0]), None);
        assert_eq!(order(&lru), [id[1]]);
        assert!(!lru.insert(id[2], 2));
        assert_eq!(order(&lru), [id[2], id[1]]);
        assert_eq!(lru.slots.len(), 2);
        lru.touch(id[1]);
        assert_eq!(order(&lru), [id[1], id[2]]);
        assert_eq!(lru.pop_back(), Some(2));
        assert_eq!(lru.pop_back(), Some(1));
        assert_eq!(lru.pop_back(), None);
        assert!(order(&lru).is_empty());
        lru.insert(id[0], 0);
        lru.clear();
        assert!(order(&lru).is_empty());
    }

    #[test]
    fn capacity_zero_holds_nothing() {
        let mut lru = Lru::new(0);
        assert!(!lru.insert(Uuid::new_v4(), 1));
        assert_eq!(lru.len(), 0);
    }

    #[test]
    fn capacity_one() {
        let id = ids(2);
        let mut lru = Lru::new(1);
        lru.insert(id[0], 0);
        assert!(lru.insert(id[1], 1));
        assert_eq!(order(&lru), [id[1]]);
    }
}
