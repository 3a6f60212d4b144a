//! Stored layouts: what every durable store decides when it opens, written
//! once. Each backend finds its database's layout version and applies its
//! own migrations; the rule of what to do about the version is here.

use super::error::StoreError;

/// What opening a store does to its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LayoutPlan {
    /// No store there yet: create the latest layout.
    Create,
    /// Already at the latest layout.
    Current,
    /// At an older layout: apply the migrations after `from`.
    Migrate {
        /// The version found.
        from: u32,
    },
}

/// Decides what to do with a database found at layout `found` (`None`: no
/// store yet) by code at layout `latest`: refuses a newer layout, and an
/// older one unless `migrate` allows it. `location` names the database.
pub(crate) fn plan(
    found: Option<u32>,
    latest: u32,
    migrate: bool,
    location: &str,
) -> Result<LayoutPlan, StoreError> {
    let refuse = |found: u32, remedy: &'static str| StoreError::Layout {
        location: location.to_owned(),
        found,
        expected: latest,
        remedy,
    };
    match found {
        None => Ok(LayoutPlan::Create),
        Some(found) if found == latest => Ok(LayoutPlan::Current),
        Some(found) if found > latest => Err(refuse(
            found,
            "it was written by a newer version of chronicle-es; open it with that version",
        )),
        Some(found) if !migrate => Err(refuse(
            found,
            "the store was opened with migrations refused; open it once with migrations allowed (the default: the builder's `migrate(true)`, or no `migrate=false` in the store URL), which upgrades it in place",
        )),
        Some(from) => Ok(LayoutPlan::Migrate { from }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_created_kept_migrated_or_refused() {
        assert_eq!(plan(None, 2, false, "x").unwrap(), LayoutPlan::Create);
        assert_eq!(plan(Some(2), 2, false, "x").unwrap(), LayoutPlan::Current);
        assert_eq!(
            plan(Some(1), 2, true, "x").unwrap(),
            LayoutPlan::Migrate { from: 1 }
        );
        for (found, migrate, remedy) in [(1, false, "migrations allowed"), (3, true, "newer")] {
            match plan(Some(found), 2, migrate, "dogs.db") {
                Err(StoreError::Layout {
                    location,
                    found: reported,
                    expected: 2,
                    remedy: said,
                }) => {
                    assert_eq!((location.as_str(), reported), ("dogs.db", found));
                    assert!(said.contains(remedy), "{said}");
                }
                other => panic!("{found}: expected a layout error, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_error_says_what_to_do() {
        let error = plan(Some(1), 2, false, "/var/dogs.db").unwrap_err();
        assert_eq!(
            error.to_string(),
            "/var/dogs.db has store layout version 1, this code uses version 2: the store was opened with migrations refused; open it once with migrations allowed (the default: the builder's `migrate(true)`, or no `migrate=false` in the store URL), which upgrades it in place"
        );
    }
}
