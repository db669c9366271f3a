//! Timestamps as JavaScript's `Date` serializes them: RFC 3339, UTC, milliseconds, `Z`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Formats a timestamp as `2026-11-25T17:08:42.787Z`.
#[must_use]
pub fn format(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serde `serialize_with` for [`format`].
///
/// # Errors
/// Only the serializer's own.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(at))
}

/// Serde `deserialize_with`: any RFC 3339 timestamp, converted to UTC.
///
/// # Errors
/// When the text is not RFC 3339.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(serde::de::Error::custom)
}

/// The same for an optional timestamp (`null` when absent).
pub mod optional {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serde `serialize_with`.
    ///
    /// # Errors
    /// Only the serializer's own.
    #[allow(clippy::ref_option)] // serde's `with` passes a reference to the field
    pub fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Serde `deserialize_with`.
    ///
    /// # Errors
    /// When the text is not RFC 3339.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// Milliseconds since the Unix epoch, truncated like `Date.now()`.
#[must_use]
pub fn now_millis() -> DateTime<Utc> {
    millis(Utc::now())
}

/// `at` truncated to whole milliseconds, as JavaScript's `Date` keeps it.
#[must_use]
pub fn millis(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_javascript_date() {
        let at = DateTime::parse_from_rfc3339("2026-11-25T17:08:42.787123+00:00")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(format(&at), "2026-11-25T17:08:42.787Z");
    }
}
