//! Read-model writes: the SQL a projection asks a [`ReadModelStore`] to run
//! with its tracking record.
//!
//! [`ReadModelStore`]: super::ReadModelStore

// The statement checks serve the SQL stores, which are feature-gated.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use super::StoreError;

/// A value bound to a statement parameter, or read from a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer (`bigint`, SQLite `INTEGER`).
    Integer(i64),
    /// A double (`double precision`, SQLite `REAL`).
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes (`bytea`, SQLite `BLOB`).
    Blob(Vec<u8>),
}

impl SqlValue {
    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(value) => Some(*value),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(value) => Some(value),
            _ => None,
        }
    }
}

macro_rules! sql_value_from {
    ($($t:ty => $variant:ident via $convert:expr),* $(,)?) => {
        $(impl From<$t> for SqlValue {
            fn from(value: $t) -> Self {
                SqlValue::$variant($convert(value))
            }
        })*
    };
}

sql_value_from! {
    i64 => Integer via |v| v,
    i32 => Integer via i64::from,
    u32 => Integer via i64::from,
    f64 => Real via |v| v,
    String => Text via |v| v,
    &str => Text via str::to_owned,
    Vec<u8> => Blob via |v| v,
    uuid::Uuid => Text via uuid_text,
}

/// A uuid as lower-case hyphenated text (what `to_string` gives), encoded
/// directly: projections bind a stream id with nearly every write, and
/// going through the formatting machinery cost several times as much.
fn uuid_text(value: uuid::Uuid) -> String {
    let mut buffer = uuid::Uuid::encode_buffer();
    value.hyphenated().encode_lower(&mut buffer).to_owned()
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

/// One statement with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelWrite {
    /// The SQL, with `$1`, `$2`, ... parameters.
    pub sql: String,
    /// The parameters, in order.
    pub params: Vec<SqlValue>,
}

/// The statements a projection's handler asks for, applied together with
/// the tracking record: SQL in the event store's own database, committed in
/// the same transaction as the projection's position, so that each event
/// takes effect exactly once even across crashes and restarts.
///
/// Statements use PostgreSQL-style numbered parameters (`$1`, `$2`, ...) on
/// every store; SQLite runs them as `?1`, `?2`. Keep to SQL both databases
/// understand (`INSERT ... ON CONFLICT (...) DO UPDATE`, `UPDATE`, `DELETE`)
/// and the same projection runs on both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelWrites {
    writes: Vec<ModelWrite>,
}

impl ModelWrites {
    /// No statements.
    pub fn new() -> Self {
        Self::default()
    }

    /// No statements, with room for `capacity` of them.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            writes: Vec::with_capacity(capacity),
        }
    }

    /// Adds a statement.
    pub fn execute<I>(&mut self, sql: impl Into<String>, params: I) -> &mut Self
    where
        I: IntoIterator,
        I::Item: Into<SqlValue>,
    {
        self.writes.push(ModelWrite {
            sql: sql.into(),
            params: params.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Adds a statement whose parameters are already values (of mixed types).
    pub fn execute_values(&mut self, sql: impl Into<String>, params: Vec<SqlValue>) -> &mut Self {
        self.writes.push(ModelWrite {
            sql: sql.into(),
            params,
        });
        self
    }

    /// True when no statement was added.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// The statements, in order.
    pub fn statements(&self) -> &[ModelWrite] {
        &self.writes
    }

    /// Moves the statements of `other` after these.
    pub fn append(&mut self, other: &mut ModelWrites) {
        self.writes.append(&mut other.writes);
    }

    /// Keeps the first `len` statements.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.writes.truncate(len);
    }

    /// Takes the statements, leaving none.
    pub fn take(&mut self) -> Vec<ModelWrite> {
        std::mem::take(&mut self.writes)
    }
}

/// Rewrites `$N` parameters as SQLite's `?N`, leaving quoted text and
/// identifiers alone.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn to_sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('?'),
            None => out.push(c),
        }
    }
    out
}

/// The first keyword of `sql` (its leading letters, as written), after
/// whitespace and comments; compare it with `eq_ignore_ascii_case`. It is
/// borrowed, not upper-cased into a new string: every read-model write is
/// checked with it.
// These helpers serve the SQL stores only (unused without their features).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn leading_keyword(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    &rest[..end]
}

/// True when `sql`'s first keyword is one of `keywords` (upper case).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn starts_with_keyword(sql: &str, keywords: &[&str]) -> bool {
    let keyword = leading_keyword(sql);
    keywords
        .iter()
        .any(|candidate| candidate.eq_ignore_ascii_case(keyword))
}

/// True when `sql` starts or ends a transaction or savepoint, which would
/// break the atomicity of a read-model commit.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn is_transaction_control(sql: &str) -> bool {
    starts_with_keyword(
        sql,
        &[
            "BEGIN",
            "START",
            "COMMIT",
            "END",
            "ROLLBACK",
            "ABORT",
            "SAVEPOINT",
            "RELEASE",
            "PREPARE",
        ],
    )
}

/// Checks a read-model write before it runs: one statement, no transaction
/// control.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn check_write(index: usize, write: &ModelWrite) -> Result<(), StoreError> {
    if is_transaction_control(&write.sql) {
        return Err(StoreError::ModelStatement {
            index,
            sql: write.sql.clone(),
            source: "transaction control is not allowed in read-model writes: the store commits them with the tracking record".into(),
        });
    }
    Ok(())
}

/// A statement for `query_model`, checked as a write is.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn checked_query(sql: &str, params: Vec<SqlValue>) -> Result<ModelWrite, StoreError> {
    let write = ModelWrite {
        sql: sql.to_owned(),
        params,
    };
    check_write(0, &write)?;
    Ok(write)
}

/// Checks every write of a commit ([`check_write`]), naming the first bad one.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn check_writes(writes: &[ModelWrite]) -> Result<(), StoreError> {
    // A projection repeats a few statements: a text that passed is not
    // parsed again (the last few are remembered).
    let mut passed = [""; 4];
    for (index, write) in writes.iter().enumerate() {
        if passed.contains(&write.sql.as_str()) {
            continue;
        }
        check_write(index, write)?;
        passed[index % passed.len()] = &write.sql;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_keywords_skip_comments_and_transaction_control_is_recognised() {
        assert_eq!(leading_keyword("  -- note\n /* x */ select 1"), "select");
        assert_eq!(
            leading_keyword("WITH t AS (SELECT 1) SELECT * FROM t"),
            "WITH"
        );
        assert!(is_transaction_control("/* sneaky */ commit"));
        assert!(is_transaction_control("ROLLBACK TO x"));
        assert!(!is_transaction_control("UPDATE t SET a = 1"));
        assert_eq!(leading_keyword("/* unterminated"), "");
        assert!(starts_with_keyword("  values (1)", &["SELECT", "VALUES"]));
        assert!(!starts_with_keyword("VALUESX", &["VALUES"]));
        assert!(!is_transaction_control(""));
        let write = |sql: &str| ModelWrite {
            sql: sql.into(),
            params: Vec::new(),
        };
        let repeated = [write("UPDATE t SET a = 1"), write("UPDATE t SET a = 1")];
        assert!(check_writes(&repeated).is_ok());
        let late = [write("UPDATE t SET a = 1"), write(""), write("COMMIT")];
        assert!(matches!(
            check_writes(&late),
            Err(StoreError::ModelStatement { index: 2, .. })
        ));
    }

    #[test]
    fn placeholders_outside_quotes_become_sqlite_style() {
        assert_eq!(
            to_sqlite_placeholders("UPDATE t SET a = $1, b = '$2' WHERE \"$3\" = $10"),
            "UPDATE t SET a = ?1, b = '$2' WHERE \"$3\" = ?10"
        );
        assert_eq!(to_sqlite_placeholders("SELECT $$"), "SELECT $$");
    }

    #[test]
    fn writes_collect_statements_with_converted_parameters() {
        let mut writes = ModelWrites::new();
        writes.execute("INSERT INTO t VALUES ($1)", [5i64]);
        writes.execute_values(
            "INSERT INTO u VALUES ($1, $2)",
            vec!["a".into(), SqlValue::Null],
        );
        assert_eq!(writes.statements().len(), 2);
        let id = uuid::Uuid::new_v4();
        assert_eq!(SqlValue::from(id), SqlValue::Text(id.to_string()));
        assert_eq!(writes.statements()[0].params, [SqlValue::Integer(5)]);
        assert_eq!(
            writes.statements()[1].params,
            [SqlValue::Text("a".into()), SqlValue::Null]
        );
    }
}
