//! What each change to a ticket counts, for the management reports. Pure.
//!
//! Counters live per (day, dimension, value): `(2026-03-02, team, billing) → received 4,
//! resolved 2 …`. Days are calendar days in the reporting time zone (`[reporting]` in
//! `sla.toml`). [`deltas`] derives the counts from the ticket before and after one
//! change, so they are the same whoever made the change (intake, a team, the sweeper,
//! the surveys function); the caller writes them in the same transaction as the change
//! itself, conditional on the ticket's version. That is what makes counting exactly
//! once: a redelivered message or a retried Lambda finds the change already made and
//! writes nothing, counts included. Replaying the same (before, after) pair *would*
//! count twice; storage prevents it, not this module.
//!
//! Rules chosen where the design left a choice:
//! - A counter is filed under the ticket's values (team, category, channel, priority)
//!   when the counted thing happens. A transfer counts nothing, except that the *_DUE
//!   counts of deadlines not yet met or missed move to the new team, so that on-time ≤
//!   due holds per team: a deadline is judged against the team that holds the ticket.
//! - *_DUE counts on the day of the regulatory deadline; *_ON_TIME counts on that same
//!   day (not the day of the action), so "on-time rate for a period" is the share of the
//!   deadlines falling in the period that were met. When a deadline moves (resume,
//!   extension) while its outcome is still open, its due count moves with it. Once it is
//!   settled (acknowledged; first resolved) it never moves again.
//! - Only the first acknowledgement and the first resolution count (ACKNOWLEDGED,
//!   RESOLVED, the on-time counts, the time histograms, SURVEYS_SENT). A re-resolution
//!   after a reopen counts nothing again: one complaint, one outcome; reopens are counted
//!   by REOPENED.
//! - Times are elapsed wall-clock time from receipt, paused time included (the borrower
//!   waited). Histograms are not cumulative: each time falls in exactly one bucket
//!   `(previous bound, bound]`.
//! - A "not solved" survey answer that reopens a ticket also counts as a repeat (any and
//!   same category) on the day of the answer: the borrower complains again about the
//!   same matter. It does not count as RECEIVED.

use crate::survey::{Solved, SurveyAnswer};
use crate::ticket::{Ticket, TicketStatus};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a counter is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Everything; the value is always `all`.
    All,
    Team,
    Category,
    Channel,
    Priority,
    /// Signals found at intake (only RECEIVED is counted per signal).
    Signal,
}

impl Dimension {
    /// Every dimension, in a stable order.
    pub const ALL: [Dimension; 6] = [
        Dimension::All,
        Dimension::Team,
        Dimension::Category,
        Dimension::Channel,
        Dimension::Priority,
        Dimension::Signal,
    ];

    /// The identifier used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::All => "all",
            Dimension::Team => "team",
            Dimension::Category => "category",
            Dimension::Channel => "channel",
            Dimension::Priority => "priority",
            Dimension::Signal => "signal",
        }
    }

    /// Parses the identifier written by [`Dimension::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl std::fmt::Display for Dimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of [`Dimension::All`].
pub const ALL_VALUE: &str = "all";

/// Complaints received (on the day of receipt).
pub const RECEIVED: &str = "received";
/// Received complaints whose borrower complained before within the repeat window, plus
/// "not solved" survey reopens.
pub const REPEAT_ANY: &str = "repeat_any";
/// As [`REPEAT_ANY`], for an earlier complaint of the same category.
pub const REPEAT_SAME_CATEGORY: &str = "repeat_same_category";
/// First acknowledgements (on the day of acknowledgement).
pub const ACKNOWLEDGED: &str = "acknowledged";
/// First resolutions (on the day of resolution).
pub const RESOLVED: &str = "resolved";
/// Reopens, by a team or by a "not solved" survey answer.
pub const REOPENED: &str = "reopened";
/// Regulatory acknowledgement deadlines falling on the day.
pub const ACK_DUE: &str = "ack_due";
/// Of those, acknowledged by the deadline (counted on the deadline's day).
pub const ACK_ON_TIME: &str = "ack_on_time";
/// Regulatory resolution deadlines falling on the day.
pub const RESOLVE_DUE: &str = "resolve_due";
/// Of those, first resolved by the deadline (counted on the deadline's day).
pub const RESOLVE_ON_TIME: &str = "resolve_on_time";
/// Survey invitations (issued on first resolution).
pub const SURVEYS_SENT: &str = "surveys_sent";
/// Survey answers recorded.
pub const SURVEYS_ANSWERED: &str = "surveys_answered";
/// Answers "solved: yes".
pub const SOLVED_YES: &str = "solved_yes";
/// Answers "solved: partly".
pub const SOLVED_PARTLY: &str = "solved_partly";
/// Answers "solved: no".
pub const SOLVED_NO: &str = "solved_no";

/// CSAT distribution counters, index = score − 1.
pub const CSAT: [&str; 5] = ["csat_1", "csat_2", "csat_3", "csat_4", "csat_5"];
/// NPS distribution counters, index = score.
pub const NPS: [&str; 11] = [
    "nps_0", "nps_1", "nps_2", "nps_3", "nps_4", "nps_5", "nps_6", "nps_7", "nps_8", "nps_9",
    "nps_10",
];

/// Upper bounds, in minutes, of the time-to-acknowledge and time-to-resolve histograms,
/// roughly log-spaced from 15 minutes to 60 days; a last bucket (`le_inf`) takes the rest.
pub const MINUTE_BUCKETS: &[u32] = &[
    15, 30, 60, 120, 240, 480, 720, 1440, 2880, 4320, 7200, 10080, 14400, 20160, 30240, 43200,
    64800, 86400,
];

/// Prefix of the time-to-acknowledge histogram counters (`ack_minutes_le_60` …).
pub const ACK_MINUTES: &str = "ack_minutes";
/// Prefix of the time-to-resolve histogram counters (`resolve_minutes_le_60` …).
pub const RESOLVE_MINUTES: &str = "resolve_minutes";

/// The counter of a CSAT score (1..=5), `None` outside the scale.
pub fn csat_counter(score: u8) -> Option<&'static str> {
    CSAT.get(usize::from(score).checked_sub(1)?).copied()
}

/// The counter of an NPS score (0..=10), `None` outside the scale.
pub fn nps_counter(score: u8) -> Option<&'static str> {
    NPS.get(usize::from(score)).copied()
}

/// The counter of the solved answer.
pub fn solved_counter(solved: Solved) -> &'static str {
    match solved {
        Solved::Yes => SOLVED_YES,
        Solved::Partly => SOLVED_PARTLY,
        Solved::No => SOLVED_NO,
    }
}

/// The name of histogram bucket `bound` (`None` = the last, unbounded one) of `prefix`.
pub fn bucket_counter(prefix: &str, bound: Option<u32>) -> String {
    match bound {
        Some(b) => format!("{prefix}_le_{b}"),
        None => format!("{prefix}_le_inf"),
    }
}

/// The bucket an elapsed time falls in: the first bound `b` with `seconds <= 60 * b`
/// (`None` past the last bound). A negative time counts as zero.
pub fn bucket_for(seconds: i64) -> Option<u32> {
    let seconds = seconds.max(0);
    MINUTE_BUCKETS
        .iter()
        .copied()
        .find(|b| seconds <= i64::from(*b) * 60)
}

/// One change to one counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetricDelta {
    pub day: NaiveDate,
    pub dimension: Dimension,
    pub value: String,
    pub counter: String,
    pub amount: i64,
}

/// The (dimension, value) pairs every counter is filed under, for a ticket's state.
fn keys(t: &Ticket) -> [(Dimension, String); 5] {
    [
        (Dimension::All, ALL_VALUE.to_string()),
        (Dimension::Team, t.team.to_string()),
        (Dimension::Category, t.category.to_string()),
        (Dimension::Channel, t.channel.as_str().to_string()),
        (Dimension::Priority, t.priority.as_str().to_string()),
    ]
}

struct Out {
    tz: Tz,
    deltas: Vec<MetricDelta>,
}

impl Out {
    fn day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// `amount` of `counter` on the day of `at`, under every key of `t`.
    fn count(&mut self, t: &Ticket, at: DateTime<Utc>, counter: &str, amount: i64) {
        let day = self.day(at);
        for (dimension, value) in keys(t) {
            self.deltas.push(MetricDelta {
                day,
                dimension,
                value,
                counter: counter.to_string(),
                amount,
            });
        }
    }

    /// Moves one `counter` from (old day, old keys) to (new day, new keys), per dimension,
    /// emitting nothing where both are the same.
    fn moved(
        &mut self,
        counter: &str,
        old: (&Ticket, DateTime<Utc>),
        new: (&Ticket, DateTime<Utc>),
    ) {
        let (old_day, new_day) = (self.day(old.1), self.day(new.1));
        for ((dimension, old_value), (_, new_value)) in keys(old.0).into_iter().zip(keys(new.0)) {
            if old_day == new_day && old_value == new_value {
                continue;
            }
            self.deltas.push(MetricDelta {
                day: old_day,
                dimension,
                value: old_value,
                counter: counter.to_string(),
                amount: -1,
            });
            self.deltas.push(MetricDelta {
                day: new_day,
                dimension,
                value: new_value,
                counter: counter.to_string(),
                amount: 1,
            });
        }
    }
}

/// The counter changes one change to a ticket makes (see the module notes).
///
/// `before` is `None` when the ticket is created. `survey` is the answer when the change
/// is a survey answer ([`crate::survey::apply_answer`]). `now` is when the change
/// happens: reopens and survey answers are counted on its day.
pub fn deltas(
    before: Option<&Ticket>,
    after: &Ticket,
    survey: Option<&SurveyAnswer>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<MetricDelta> {
    let mut out = Out {
        tz,
        deltas: Vec::new(),
    };
    let d = &after.deadlines;
    match before {
        None => {
            out.count(after, after.received_at, RECEIVED, 1);
            let day = out.day(after.received_at);
            for signal in &after.signals {
                out.deltas.push(MetricDelta {
                    day,
                    dimension: Dimension::Signal,
                    value: signal.as_str().to_string(),
                    counter: RECEIVED.to_string(),
                    amount: 1,
                });
            }
            if after.repeat.previous_any.is_some() {
                out.count(after, after.received_at, REPEAT_ANY, 1);
            }
            if after.repeat.previous_same_category.is_some() {
                out.count(after, after.received_at, REPEAT_SAME_CATEGORY, 1);
            }
            out.count(after, d.regulatory_acknowledge_by, ACK_DUE, 1);
            out.count(after, d.regulatory_resolve_by, RESOLVE_DUE, 1);
        }
        Some(b) => {
            let bd = &b.deadlines;
            // A deadline still open moves its due count with it (or with the team).
            if b.acknowledged_at.is_none() {
                out.moved(
                    ACK_DUE,
                    (b, bd.regulatory_acknowledge_by),
                    (after, d.regulatory_acknowledge_by),
                );
            }
            if b.resolved_at.is_none() {
                out.moved(
                    RESOLVE_DUE,
                    (b, bd.regulatory_resolve_by),
                    (after, d.regulatory_resolve_by),
                );
            }
        }
    }
    let before_ack = before.and_then(|b| b.acknowledged_at);
    if let (None, Some(at)) = (before_ack, after.acknowledged_at) {
        out.count(after, at, ACKNOWLEDGED, 1);
        if at <= d.regulatory_acknowledge_by {
            out.count(after, d.regulatory_acknowledge_by, ACK_ON_TIME, 1);
        }
        let bucket = bucket_for((at - after.received_at).num_seconds());
        out.count(after, at, &bucket_counter(ACK_MINUTES, bucket), 1);
    }
    let before_resolved = before.and_then(|b| b.resolved_at);
    if let (None, Some(at)) = (before_resolved, after.resolved_at) {
        out.count(after, at, RESOLVED, 1);
        if at <= d.regulatory_resolve_by {
            out.count(after, d.regulatory_resolve_by, RESOLVE_ON_TIME, 1);
        }
        let bucket = bucket_for((at - after.received_at).num_seconds());
        out.count(after, at, &bucket_counter(RESOLVE_MINUTES, bucket), 1);
        out.count(after, at, SURVEYS_SENT, 1);
    }
    let reopened = after.status == TicketStatus::Reopened
        && before.is_some_and(|b| b.status != TicketStatus::Reopened);
    if reopened {
        out.count(after, now, REOPENED, 1);
    }
    if let Some(answer) = survey {
        out.count(after, now, SURVEYS_ANSWERED, 1);
        if let Some(c) = csat_counter(answer.csat) {
            out.count(after, now, c, 1);
        }
        if let Some(c) = nps_counter(answer.nps) {
            out.count(after, now, c, 1);
        }
        out.count(after, now, solved_counter(answer.solved), 1);
        if reopened {
            out.count(after, now, REPEAT_ANY, 1);
            out.count(after, now, REPEAT_SAME_CATEGORY, 1);
        }
    }
    out.deltas
}

/// The storage key of one counter row: (day, dimension, value).
pub type RowKey = (NaiveDate, Dimension, String);

/// Groups deltas by row (one update per row), summing per counter and dropping zero
/// sums (and rows left empty).
pub fn merge(
    deltas: impl IntoIterator<Item = MetricDelta>,
) -> BTreeMap<RowKey, BTreeMap<String, i64>> {
    let mut rows: BTreeMap<RowKey, BTreeMap<String, i64>> = BTreeMap::new();
    for d in deltas {
        *rows
            .entry((d.day, d.dimension, d.value))
            .or_default()
            .entry(d.counter)
            .or_default() += d.amount;
    }
    for counters in rows.values_mut() {
        counters.retain(|_, v| *v != 0);
    }
    rows.retain(|_, counters| !counters.is_empty());
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::fixtures::{config, shanghai, ticket};
    use crate::lifecycle::{apply, Action, ActionContext};
    use crate::survey::apply_answer;
    use crate::taxonomy::{Priority, Signal};
    use crate::ticket::{Actor, ResolutionCode};
    use chrono::Duration;
    use proptest::prelude::*;

    fn tz() -> Tz {
        chrono_tz::Asia::Shanghai
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn act(t: &Ticket, action: Action, now: DateTime<Utc>) -> Ticket {
        try_act(t, &action, now).unwrap_or_else(|| panic!("{action:?} refused"))
    }

    fn try_act(t: &Ticket, action: &Action, now: DateTime<Utc>) -> Option<Ticket> {
        let actor = Actor {
            id: "alice".into(),
            role: "billing".into(),
        };
        let ctx = ActionContext {
            actor: &actor,
            now,
            config: config(),
        };
        apply(t, action, &ctx).ok().map(|(t, _)| t)
    }

    /// The sum of `counter` over all days, under one (dimension, value).
    fn total(deltas: &[MetricDelta], dimension: Dimension, value: &str, counter: &str) -> i64 {
        deltas
            .iter()
            .filter(|d| d.dimension == dimension && d.value == value && d.counter == counter)
            .map(|d| d.amount)
            .sum()
    }

    fn all(deltas: &[MetricDelta], counter: &str) -> i64 {
        total(deltas, Dimension::All, ALL_VALUE, counter)
    }

    /// `counter` under `all` on one day.
    fn on(deltas: &[MetricDelta], d: NaiveDate, counter: &str) -> i64 {
        deltas
            .iter()
            .filter(|x| x.dimension == Dimension::All && x.day == d && x.counter == counter)
            .map(|x| x.amount)
            .sum()
    }

    #[test]
    fn a_new_ticket_counts_received_repeats_signals_and_both_deadlines() {
        let t0 = shanghai("2026-03-02 23:30:00");
        let mut t = ticket(t0, Priority::High);
        t.signals = [Signal::Threat, Signal::Repeat].into_iter().collect();
        t.repeat.previous_any = Some("RD-260101-AAAAAAAA".into());
        let d = deltas(None, &t, None, t0, tz());
        assert_eq!(on(&d, day("2026-03-02"), RECEIVED), 1);
        assert_eq!(all(&d, REPEAT_ANY), 1);
        assert_eq!(all(&d, REPEAT_SAME_CATEGORY), 0);
        // cn-2020: acknowledge within 2 calendar days, resolve within 15.
        assert_eq!(on(&d, day("2026-03-04"), ACK_DUE), 1);
        assert_eq!(on(&d, day("2026-03-17"), RESOLVE_DUE), 1);
        for (dimension, value) in [
            (Dimension::Team, "billing"),
            (Dimension::Category, "fees_interest"),
            (Dimension::Channel, "web"),
            (Dimension::Priority, "high"),
            (Dimension::Signal, "threat"),
            (Dimension::Signal, "repeat"),
        ] {
            assert_eq!(
                total(&d, dimension, value, RECEIVED),
                1,
                "{dimension} {value}"
            );
        }
        // Only RECEIVED is counted per signal.
        assert!(d
            .iter()
            .filter(|x| x.dimension == Dimension::Signal)
            .all(|x| x.counter == RECEIVED));
        assert_eq!(d.iter().filter(|x| x.counter == RECEIVED).count(), 7);
    }

    #[test]
    fn days_are_counted_in_the_reporting_time_zone() {
        // 23:30 in Shanghai is 15:30 UTC the same day; 00:30 in Shanghai is the day
        // before in UTC.
        let t0 = shanghai("2026-03-03 00:30:00");
        let t = ticket(t0, Priority::Normal);
        let d = deltas(None, &t, None, t0, tz());
        assert_eq!(on(&d, day("2026-03-03"), RECEIVED), 1);
        let d = deltas(None, &t, None, t0, chrono_tz::UTC);
        assert_eq!(on(&d, day("2026-03-02"), RECEIVED), 1);
    }

    #[test]
    fn the_first_acknowledgement_counts_once_with_its_time_bucket_and_deadline_day() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let a = act(&t, Action::Acknowledge, t0 + Duration::minutes(45));
        let d = deltas(Some(&t), &a, None, t0 + Duration::minutes(45), tz());
        assert_eq!(on(&d, day("2026-03-02"), ACKNOWLEDGED), 1);
        assert_eq!(on(&d, day("2026-03-04"), ACK_ON_TIME), 1);
        assert_eq!(on(&d, day("2026-03-02"), "ack_minutes_le_60"), 1);
        assert_eq!(all(&d, ACK_DUE), 0);
        assert_eq!(d.len(), 3 * 5);
        // Late: past the regulatory deadline, no on-time count.
        let late = t.deadlines.regulatory_acknowledge_by + Duration::seconds(1);
        let a = act(&t, Action::Acknowledge, late);
        let d = deltas(Some(&t), &a, None, late, tz());
        assert_eq!(all(&d, ACKNOWLEDGED), 1);
        assert_eq!(all(&d, ACK_ON_TIME), 0);
        assert_eq!(all(&d, "ack_minutes_le_4320"), 1);
    }

    #[test]
    fn the_first_resolution_counts_once_and_sends_the_survey() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let a = act(&t, Action::Acknowledge, t0);
        let u = act(&a, Action::StartAnalysis, t0);
        let resolve = || Action::Resolve {
            code: ResolutionCode::Upheld,
            summary: "refunded".into(),
        };
        let at = t0 + Duration::days(3);
        let r = act(&u, resolve(), at);
        let d = deltas(Some(&u), &r, None, at, tz());
        assert_eq!(on(&d, day("2026-03-05"), RESOLVED), 1);
        assert_eq!(on(&d, day("2026-03-17"), RESOLVE_ON_TIME), 1);
        assert_eq!(on(&d, day("2026-03-05"), "resolve_minutes_le_4320"), 1);
        assert_eq!(on(&d, day("2026-03-05"), SURVEYS_SENT), 1);
        // Reopened by the team and resolved again: the reopen counts, the second
        // resolution does not.
        let later = at + Duration::days(1);
        let o = act(
            &r,
            Action::Reopen {
                reason: "borrower disputes".into(),
            },
            later,
        );
        let d = deltas(Some(&r), &o, None, later, tz());
        assert_eq!(on(&d, day("2026-03-06"), REOPENED), 1);
        assert_eq!(all(&d, REPEAT_ANY), 0);
        assert_eq!(d.len(), 5);
        let u2 = act(&o, Action::StartAnalysis, later);
        let r2 = act(&u2, resolve(), later + Duration::hours(1));
        assert!(deltas(Some(&u2), &r2, None, later, tz()).is_empty());
    }

    #[test]
    fn an_extension_moves_the_resolution_due_count_to_the_new_day() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let x = act(
            &t,
            Action::Extend {
                reason: "complex".into(),
            },
            t0 + Duration::days(1),
        );
        let d = deltas(Some(&t), &x, None, t0, tz());
        assert_eq!(on(&d, day("2026-03-17"), RESOLVE_DUE), -1);
        assert_eq!(on(&d, day("2026-04-01"), RESOLVE_DUE), 1);
        assert_eq!(all(&d, RESOLVE_DUE), 0);
        assert_eq!(total(&d, Dimension::Team, "billing", RESOLVE_DUE), 0);
        assert!(d.iter().all(|x| x.counter == RESOLVE_DUE));
    }

    #[test]
    fn a_transfer_moves_only_the_open_deadlines_to_the_new_team() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let a = act(&t, Action::Acknowledge, t0);
        let x = act(
            &a,
            Action::Transfer {
                to_team: "hardship".into(),
                reason: "instalments".into(),
                category: None,
            },
            t0,
        );
        let d = deltas(Some(&a), &x, None, t0, tz());
        let due = |team: &str, counter: &str| total(&d, Dimension::Team, team, counter);
        assert_eq!(due("billing", RESOLVE_DUE), -1);
        assert_eq!(due("hardship", RESOLVE_DUE), 1);
        // The acknowledgement deadline was already met under billing: it stays there.
        assert_eq!(due("billing", ACK_DUE), 0);
        assert_eq!(due("hardship", ACK_DUE), 0);
        // Nothing changes under the other dimensions.
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn a_not_solved_answer_counts_the_survey_the_reopen_and_a_repeat() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let a = act(&t, Action::Acknowledge, t0);
        let u = act(&a, Action::StartAnalysis, t0);
        let r = act(
            &u,
            Action::Resolve {
                code: ResolutionCode::NotUpheld,
                summary: "s".into(),
            },
            t0 + Duration::days(1),
        );
        let answer = SurveyAnswer {
            csat: 2,
            nps: 3,
            solved: Solved::No,
            comment: None,
        };
        let at = t0 + Duration::days(4);
        let (o, _) = apply_answer(&r, &answer, at, Duration::days(30)).unwrap();
        let d = deltas(Some(&r), &o, Some(&answer), at, tz());
        let d6 = day("2026-03-06");
        for counter in [
            SURVEYS_ANSWERED,
            "csat_2",
            "nps_3",
            SOLVED_NO,
            REOPENED,
            REPEAT_ANY,
            REPEAT_SAME_CATEGORY,
        ] {
            assert_eq!(on(&d, d6, counter), 1, "{counter}");
            assert_eq!(total(&d, Dimension::Team, "billing", counter), 1);
        }
        assert_eq!(d.len(), 7 * 5);
        // A satisfied answer closes: no reopen, no repeat.
        let happy = SurveyAnswer {
            csat: 5,
            nps: 10,
            solved: Solved::Yes,
            comment: None,
        };
        let (c, _) = apply_answer(&r, &happy, at, Duration::days(30)).unwrap();
        let d = deltas(Some(&r), &c, Some(&happy), at, tz());
        assert_eq!(
            all(&d, "csat_5") + all(&d, "nps_10") + all(&d, SOLVED_YES),
            3
        );
        assert_eq!(all(&d, REOPENED) + all(&d, REPEAT_ANY), 0);
    }

    #[test]
    fn buckets_cover_every_time_exactly_once() {
        assert_eq!(bucket_for(-5), Some(15));
        assert_eq!(bucket_for(15 * 60), Some(15));
        assert_eq!(bucket_for(15 * 60 + 1), Some(30));
        assert_eq!(bucket_for(86_400 * 60), Some(86_400));
        assert_eq!(bucket_for(86_400 * 60 + 1), None);
        assert_eq!(bucket_counter(ACK_MINUTES, None), "ack_minutes_le_inf");
        assert!(MINUTE_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(csat_counter(0), None);
        assert_eq!(csat_counter(5), Some("csat_5"));
        assert_eq!(nps_counter(10), Some("nps_10"));
        assert_eq!(nps_counter(11), None);
        for d in Dimension::ALL {
            assert_eq!(Dimension::parse(d.as_str()), Some(d));
        }
    }

    #[test]
    fn merge_sums_per_row_and_drops_what_cancels() {
        let d = |day: &str, value: &str, counter: &str, amount: i64| MetricDelta {
            day: self::day(day),
            dimension: Dimension::Team,
            value: value.into(),
            counter: counter.into(),
            amount,
        };
        let rows = merge(vec![
            d("2026-03-02", "billing", RECEIVED, 1),
            d("2026-03-02", "billing", RECEIVED, 1),
            d("2026-03-02", "billing", RESOLVE_DUE, 1),
            d("2026-03-02", "billing", RESOLVE_DUE, -1),
            d("2026-03-03", "billing", RESOLVE_DUE, 1),
            d("2026-03-03", "billing", RESOLVE_DUE, -1),
        ]);
        assert_eq!(rows.len(), 1);
        let row = &rows[&(day("2026-03-02"), Dimension::Team, "billing".to_string())];
        assert_eq!(row.len(), 1);
        assert_eq!(row[RECEIVED], 2);
    }

    // ---- property test -----------------------------------------------------------------

    #[derive(Debug, Clone)]
    enum Step {
        Act(Action),
        Answer(SurveyAnswer),
    }

    fn any_step() -> impl Strategy<Value = Step> {
        let team = proptest::sample::select(vec!["billing", "hardship", "fraud"]);
        let actions = prop_oneof![
            3 => Just(Action::Acknowledge),
            3 => Just(Action::StartAnalysis),
            3 => Just(Action::Resolve { code: ResolutionCode::Upheld, summary: "s".into() }),
            1 => team.prop_map(|t| Action::Transfer { to_team: t.into(), reason: "r".into(), category: None }),
            1 => Just(Action::Pause { reason: "r".into() }),
            2 => Just(Action::Resume),
            1 => Just(Action::Extend { reason: "r".into() }),
            1 => Just(Action::Reopen { reason: "r".into() }),
            1 => Just(Action::Close { reason: "r".into() }),
            1 => Just(Action::AddNote { text: "n".into() }),
        ];
        let answer = (1u8..=5, 0u8..=10, 0usize..3).prop_map(|(csat, nps, s)| SurveyAnswer {
            csat,
            nps,
            solved: [Solved::Yes, Solved::Partly, Solved::No][s],
            comment: None,
        });
        prop_oneof![
            8 => actions.prop_map(Step::Act),
            2 => answer.prop_map(Step::Answer),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_history_counts_each_thing_at_most_once_and_due_counts_exactly_once(
            start in 0i64..(365 * 86_400),
            priority in proptest::sample::select(vec![Priority::Low, Priority::Normal, Priority::High, Priority::Critical]),
            steps in proptest::collection::vec((any_step(), 0i64..(4 * 86_400)), 1..40),
        ) {
            let t0 = shanghai("2026-01-01 00:00:00") + Duration::seconds(start);
            let mut t = ticket(t0, priority);
            let mut now = t0;
            let mut all_deltas = deltas(None, &t, None, now, tz());
            let (mut answers, mut reopens) = (0i64, 0i64);
            for (step, gap) in steps {
                now += Duration::seconds(gap);
                let (next, survey) = match &step {
                    Step::Act(action) => (try_act(&t, action, now), None),
                    Step::Answer(a) => (
                        apply_answer(&t, a, now, Duration::days(30)).ok().map(|(t, _)| t),
                        Some(a),
                    ),
                };
                let Some(next) = next else { continue };
                answers += i64::from(survey.is_some());
                reopens += i64::from(
                    t.status != TicketStatus::Reopened && next.status == TicketStatus::Reopened,
                );
                all_deltas.extend(deltas(Some(&t), &next, survey, now, tz()));
                t = next;
            }
            let d = &all_deltas;
            prop_assert_eq!(all(d, RECEIVED), 1);
            prop_assert_eq!(all(d, ACKNOWLEDGED), i64::from(t.acknowledged_at.is_some()));
            prop_assert_eq!(all(d, RESOLVED), i64::from(t.resolved_at.is_some()));
            prop_assert_eq!(all(d, SURVEYS_SENT), all(d, RESOLVED));
            prop_assert_eq!(all(d, SURVEYS_ANSWERED), answers);
            prop_assert_eq!(all(d, REOPENED), reopens);
            prop_assert_eq!(all(d, ACK_DUE), 1);
            prop_assert_eq!(all(d, RESOLVE_DUE), 1);
            prop_assert!(all(d, ACK_ON_TIME) <= all(d, ACKNOWLEDGED));
            prop_assert!(all(d, RESOLVE_ON_TIME) <= all(d, RESOLVED));
            // Per row: every counter is 0 or more, and on-time never exceeds due, under
            // every dimension (the due count follows the team holding the ticket).
            let rows = merge(d.iter().cloned());
            for ((day, dimension, value), counters) in &rows {
                for (counter, n) in counters {
                    prop_assert!(*n > 0, "{} {} {} {} = {}", day, dimension, value, counter, n);
                }
                let get = |k: &str| counters.get(k).copied().unwrap_or(0);
                prop_assert!(get(ACK_ON_TIME) <= get(ACK_DUE), "{} {} {}", day, dimension, value);
                prop_assert!(get(RESOLVE_ON_TIME) <= get(RESOLVE_DUE), "{} {} {}", day, dimension, value);
            }
            // A deadline still open has its due count on its current day, under the
            // current team (once settled, a later extension moves nothing).
            let ack_day = t.deadlines.regulatory_acknowledge_by.with_timezone(&tz()).date_naive();
            prop_assert_eq!(on(d, ack_day, ACK_DUE), 1);
            if t.resolved_at.is_none() {
                let resolve_day = t.deadlines.regulatory_resolve_by.with_timezone(&tz()).date_naive();
                prop_assert_eq!(on(d, resolve_day, RESOLVE_DUE), 1);
                prop_assert_eq!(total(d, Dimension::Team, t.team.as_str(), RESOLVE_DUE), 1);
            }
            if t.acknowledged_at.is_none() {
                prop_assert_eq!(total(d, Dimension::Team, t.team.as_str(), ACK_DUE), 1);
            }
            // Each histogram holds one time per first acknowledgement / resolution.
            let hist = |prefix: &str| d.iter()
                .filter(|x| x.dimension == Dimension::All && x.counter.starts_with(prefix))
                .map(|x| x.amount)
                .sum::<i64>();
            prop_assert_eq!(hist(ACK_MINUTES), all(d, ACKNOWLEDGED));
            prop_assert_eq!(hist(RESOLVE_MINUTES), all(d, RESOLVED));
            // Replaying a change would count it again: storage must refuse replays.
            let twice = deltas(None, &t, None, now, tz());
            prop_assert_eq!(all(&[twice.clone(), twice].concat(), RECEIVED), 2);
        }
    }
}
