//! How a time is stored, the one way for every time column: `timestamptz` on PostgreSQL, and
//! on SQLite text in one fixed UTC format with milliseconds (`2026-12-02T09:30:00.250Z`, as the
//! events' `recorded_at` default writes it), so that text order is time order and comparisons
//! in SQL (`lease_expires_at < $now`) mean the same on both backends.

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

/// A time as the store keeps it. Store functions take and return `DateTime<Utc>`; rows read
/// it with `#[sqlx(try_from = "StoredTime")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredTime(pub DateTime<Utc>);

impl From<StoredTime> for DateTime<Utc> {
    fn from(stored: StoredTime) -> Self {
        stored.0
    }
}

/// SQLite's text for a time.
pub fn sqlite_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Type<Postgres> for StoredTime {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for StoredTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for StoredTime {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<Postgres>>::decode(value).map(StoredTime)
    }
}

impl Type<Sqlite> for StoredTime {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for StoredTime {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(sqlite_text(self.0), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for StoredTime {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(StoredTime(DateTime::parse_from_rfc3339(text)?.to_utc()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_sorts_as_time_does() {
        let early = DateTime::from_timestamp_millis(1_000).unwrap();
        let late = DateTime::from_timestamp_millis(10_000_250).unwrap();
        assert_eq!(sqlite_text(early), "1970-01-01T00:00:01.000Z");
        assert!(sqlite_text(early) < sqlite_text(late));
        assert_eq!(
            DateTime::parse_from_rfc3339(&sqlite_text(late)).unwrap(),
            late
        );
    }
}

/// The clock a lease or a due time is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseClock {
    /// The database's: instances whose clocks disagree still agree on whose lease ran out.
    Database,
    /// A given time (a manual clock, so tests decide expiry without waiting).
    At(DateTime<Utc>),
}

impl LeaseClock {
    /// The value bound for [`now_sql`] and [`later_sql`]: the given time, or NULL for the
    /// database's.
    pub fn bound(self) -> Option<StoredTime> {
        match self {
            LeaseClock::Database => None,
            LeaseClock::At(at) => Some(StoredTime(at)),
        }
    }
}

/// SQL for the time of the lease clock bound as parameter `at` (see [`LeaseClock::bound`]).
pub fn now_sql(db: &super::Db, at: usize) -> String {
    format!("COALESCE(${at}, {})", db.dialect().now)
}

/// SQL for that time plus the seconds bound as parameter `seconds` (a float).
pub fn later_sql(db: &super::Db, at: usize, seconds: usize) -> String {
    match db {
        super::Db::Postgres(_) => format!("({} + make_interval(secs => ${seconds}))", now_sql(db, at)),
        super::Db::Sqlite(_) => format!(
            "strftime('%Y-%m-%dT%H:%M:%fZ', COALESCE(${at}, 'now'), '+' || ${seconds} || ' seconds')"
        ),
    }
}
