//! The range of dates Redress accepts from outside: a report period, a message's receipt
//! time, a time on the command line. chrono's own range is years −262143 to 262142, and
//! arithmetic at its ends panics (the period before `-262143-01-01` does not exist);
//! keeping every input between 2000-01-01 and 2100-12-31 leaves a wide margin for
//! every previous period, window and deadline computed from it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};

/// The first date accepted.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("2000-01-01 is a date"),
};

/// The last date accepted.
pub const LATEST: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => panic!("2100-12-31 is a date"),
};

/// Whether `day` lies between [`EARLIEST`] and [`LATEST`].
pub fn date_in_range(day: NaiveDate) -> bool {
    (EARLIEST..=LATEST).contains(&day)
}

/// Whether the UTC day of `t` lies between [`EARLIEST`] and [`LATEST`].
pub fn time_in_range(t: DateTime<Utc>) -> bool {
    date_in_range(t.date_naive())
}

/// Deserializes a time and refuses one outside the accepted range, so a message that
/// carries one is refused at the edge (poison) instead of overflowing later.
pub fn bounded_time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let t = DateTime::<Utc>::deserialize(d)?;
    if time_in_range(t) {
        Ok(t)
    } else {
        Err(serde::de::Error::custom(format!(
            "time outside {EARLIEST}..{LATEST}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Stamped {
        #[serde(deserialize_with = "bounded_time")]
        at: DateTime<Utc>,
    }

    fn stamped(at: &str) -> Result<Stamped, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "at": at }))
    }

    #[test]
    fn times_at_chronos_ends_are_refused_and_ordinary_ones_kept() {
        assert_eq!(
            stamped("2026-11-23T10:00:00+08:00").unwrap().at,
            "2026-11-23T02:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(stamped("2000-01-01T00:00:00Z").is_ok());
        assert!(stamped("2100-12-31T23:59:59Z").is_ok());
        for far in [
            "1999-12-31T23:59:59Z",
            "2101-01-01T00:00:00Z",
            "+262142-12-31T23:59:59Z",
            "-262143-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
        ] {
            assert!(stamped(far).is_err(), "{far} accepted");
        }
    }
}
