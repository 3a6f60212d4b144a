//! Opening the store a URL names.

use std::path::Path;

use chronicle_es::store::{AnyStore, STORE_URL_ENV};

use crate::CliError;

/// How a command uses its store.
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// Reads (or resets tracking in) a store that must exist already: a
    /// missing SQLite file is an error rather than a new empty store, and an
    /// older layout is upgraded only when `migrate` says so.
    Existing { migrate: bool },
    /// Writes into a store, created when missing.
    Create,
}

/// The store URL: `--store`, else `$CHRONICLE_STORE_URL`. A bare path is a
/// SQLite file.
pub fn store_url(option: Option<&str>) -> Result<String, CliError> {
    let url = match option {
        Some(url) => url.to_owned(),
        None => std::env::var(STORE_URL_ENV).map_err(|_| {
            CliError::new(format!(
                "no store given: pass --store URL or set {STORE_URL_ENV} (a SQLite path, sqlite://PATH or postgres://...)"
            ))
        })?,
    };
    Ok(as_url(&url))
}

/// `text` as a store URL: itself when it has a scheme, else a SQLite path.
fn as_url(text: &str) -> String {
    let known = ["sqlite:", "memory:"];
    if text.contains("://") || known.iter().any(|scheme| text.starts_with(scheme)) {
        text.to_owned()
    } else {
        format!("sqlite://{text}")
    }
}

/// The file of a SQLite URL (`None`: not a SQLite file).
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (path != ":memory:" && !path.is_empty()).then_some(path)
}

/// Opens the store at `url` (see [`store_url`]).
pub async fn open(url: &str, access: Access) -> Result<AnyStore, CliError> {
    let url = as_url(url);
    let url = match access {
        Access::Existing { migrate } => {
            if let Some(path) = sqlite_file(&url) {
                if !Path::new(path).is_file() {
                    return Err(CliError::new(format!("no SQLite store at {path}")));
                }
            }
            let sql = ["sqlite:", "postgres://", "postgresql://"];
            if migrate || url.contains("migrate=") || !sql.iter().any(|s| url.starts_with(s)) {
                url
            } else {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}migrate=false")
            }
        }
        Access::Create => url,
    };
    Ok(AnyStore::from_url(&url).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sqlite_files_and_urls_stay() {
        assert_eq!(as_url("events.db"), "sqlite://events.db");
        assert_eq!(as_url("/var/x.db"), "sqlite:///var/x.db");
        for url in [
            "sqlite://a.db",
            "sqlite::memory:",
            "postgres://u@h/db",
            "memory:",
            "x://y",
        ] {
            assert_eq!(as_url(url), url);
        }
        assert_eq!(sqlite_file("sqlite://a.db?synchronous=full"), Some("a.db"));
        assert_eq!(sqlite_file("sqlite:///abs/a.db"), Some("/abs/a.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
