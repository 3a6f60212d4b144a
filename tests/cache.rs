//! The aggregate cache on the in-memory application: hits equal fresh loads,
//! changes saved behind its back are fast-forwarded, capacity is an LRU
//! bound, concurrent use stays consistent with the store. The `Dog` is the
//! shared one of `tests/common/dogs.rs`.

mod common;

use std::sync::Arc;

use chronicle_es::prelude::*;
use chronicle_es::{AggregateCache, CacheStats};
use common::dogs::{saved_dog, Dog};

#[tokio::test]
async fn a_hit_equals_a_fresh_load() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 10);
    let mut dog = saved_dog(&app, "Fido", 0).await;
    dog.add_trick("sit".into());
    app.save(&mut dog).await?;

    let first = cache.get(dog.id()).await?;
    let second = cache.get(dog.id()).await?;
    let fresh: Dog = app.get(dog.id()).await?;
    assert_eq!(first, fresh);
    assert_eq!(second, fresh);
    assert_eq!(second.tricks(), ["sit"]);
    assert!(second.pending_events().is_empty());
    assert_eq!(
        cache.stats(),
        CacheStats {
            hits: 1,
            misses: 1,
            ..CacheStats::default()
        }
    );
    Ok(())
}

#[tokio::test]
async fn save_caches_the_saved_aggregate() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 10);
    let mut dog = Dog::register("Fido".into());
    dog.add_trick("sit".into());
    let outcome = cache.save(&mut dog).await?;
    assert!(outcome.written);
    assert!(dog.pending_events().is_empty());
    assert_eq!(cache.cached_version(dog.id()), Some(2));

    let cached = cache.get(dog.id()).await?;
    assert_eq!(cached, dog);
    assert_eq!(cache.stats().hits, 1);
    assert_eq!(cache.stats().misses, 0);

    // Nothing pending: nothing written, nothing new cached.
    let mut unchanged = cached.clone();
    assert!(!cache.save(&mut unchanged).await?.written);
    assert_eq!(cache.cached_version(dog.id()), Some(2));
    Ok(())
}

#[tokio::test]
async fn a_copy_saved_behind_the_cache_is_fast_forwarded() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 10);
    let dog = saved_dog(&app, "Fido", 0).await;
    let cached = cache.get(dog.id()).await?;
    assert_eq!(cached.version(), 1);

    // Another copy (think: another process) saves two events directly.
    let mut other: Dog = app.get(dog.id()).await?;
    other.add_trick("sit".into());
    other.add_trick("roll over".into());
    app.save(&mut other).await?;
    assert_eq!(
        cache.cached_version(dog.id()),
        Some(1),
        "the entry is stale"
    );

    let seen = cache.get(dog.id()).await?;
    assert_eq!(seen, other);
    assert_eq!(seen.tricks(), ["sit", "roll over"]);
    assert_eq!(seen.version(), 3);
    assert_eq!(
        cache.cached_version(dog.id()),
        Some(3),
        "the entry caught up"
    );
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.caught_up), (1, 1, 1));

    // An aggregate fetched from the cache can be changed and saved through it.
    let mut mine = seen;
    mine.add_trick("fetch".into());
    cache.save(&mut mine).await?;
    let fresh: Dog = app.get(dog.id()).await?;
    assert_eq!(cache.get(dog.id()).await?, fresh);
    assert_eq!(fresh.tricks(), ["sit", "roll over", "fetch"]);
    Ok(())
}

#[tokio::test]
async fn capacity_is_respected_least_recently_used_first_out() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 2);
    assert_eq!(cache.capacity(), 2);
    let a = saved_dog(&app, "A", 0).await.id();
    let b = saved_dog(&app, "B", 0).await.id();
    let c = saved_dog(&app, "C", 0).await.id();

    cache.get(a).await?;
    cache.get(b).await?;
    assert_eq!(cache.len(), 2);
    cache.get(a).await?; // a is now the most recently used: b goes first
    cache.get(c).await?;
    assert_eq!(cache.len(), 2);
    assert!(cache.contains(a));
    assert!(!cache.contains(b));
    assert!(cache.contains(c));
    assert_eq!(cache.stats().evictions, 1);

    // A save counts as a use too.
    let mut dog_a: Dog = cache.get(a).await?;
    dog_a.add_trick("sit".into());
    cache.save(&mut dog_a).await?; // order: a, c
    cache.get(b).await?; // evicts c
    assert!(cache.contains(a) && cache.contains(b) && !cache.contains(c));
    assert_eq!(cache.stats().evictions, 2);

    // The evicted aggregate still loads (a miss).
    let misses = cache.stats().misses;
    assert_eq!(cache.get(c).await?.version(), 1);
    assert_eq!(cache.stats().misses, misses + 1);
    assert_eq!(cache.len(), 2);
    Ok(())
}

#[tokio::test]
async fn capacity_zero_caches_nothing() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 0);
    let dog = saved_dog(&app, "Fido", 0).await;
    assert_eq!(cache.get(dog.id()).await?, dog);
    assert_eq!(cache.get(dog.id()).await?, dog);
    assert!(cache.is_empty());
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.evictions), (0, 2, 0));
    Ok(())
}

#[tokio::test]
async fn a_conflict_through_the_cache_evicts_and_the_next_get_is_the_truth() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 10);
    let dog = saved_dog(&app, "Fido", 0).await;
    let mut mine = cache.get(dog.id()).await?;

    let mut theirs: Dog = app.get(dog.id()).await?;
    theirs.add_trick("sit".into());
    app.save(&mut theirs).await?;

    mine.add_trick("roll over".into());
    let error = cache.save(&mut mine).await.unwrap_err();
    assert!(error.is_conflict(), "{error}");
    assert!(!cache.contains(dog.id()), "the entry is evicted");
    assert_eq!(mine.pending_events().len(), 1, "nothing was saved");
    assert_eq!(cache.stats().invalidations, 1);

    let truth = cache.get(dog.id()).await?;
    assert_eq!(truth, theirs);
    assert_eq!(truth.tricks(), ["sit"]);
    Ok(())
}

#[tokio::test]
async fn not_found_is_an_error_and_caches_nothing() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 10);
    let id = Uuid::new_v4();
    match cache.get(id).await {
        Err(Error::NotFound {
            aggregate,
            id: missing,
        }) => {
            assert_eq!(aggregate, "Dog");
            assert_eq!(missing, id);
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(cache.is_empty());
    assert_eq!(cache.stats().misses, 1);
    Ok(())
}

#[tokio::test]
async fn evict_and_clear() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 10);
    let a = saved_dog(&app, "A", 0).await.id();
    let b = saved_dog(&app, "B", 0).await.id();
    cache.get(a).await?;
    cache.get(b).await?;
    assert!(cache.evict(a));
    assert!(!cache.evict(a));
    assert_eq!(cache.len(), 1);
    cache.clear();
    assert!(cache.is_empty());
    assert_eq!(cache.stats().invalidations, 2);
    assert_eq!(cache.get(a).await?.id(), a);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_gets_and_saves_end_consistent_with_the_store() -> Result<(), Error> {
    const TASKS: usize = 8;
    const ROUNDS: usize = 25;
    let app = Application::in_memory();
    // Smaller than the number of dogs, so entries are evicted under load.
    let cache: Arc<AggregateCache<Dog>> = Arc::new(AggregateCache::new(app.clone(), 3));
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D"] {
        ids.push(saved_dog(&app, name, 0).await.id());
    }

    let mut handles = Vec::new();
    for task in 0..TASKS {
        let cache = Arc::clone(&cache);
        let app = app.clone();
        let ids = ids.clone();
        handles.push(tokio::spawn(async move {
            let mut added = 0usize;
            for round in 0..ROUNDS {
                let id = ids[(task + round) % ids.len()];
                // Half the tasks sometimes save behind the cache's back.
                let direct = task % 2 == 1 && round % 3 == 0;
                loop {
                    let mut dog: Dog = if direct {
                        app.get(id).await?
                    } else {
                        cache.get(id).await?
                    };
                    dog.add_trick(format!("{task}-{round}"));
                    let saved = if direct {
                        app.save(&mut dog).await.map(drop)
                    } else {
                        cache.save(&mut dog).await.map(drop)
                    };
                    match saved {
                        Ok(()) => break,
                        Err(error) if error.is_conflict() => tokio::task::yield_now().await,
                        Err(error) => return Err(error),
                    }
                }
                added += 1;
                // Whatever the cache returns is never behind what was saved.
                let seen = cache.get(id).await?;
                assert!(seen.tricks().contains(&format!("{task}-{round}")));
            }
            Ok::<usize, Error>(added)
        }));
    }
    let mut total = 0;
    for handle in handles {
        total += handle.await.expect("task panicked")?;
    }
    assert_eq!(total, TASKS * ROUNDS);

    let mut stored_tricks = 0;
    for &id in &ids {
        let fresh: Dog = app.get(id).await?;
        let cached = cache.get(id).await?;
        assert_eq!(cached, fresh);
        assert_eq!(fresh.version() as usize, 1 + fresh.tricks().len());
        stored_tricks += fresh.tricks().len();
    }
    assert_eq!(stored_tricks, TASKS * ROUNDS, "every save is stored once");
    assert!(cache.len() <= 3);
    let stats = cache.stats();
    assert!(stats.hits > 0 && stats.evictions > 0, "{stats:?}");
    Ok(())
}

#[tokio::test]
async fn clones_share_entries() -> Result<(), Error> {
    let app = Application::in_memory();
    let cache: AggregateCache<Dog> = AggregateCache::new(app.clone(), 10);
    let other = cache.clone();
    let dog = saved_dog(&app, "Fido", 0).await;
    cache.get(dog.id()).await?;
    assert!(other.contains(dog.id()));
    other.get(dog.id()).await?;
    assert_eq!(cache.stats().hits, 1);
    Ok(())
}
