//! One fresh store per test, and a guard that cleans up after it: a SQLite
//! file's temporary directory is removed, a PostgreSQL schema dropped (see
//! [`super::postgres`] for the PostgreSQL harnesses).
//!
//! A test ends with [`Harness::finish`], which drops the store, then cleans
//! up, and fails the test if a schema cannot be dropped. A test that panics
//! before that still cleans up: the guards do it when they are dropped.

use std::path::{Path, PathBuf};

#[cfg(feature = "sqlite")]
use chronicle_es::store::SqliteStore;
use chronicle_es::store::{AnySqlStore, AnyStore, MemoryStore, StoreError};
use chronicle_es::Uuid;

#[cfg(feature = "postgres")]
use super::postgres::Schema;

/// The name of a harness's SQLite file in its directory.
pub const SQLITE_FILE: &str = "events.db";

/// A directory of its own under the system's temporary directory, removed
/// with everything in it when the guard is dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn create() -> TempDir {
        let path = std::env::temp_dir().join(format!("chronicle-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What to clean up once a test's store is dropped.
pub enum Cleanup {
    Nothing,
    Directory(TempDir),
    #[cfg(feature = "postgres")]
    Schema(Schema),
}

impl Cleanup {
    /// Cleans up now; a schema that cannot be dropped fails the test.
    pub async fn finish(self) {
        match self {
            // Dropping the guard removes the directory.
            Cleanup::Nothing | Cleanup::Directory(_) => {}
            #[cfg(feature = "postgres")]
            Cleanup::Schema(schema) => schema.drop_now().await,
        }
    }

    /// The directory of a SQLite harness.
    pub fn directory(&self) -> &TempDir {
        match self {
            Cleanup::Directory(directory) => directory,
            _ => panic!("not a harness with a directory"),
        }
    }

    /// The schema of a PostgreSQL harness.
    #[cfg(feature = "postgres")]
    pub fn schema(&self) -> &Schema {
        match self {
            Cleanup::Schema(schema) => schema,
            _ => panic!("not a PostgreSQL harness"),
        }
    }
}

/// A fresh store for one test, and what to clean up after it.
pub struct Harness<S> {
    /// Declared first, so that it is dropped before the cleanup runs.
    pub store: S,
    pub cleanup: Cleanup,
}

impl<S> Harness<S> {
    /// Drops the store, then cleans up.
    pub async fn finish(self) {
        let Harness { store, cleanup } = self;
        drop(store);
        cleanup.finish().await;
    }

    /// The directory of a SQLite harness.
    pub fn directory(&self) -> &TempDir {
        self.cleanup.directory()
    }

    /// The file of a SQLite harness.
    pub fn sqlite_path(&self) -> PathBuf {
        self.directory().join(SQLITE_FILE)
    }

    /// The schema of a PostgreSQL harness.
    #[cfg(feature = "postgres")]
    pub fn schema(&self) -> &Schema {
        self.cleanup.schema()
    }
}

/// The in-memory store.
pub fn memory() -> Harness<MemoryStore> {
    Harness {
        store: MemoryStore::new(),
        cleanup: Cleanup::Nothing,
    }
}

/// A SQLite file ([`SQLITE_FILE`]) in a directory of its own.
#[cfg(feature = "sqlite")]
pub async fn sqlite_file() -> Harness<SqliteStore> {
    let directory = TempDir::create();
    let store = SqliteStore::open(directory.join(SQLITE_FILE))
        .await
        .unwrap();
    Harness {
        store,
        cleanup: Cleanup::Directory(directory),
    }
}

/// A private in-memory SQLite database.
#[cfg(feature = "sqlite")]
pub async fn sqlite_in_memory() -> Harness<SqliteStore> {
    Harness {
        store: SqliteStore::in_memory().await.unwrap(),
        cleanup: Cleanup::Nothing,
    }
}

/// The stores chosen by URL, `AnyStore` and `AnySqlStore`, so that one
/// harness opens either.
pub trait ByUrl: Sized {
    /// The type's name, for messages.
    const NAME: &'static str;

    async fn open_url(url: &str) -> Result<Self, StoreError>;

    fn store_kind(&self) -> &'static str;
}

macro_rules! by_url {
    ($($store:ident),*) => {
        $(
            impl ByUrl for $store {
                const NAME: &'static str = stringify!($store);

                async fn open_url(url: &str) -> Result<Self, StoreError> {
                    $store::from_url(url).await
                }

                fn store_kind(&self) -> &'static str {
                    self.kind()
                }
            }
        )*
    };
}

by_url!(AnyStore, AnySqlStore);

/// Opens `url` as an `S`, and checks that it chose a `kind` store.
pub async fn open_url<S: ByUrl>(url: &str, kind: &str) -> S {
    let store = S::open_url(url)
        .await
        .unwrap_or_else(|error| panic!("cannot open an {} ({kind}): {error}", S::NAME));
    assert_eq!(store.store_kind(), kind);
    store
}

/// `AnyStore` opened by a `memory:` URL.
pub async fn memory_by_url() -> Harness<AnyStore> {
    Harness {
        store: open_url("memory:", "memory").await,
        cleanup: Cleanup::Nothing,
    }
}

/// An `AnyStore` or `AnySqlStore` opened by the `sqlite://` URL of a file
/// in a directory of its own.
#[cfg(feature = "sqlite")]
pub async fn sqlite_by_url<S: ByUrl>() -> Harness<S> {
    let directory = TempDir::create();
    let url = format!("sqlite://{}", directory.join(SQLITE_FILE).display());
    Harness {
        store: open_url(&url, "sqlite").await,
        cleanup: Cleanup::Directory(directory),
    }
}

/// An `AnyStore` of every kind this build and the environment offer, each
/// fresh and opened by URL: memory, a SQLite file, and PostgreSQL when
/// [`super::postgres::url`] gives a server. `store.kind()` names each.
pub async fn any_stores() -> Vec<Harness<AnyStore>> {
    #[allow(unused_mut)] // without the sqlite and postgres features
    let mut stores = vec![memory_by_url().await];
    #[cfg(feature = "sqlite")]
    stores.push(sqlite_by_url().await);
    #[cfg(feature = "postgres")]
    stores.extend(super::postgres::by_url().await);
    stores
}
