//! Repeat complaints: an earlier complaint from the same borrower within a window.

use crate::taxonomy::CategoryId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// An earlier complaint found in the borrower index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorComplaint {
    pub reference: String,
    pub category: CategoryId,
    pub received_at: DateTime<Utc>,
}

/// What the borrower's history says about a new complaint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatFinding {
    /// The most recent earlier complaint in the window, any category.
    pub previous_any: Option<String>,
    /// The most recent earlier complaint in the window with the same category.
    pub previous_same_category: Option<String>,
    /// How many distinct earlier complaints fall in the window.
    pub earlier_in_window: u32,
}

impl RepeatFinding {
    /// True if any earlier complaint falls in the window.
    pub fn is_repeat(&self) -> bool {
        self.previous_any.is_some()
    }
}

/// Looks for earlier complaints in `[received_at - window, received_at]`, ignoring the
/// complaint itself (a redelivered message finds its own index entry).
pub fn find_repeats(
    reference: &str,
    category: &str,
    received_at: DateTime<Utc>,
    window: Duration,
    priors: &[PriorComplaint],
) -> RepeatFinding {
    let since = received_at - window;
    let mut in_window: Vec<&PriorComplaint> = priors
        .iter()
        .filter(|p| {
            p.reference != reference && p.received_at >= since && p.received_at <= received_at
        })
        .collect();
    // The same complaint may be found through several identifiers.
    in_window.sort_by(|a, b| {
        b.received_at
            .cmp(&a.received_at)
            .then(a.reference.cmp(&b.reference))
    });
    in_window.dedup_by(|a, b| a.reference == b.reference);
    RepeatFinding {
        previous_any: in_window.first().map(|p| p.reference.clone()),
        previous_same_category: in_window
            .iter()
            .find(|p| p.category == category)
            .map(|p| p.reference.clone()),
        earlier_in_window: in_window.len() as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(reference: &str, category: &str, days_ago: i64) -> PriorComplaint {
        PriorComplaint {
            reference: reference.into(),
            category: category.into(),
            received_at: now() - Duration::days(days_ago),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_earlier_complaint_in_the_window_makes_a_repeat() {
        let f = find_repeats(
            "NEW",
            "fees_interest",
            now(),
            Duration::days(90),
            &[prior("A", "payments", 10)],
        );
        assert!(f.is_repeat());
        assert_eq!(f.previous_any.as_deref(), Some("A"));
        assert_eq!(f.previous_same_category, None);
    }

    #[test]
    fn same_category_is_told_apart_and_latest_wins() {
        let priors = [
            prior("OLD", "fees_interest", 60),
            prior("MID", "payments", 20),
            prior("NEW-ISH", "fees_interest", 5),
            prior("NEW-ISH", "fees_interest", 5),
        ];
        let f = find_repeats("NEW", "fees_interest", now(), Duration::days(90), &priors);
        assert_eq!(f.previous_any.as_deref(), Some("NEW-ISH"));
        assert_eq!(f.previous_same_category.as_deref(), Some("NEW-ISH"));
        assert_eq!(f.earlier_in_window, 3);
    }

    #[test]
    fn complaints_outside_the_window_and_itself_do_not_count() {
        let priors = [
            prior("ANCIENT", "fees_interest", 91),
            prior("NEW", "fees_interest", 0),
        ];
        let f = find_repeats("NEW", "fees_interest", now(), Duration::days(90), &priors);
        assert!(!f.is_repeat());
        assert_eq!(f.earlier_in_window, 0);
    }
}
