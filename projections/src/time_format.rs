//! Timestamps as the seed API shows them: UTC, seconds, no zone suffix ("2025-10-09T16:51:14").

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

pub fn serialize<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&value.format(FORMAT))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    NaiveDateTime::parse_from_str(&text, FORMAT)
        .map(|naive| naive.and_utc())
        .map_err(serde::de::Error::custom)
}

/// The same instant cut to whole seconds, so a view equals its own serialized form.
pub fn truncate(value: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(value.timestamp(), 0).unwrap_or(value)
}
