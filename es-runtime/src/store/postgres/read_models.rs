//! Read models on PostgreSQL: a projection's SQL runs with its tracking
//! record in one transaction on a pooled connection; parameters bind as the
//! type the server infers and result columns come back as [`SqlValue`]s
//! (documented on [`PostgresStore`]).

use std::error::Error as StdError;
use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use deadpool_postgres::Object;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};
use uuid::Uuid;

use super::connection::{is_transient, retrying, Failure};
use super::rows::jsonb_text;
use super::{PostgresStore, BACKEND};
use crate::store::capability::ReadModelStore;
use crate::store::encoding::{backend, check_tracking_fits, to_db};
use crate::store::error::StoreError;
use crate::store::model::{check_writes, checked_query, starts_with_keyword, ModelWrite, SqlValue};
use crate::store::request::Tracking;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A parameter bound as the type the server inferred for it.
struct Param<'a>(&'a SqlValue);

impl std::fmt::Debug for Param<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A domain's base type, else the type itself.
fn base(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base(inner),
        _ => ty,
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let ty = base(ty);
        let mismatch = |what: &str| -> BoxError {
            format!("cannot bind {what} to a parameter of type {ty}: cast the parameter").into()
        };
        match self.0 {
            SqlValue::Null => return Ok(IsNull::Yes),
            SqlValue::Integer(value) => {
                match *ty {
                    Type::INT8 => out.put_i64(*value),
                    Type::INT4 => out
                        .put_i32(i32::try_from(*value).map_err(|_| mismatch(&format!("{value}")))?),
                    Type::INT2 => out
                        .put_i16(i16::try_from(*value).map_err(|_| mismatch(&format!("{value}")))?),
                    Type::FLOAT8 if (*value as f64) as i64 == *value => out.put_f64(*value as f64),
                    Type::BOOL if *value == 0 || *value == 1 => out.put_u8(*value as u8),
                    _ => return Err(mismatch(&format!("the integer {value}"))),
                }
            }
            SqlValue::Real(value) => match *ty {
                Type::FLOAT8 => out.put_f64(*value),
                Type::FLOAT4 => out.put_f32(*value as f32),
                _ => return Err(mismatch("a real")),
            },
            SqlValue::Text(text) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    out.put_slice(text.as_bytes())
                }
                Type::JSON => out.put_slice(text.as_bytes()),
                Type::JSONB => {
                    out.put_u8(1);
                    out.put_slice(text.as_bytes());
                }
                Type::UUID => out.put_slice(
                    Uuid::parse_str(text)
                        .map_err(|_| mismatch("text that is not a uuid"))?
                        .as_bytes(),
                ),
                _ => return Err(mismatch("text")),
            },
            SqlValue::Blob(bytes) => match *ty {
                Type::BYTEA => out.put_slice(bytes),
                _ => return Err(mismatch("a blob")),
            },
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A result column as a [`SqlValue`].
struct Column(SqlValue);

impl<'a> FromSql<'a> for Column {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let ty = base(ty);
        let value = match *ty {
            Type::INT2 => SqlValue::Integer(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => SqlValue::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => SqlValue::Integer(i64::from_sql(ty, raw)?),
            Type::OID => SqlValue::Integer(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => SqlValue::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT4 => SqlValue::Real(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => SqlValue::Real(f64::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
                SqlValue::Text(String::from_utf8(raw.to_vec())?)
            }
            Type::JSONB => SqlValue::Text(String::from_utf8(jsonb_text(raw)?.to_vec())?),
            Type::UUID => SqlValue::Text(Uuid::from_slice(raw)?.to_string()),
            Type::BYTEA => SqlValue::Blob(raw.to_vec()),
            _ => {
                return Err(format!(
                    "type {ty} cannot be read as a SqlValue: cast the column (to bigint, double precision, text or bytea)"
                )
                .into())
            }
        };
        Ok(Column(value))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Column(SqlValue::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A `numeric` in binary form: `Integer` when it is a whole number that
/// fits, else the nearest `Real` (NaN and infinities included).
fn numeric(raw: &[u8]) -> Result<SqlValue, BoxError> {
    let word = |index: usize| -> Result<i16, BoxError> {
        let bytes = raw
            .get(index * 2..index * 2 + 2)
            .ok_or("truncated numeric value")?;
        Ok(i16::from_be_bytes([bytes[0], bytes[1]]))
    };
    let count = usize::try_from(word(0)?).map_err(|_| "negative numeric digit count")?;
    let weight = i64::from(word(1)?);
    let sign = word(2)? as u16;
    match sign {
        0xC000 => return Ok(SqlValue::Real(f64::NAN)),
        0xD000 => return Ok(SqlValue::Real(f64::INFINITY)),
        0xF000 => return Ok(SqlValue::Real(f64::NEG_INFINITY)),
        0x0000 | 0x4000 => {}
        _ => return Err(format!("invalid numeric sign {sign:#x}").into()),
    }
    let digits = (0..count)
        .map(|index| word(4 + index))
        .collect::<Result<Vec<i16>, _>>()?;
    // Digit i (base 10,000) has weight `weight - i`.
    let digit = |exponent: i64| -> i16 {
        usize::try_from(weight - exponent)
            .ok()
            .and_then(|index| digits.get(index).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        for exponent in (0..=weight).rev() {
            if exponent == weight {
                let _ = write!(text, "{}", digit(exponent));
            } else {
                let _ = write!(text, "{:04}", digit(exponent));
            }
        }
    }
    let lowest = weight - count as i64 + 1;
    if lowest < 0 {
        text.push('.');
        for exponent in (lowest..0).rev() {
            let _ = write!(text, "{:04}", digit(exponent));
        }
    }
    if lowest >= 0 {
        if let Ok(integer) = text.parse::<i64>() {
            return Ok(SqlValue::Integer(integer));
        }
    }
    Ok(SqlValue::Real(text.parse::<f64>()?))
}

/// A failed user statement: worth another attempt on a fresh connection
/// when the connection failed, else an error naming the statement.
fn statement_failure(index: usize, sql: &str, error: tokio_postgres::Error) -> Failure {
    if is_transient(&error) {
        Failure::Retry(backend(BACKEND, error))
    } else {
        let source: BoxError = match error.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()).into(),
            None => Box::new(error),
        };
        Failure::Fail(StoreError::ModelStatement {
            index,
            sql: sql.to_owned(),
            source,
        })
    }
}

fn params(values: &[SqlValue]) -> Vec<Param<'_>> {
    values.iter().map(Param).collect()
}

fn as_refs<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| param as &(dyn ToSql + Sync))
        .collect()
}

fn rows_to_values(
    index: usize,
    sql: &str,
    rows: &[tokio_postgres::Row],
) -> Result<Vec<Vec<SqlValue>>, StoreError> {
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|column| {
                    row.try_get::<_, Column>(column)
                        .map(|Column(value)| value)
                        .map_err(|error| StoreError::ModelStatement {
                            index,
                            sql: sql.to_owned(),
                            source: format!(
                                "column {column} (`{}`): {}",
                                row.columns()[column].name(),
                                error
                                    .source()
                                    .map_or_else(|| error.to_string(), ToString::to_string)
                            )
                            .into(),
                        })
                })
                .collect()
        })
        .collect()
}

impl ReadModelStore for PostgresStore {
    /// Runs the statements and moves the tracking record from exactly
    /// `after` in one transaction on a pooled connection; again on a fresh
    /// connection when the connection fails (a commit whose answer was lost
    /// then comes back as a [`StoreError::TrackingConflict`]).
    async fn commit_model(
        &self,
        writes: Vec<ModelWrite>,
        tracking: Tracking,
        after: u64,
    ) -> Result<(), StoreError> {
        check_writes(&writes)?;
        check_tracking_fits(&tracking)?;
        let position = to_db(tracking.position);
        let after_db = to_db(after);
        let consumer = tracking.consumer.as_str();
        // A consumer without a position may only start; one with a position
        // must be found exactly there.
        let advance = if after == 0 {
            &self.inner.sql.start_tracking
        } else {
            &self.inner.sql.continue_tracking
        };
        let tracked = &self.inner.sql.tracked;
        let bound: Vec<Vec<Param<'_>>> = writes.iter().map(|w| params(&w.params)).collect();
        retrying!(self, |client| {
            let transaction = client.transaction().await?;
            // The tracking row first: it locks out a concurrent commit of the
            // same consumer, and a repeated position writes nothing.
            let statement = transaction.prepare_cached(advance).await?;
            let advanced = if after == 0 {
                transaction
                    .query_opt(&statement, &[&consumer, &position])
                    .await?
            } else {
                transaction
                    .query_opt(&statement, &[&consumer, &position, &after_db])
                    .await?
            };
            if advanced.is_none() {
                let statement = transaction.prepare_cached(tracked).await?;
                let current: Option<i64> = transaction
                    .query_opt(&statement, &[&consumer])
                    .await?
                    .map(|row| row.try_get(0))
                    .transpose()?;
                return Err(Failure::Fail(StoreError::TrackingConflict {
                    consumer: tracking.consumer.clone(),
                    current: current.and_then(|c| u64::try_from(c).ok()).unwrap_or(0),
                    attempted: tracking.position,
                }));
            }
            for (index, (write, bound)) in writes.iter().zip(&bound).enumerate() {
                let statement = transaction
                    .prepare_cached(&write.sql)
                    .await
                    .map_err(|error| statement_failure(index, &write.sql, error))?;
                transaction
                    .execute(&statement, &as_refs(bound))
                    .await
                    .map_err(|error| statement_failure(index, &write.sql, error))?;
            }
            transaction.commit().await?;
            Ok::<_, Failure>(())
        })
    }

    /// Runs the statements and deletes the tracking record of `consumer` in
    /// one transaction (again on a fresh connection when the connection
    /// fails: keep the statements idempotent, as `DELETE` is).
    async fn reset_model(&self, writes: Vec<ModelWrite>, consumer: &str) -> Result<(), StoreError> {
        check_writes(&writes)?;
        let delete = &self.inner.sql.delete_tracking;
        let bound: Vec<Vec<Param<'_>>> = writes.iter().map(|w| params(&w.params)).collect();
        retrying!(self, |client| {
            let transaction = client.transaction().await?;
            for (index, (write, bound)) in writes.iter().zip(&bound).enumerate() {
                transaction
                    .execute(write.sql.as_str(), &as_refs(bound))
                    .await
                    .map_err(|error| statement_failure(index, &write.sql, error))?;
            }
            let statement = transaction.prepare_cached(delete).await?;
            transaction.execute(&statement, &[&consumer]).await?;
            transaction.commit().await?;
            Ok::<_, Failure>(())
        })
    }

    /// Runs one statement on a pooled connection and returns its rows
    /// (types as in the type's docs); queries are retried on a fresh
    /// connection, other statements run once.
    async fn query_model(
        &self,
        sql: &str,
        values: Vec<SqlValue>,
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let write = checked_query(sql, values)?;
        let bound = params(&write.params);
        let refs = as_refs(&bound);
        let query = starts_with_keyword(sql, &["SELECT", "WITH", "VALUES", "TABLE", "SHOW"]);
        let rows = if query {
            // Reads are safe to repeat on a fresh connection.
            retrying!(self, |client| {
                client
                    .query(sql, &refs)
                    .await
                    .map_err(|error| statement_failure(0, sql, error))
            })?
        } else {
            // A write or DDL runs once: after a lost connection it may or may
            // not have committed, which the caller must decide.
            let client = self.client().await?;
            let result = client.query(sql, &refs).await;
            if result.is_err() && client.is_closed() {
                drop(Object::take(client));
            }
            match result.map_err(|error| statement_failure(0, sql, error)) {
                Ok(rows) => rows,
                Err(Failure::Retry(error) | Failure::Fail(error)) => return Err(error),
            }
        };
        rows_to_values(0, sql, &rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend((digits.len() as i16).to_be_bytes());
        raw.extend(weight.to_be_bytes());
        raw.extend(sign.to_be_bytes());
        raw.extend(dscale.to_be_bytes());
        for digit in digits {
            raw.extend(digit.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numerics_read_as_integers_or_reals() {
        // 123456789 = 1|2345|6789, weight 2.
        let value = numeric(&numeric_bytes(2, 0, 0, &[1, 2345, 6789])).unwrap();
        assert_eq!(value, SqlValue::Integer(123_456_789));
        // 10000 = 1 with weight 1 (trailing zero digit groups are dropped).
        assert_eq!(
            numeric(&numeric_bytes(1, 0, 0, &[1])).unwrap(),
            SqlValue::Integer(10_000)
        );
        assert_eq!(
            numeric(&numeric_bytes(0, 0x4000, 0, &[42])).unwrap(),
            SqlValue::Integer(-42)
        );
        assert_eq!(
            numeric(&numeric_bytes(0, 0, 0, &[])).unwrap(),
            SqlValue::Integer(0)
        );
        // 1.5 = 1 . 5000
        assert_eq!(
            numeric(&numeric_bytes(0, 0, 1, &[1, 5000])).unwrap(),
            SqlValue::Real(1.5)
        );
        // 0.000012 = weight -2, digit 1200
        assert_eq!(
            numeric(&numeric_bytes(-2, 0x4000, 6, &[1200])).unwrap(),
            SqlValue::Real(-0.000012)
        );
        assert!(
            matches!(numeric(&numeric_bytes(0, 0xC000, 0, &[])).unwrap(), SqlValue::Real(v) if v.is_nan())
        );
        assert!(numeric(&[0, 1]).is_err());
    }
}
