//! Deadline watching for the sweeper: which warnings and breaches fall due on a ticket,
//! and recording each of them exactly once.
//!
//! A ticket has up to four alerts, in this order: acknowledgement warning (`warning`
//! before `acknowledge_by`), acknowledgement breach, resolution warning, resolution
//! breach. Acknowledgement alerts stop once the ticket is acknowledged; nothing is due on
//! a resolved, closed or paused ticket (a paused ticket's internal targets move on
//! resume). The marks in [`DeadlineMarks`] record what was sent, so a sweep repeated at
//! the same time records nothing, whatever the sweeper's delivery guarantees.
//!
//! A breach escalates: it raises the ticket's priority one level (low → normal → high →
//! critical; critical stays critical), for the team lead's queue and reports. It does
//! not recompute the deadlines.
//!
//! The sweeper watches the internal targets (`acknowledge_by`, `resolve_by`), which are
//! never later than the regulatory deadlines.

use crate::taxonomy::Priority;
use crate::ticket::{Actor, AuditAction, AuditEvent, DeadlineMarks, Ticket};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// What the sweeper found due on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineAlert {
    AcknowledgeSoon,
    AcknowledgeBreached,
    ResolveSoon,
    ResolveBreached,
}

impl DeadlineAlert {
    /// The identifier used in storage and messages (`acknowledge_soon` …).
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineAlert::AcknowledgeSoon => "acknowledge_soon",
            DeadlineAlert::AcknowledgeBreached => "acknowledge_breached",
            DeadlineAlert::ResolveSoon => "resolve_soon",
            DeadlineAlert::ResolveBreached => "resolve_breached",
        }
    }

    /// True for a breach (which raises priority), false for a warning.
    pub fn is_breach(self) -> bool {
        matches!(
            self,
            DeadlineAlert::AcknowledgeBreached | DeadlineAlert::ResolveBreached
        )
    }

    /// The audit event's `action`: `deadline_warning` or `deadline_breached`.
    pub fn event_action(self) -> AuditAction {
        if self.is_breach() {
            AuditAction::DeadlineBreached
        } else {
            AuditAction::DeadlineWarning
        }
    }
}

/// One deadline (acknowledgement or resolution) as the sweeper sees it.
struct Watched {
    deadline: DateTime<Utc>,
    /// When the warning falls due (saturating at the start of representable time).
    warn_at: DateTime<Utc>,
    warned: Option<DateTime<Utc>>,
    breached: Option<DateTime<Utc>>,
    soon: DeadlineAlert,
    breach: DeadlineAlert,
}

impl Watched {
    /// The warning still to send: not sent, and its deadline not breached already
    /// (a warning after the breach would be noise).
    fn warning_pending(&self) -> bool {
        self.warned.is_none() && self.breached.is_none()
    }

    fn breach_pending(&self) -> bool {
        self.breached.is_none()
    }
}

/// The deadlines still watched on a ticket, acknowledgement first; empty when none is.
fn watched(ticket: &Ticket, warning: Duration) -> Vec<Watched> {
    if !ticket.status.is_open() || ticket.paused_since.is_some() {
        return Vec::new();
    }
    let d = &ticket.deadlines;
    let m = &ticket.deadline_marks;
    let warn_at = |deadline: DateTime<Utc>| {
        deadline
            .checked_sub_signed(warning)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    let mut out = Vec::with_capacity(2);
    if ticket.acknowledged_at.is_none() {
        out.push(Watched {
            deadline: d.acknowledge_by,
            warn_at: warn_at(d.acknowledge_by),
            warned: m.acknowledge_warned_at,
            breached: m.acknowledge_breached_at,
            soon: DeadlineAlert::AcknowledgeSoon,
            breach: DeadlineAlert::AcknowledgeBreached,
        });
    }
    out.push(Watched {
        deadline: d.resolve_by,
        warn_at: warn_at(d.resolve_by),
        warned: m.resolve_warned_at,
        breached: m.resolve_breached_at,
        soon: DeadlineAlert::ResolveSoon,
        breach: DeadlineAlert::ResolveBreached,
    });
    out
}

/// When the sweeper next needs to look at this ticket: the earliest warning or breach
/// not yet recorded; `None` when nothing more can fall due (closed, resolved, paused,
/// everything recorded).
pub fn next_check_at(ticket: &Ticket, warning: Duration) -> Option<DateTime<Utc>> {
    watched(ticket, warning)
        .iter()
        .flat_map(|w| {
            [
                w.warning_pending().then_some(w.warn_at),
                w.breach_pending().then_some(w.deadline),
            ]
        })
        .flatten()
        .min()
}

/// Records every alert due at `now` that is not recorded yet: the changed ticket
/// (marks set, priority raised on breach, version + 1 per event) and one audit event
/// per alert. Empty when nothing is due — so running twice records nothing twice.
///
/// A warning whose breach is due in the same sweep is not sent: the breach says more.
/// Its mark is set all the same, so it is never sent later.
pub fn sweep(
    ticket: &Ticket,
    now: DateTime<Utc>,
    warning: Duration,
) -> Option<(Ticket, Vec<(DeadlineAlert, AuditEvent)>)> {
    let due = watched(ticket, warning);
    let mut t = ticket.clone();
    let mut events = Vec::new();
    for w in &due {
        let breach_due = w.breach_pending() && w.deadline <= now;
        let warning_due = w.warning_pending() && w.warn_at <= now;
        if !breach_due && !warning_due {
            continue;
        }
        // The version cannot realistically run out; if it did, stop before changing
        // anything rather than reuse a sequence number.
        let Some(version) = t.version.checked_add(1) else {
            break;
        };
        let (warned, breached) = marks_of(&mut t.deadline_marks, w.soon);
        if warning_due {
            *warned = Some(now);
        }
        let (alert, detail) = if breach_due {
            *breached = Some(now);
            // A breach also settles its warning, sent or not.
            warned.get_or_insert(now);
            let before = t.priority;
            t.priority = raised(before);
            let raise = if t.priority == before {
                format!("priority stays {before}")
            } else {
                format!("priority raised to {}", t.priority)
            };
            let what = match w.breach {
                DeadlineAlert::AcknowledgeBreached => "acknowledgement",
                _ => "resolution",
            };
            (
                w.breach,
                format!("{what} deadline passed {}; {raise}", stamp(w.deadline)),
            )
        } else {
            let what = match w.soon {
                DeadlineAlert::AcknowledgeSoon => "acknowledgement",
                _ => "resolution",
            };
            (w.soon, format!("{what} due {}", stamp(w.deadline)))
        };
        t.version = version;
        events.push((
            alert,
            AuditEvent {
                reference: t.reference.clone(),
                seq: version,
                at: now,
                actor: Actor::system("sweeper"),
                action: alert.event_action(),
                from_status: Some(t.status),
                to_status: t.status,
                detail,
                correction: None,
            },
        ));
    }
    if events.is_empty() {
        return None;
    }
    Some((t, events))
}

/// The (warning, breach) marks of the deadline an alert belongs to.
fn marks_of(
    m: &mut DeadlineMarks,
    alert: DeadlineAlert,
) -> (&mut Option<DateTime<Utc>>, &mut Option<DateTime<Utc>>) {
    match alert {
        DeadlineAlert::AcknowledgeSoon | DeadlineAlert::AcknowledgeBreached => {
            (&mut m.acknowledge_warned_at, &mut m.acknowledge_breached_at)
        }
        DeadlineAlert::ResolveSoon | DeadlineAlert::ResolveBreached => {
            (&mut m.resolve_warned_at, &mut m.resolve_breached_at)
        }
    }
}

/// One level up; critical stays critical.
pub fn raised(priority: Priority) -> Priority {
    match priority {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        Priority::High | Priority::Critical => Priority::Critical,
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::fixtures::{config, shanghai, ticket};
    use crate::ticket::TicketStatus;
    use proptest::prelude::*;

    fn day() -> Duration {
        Duration::hours(24)
    }

    #[test]
    fn next_check_at_moves_forward_as_marks_are_set() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let d = t.deadlines.clone();
        assert_eq!(d.acknowledge_by, shanghai("2026-03-04 23:59:59"));
        assert_eq!(next_check_at(&t, day()), Some(d.acknowledge_by - day()));
        let (t, alerts) = sweep(&t, d.acknowledge_by - day(), day()).unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].0, DeadlineAlert::AcknowledgeSoon);
        assert_eq!(next_check_at(&t, day()), Some(d.acknowledge_by));
        let (t, alerts) = sweep(&t, d.acknowledge_by, day()).unwrap();
        assert_eq!(alerts[0].0, DeadlineAlert::AcknowledgeBreached);
        assert_eq!(next_check_at(&t, day()), Some(d.resolve_by - day()));
        let (t, _) = sweep(&t, d.resolve_by - day(), day()).unwrap();
        assert_eq!(next_check_at(&t, day()), Some(d.resolve_by));
        let (t, alerts) = sweep(&t, d.resolve_by + Duration::seconds(1), day()).unwrap();
        assert_eq!(alerts[0].0, DeadlineAlert::ResolveBreached);
        assert_eq!(next_check_at(&t, day()), None);
        // Two breaches: normal → high → critical; versions 2..=5.
        assert_eq!(t.priority, Priority::Critical);
        assert_eq!(t.version, 5);
    }

    #[test]
    fn acknowledging_stops_the_acknowledgement_alerts() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let mut t = ticket(t0, Priority::Normal);
        t.acknowledged_at = Some(t0);
        t.status = TicketStatus::Acknowledged;
        assert_eq!(
            next_check_at(&t, day()),
            Some(t.deadlines.resolve_by - day())
        );
        assert!(sweep(&t, t.deadlines.acknowledge_by, day()).is_none());
    }

    #[test]
    fn a_paused_resolved_or_closed_ticket_needs_no_check() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let far = t0 + Duration::days(90);
        let mut paused = ticket(t0, Priority::Normal);
        paused.paused_since = Some(t0);
        assert_eq!(next_check_at(&paused, day()), None);
        assert!(sweep(&paused, far, day()).is_none());
        for status in [TicketStatus::Resolved, TicketStatus::Closed] {
            let mut t = ticket(t0, Priority::Normal);
            t.status = status;
            assert_eq!(next_check_at(&t, day()), None);
            assert!(sweep(&t, far, day()).is_none());
        }
        // A reopened ticket is watched again.
        let mut t = ticket(t0, Priority::Normal);
        t.status = TicketStatus::Reopened;
        t.acknowledged_at = Some(t0);
        assert_eq!(
            next_check_at(&t, day()),
            Some(t.deadlines.resolve_by - day())
        );
    }

    #[test]
    fn sweeping_twice_at_the_same_time_records_nothing_the_second_time() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let now = t.deadlines.resolve_by + Duration::hours(2);
        let (swept, alerts) = sweep(&t, now, day()).unwrap();
        // Both breaches; their warnings are settled, not sent.
        assert_eq!(
            alerts.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
            [
                DeadlineAlert::AcknowledgeBreached,
                DeadlineAlert::ResolveBreached
            ]
        );
        let m = &swept.deadline_marks;
        assert_eq!(
            [
                m.acknowledge_warned_at,
                m.acknowledge_breached_at,
                m.resolve_warned_at,
                m.resolve_breached_at
            ],
            [Some(now); 4]
        );
        assert_eq!(swept.priority, Priority::Critical);
        assert_eq!(swept.version, 3);
        let (_, e) = &alerts[1];
        assert_eq!(e.seq, 3);
        assert_eq!(e.action, AuditAction::DeadlineBreached);
        assert_eq!(e.actor, Actor::system("sweeper"));
        assert_eq!(e.from_status, Some(TicketStatus::Received));
        assert_eq!(e.to_status, TicketStatus::Received);
        assert_eq!(
            e.detail,
            "resolution deadline passed 2026-03-14T15:59:59Z; priority raised to critical"
        );
        assert_eq!(
            alerts[0].1.detail,
            "acknowledgement deadline passed 2026-03-04T15:59:59Z; priority raised to high"
        );
        assert!(sweep(&swept, now, day()).is_none());
        assert!(sweep(&swept, now + Duration::days(30), day()).is_none());
    }

    #[test]
    fn a_warning_reads_as_the_deadline_it_announces() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Low);
        let (s, alerts) =
            sweep(&t, t.deadlines.acknowledge_by - Duration::hours(3), day()).unwrap();
        let (alert, e) = &alerts[0];
        assert_eq!(*alert, DeadlineAlert::AcknowledgeSoon);
        assert_eq!(e.action, AuditAction::DeadlineWarning);
        assert_eq!(e.detail, "acknowledgement due 2026-03-04T15:59:59Z");
        assert_eq!(s.priority, Priority::Low);
    }

    #[test]
    fn priority_rises_one_level_per_breach_and_stops_at_critical() {
        assert_eq!(raised(Priority::Low), Priority::Normal);
        assert_eq!(raised(Priority::Normal), Priority::High);
        assert_eq!(raised(Priority::High), Priority::Critical);
        assert_eq!(raised(Priority::Critical), Priority::Critical);
    }

    #[test]
    fn the_configured_warning_window_is_a_day() {
        assert_eq!(config().sla.warning(), day());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn sweep_never_records_an_alert_before_its_time_and_leaves_nothing_due(
            received in 0i64..(2 * 365 * 86_400),
            later in 0i64..(70 * 86_400),
            priority in proptest::sample::select(vec![Priority::Low, Priority::Normal, Priority::High, Priority::Critical]),
            warning_hours in 1i64..(10 * 24),
            acknowledged in any::<bool>(),
            earlier_sweep in proptest::option::of(0i64..(70 * 86_400)),
        ) {
            let t0 = shanghai("2026-01-01 00:00:00") + Duration::seconds(received);
            let warning = Duration::hours(warning_hours);
            let mut t = ticket(t0, priority);
            if acknowledged {
                t.acknowledged_at = Some(t0);
                t.status = TicketStatus::Acknowledged;
            }
            let now = t0 + Duration::seconds(later);
            // Sometimes an earlier sweep already recorded part of it.
            if let Some(e) = earlier_sweep.map(|s| t0 + Duration::seconds(s)).filter(|e| *e <= now) {
                if let Some((s, _)) = sweep(&t, e, warning) {
                    t = s;
                }
            }
            let before = t.clone();
            match sweep(&t, now, warning) {
                None => {
                    if let Some(next) = next_check_at(&t, warning) {
                        prop_assert!(next > now);
                    }
                }
                Some((s, alerts)) => {
                    prop_assert!(!alerts.is_empty());
                    prop_assert_eq!(s.version, before.version + alerts.len() as u32);
                    let (d, m0, m1) = (&s.deadlines, &before.deadline_marks, &s.deadline_marks);
                    for (was, is, due) in [
                        (m0.acknowledge_warned_at, m1.acknowledge_warned_at, d.acknowledge_by - warning),
                        (m0.acknowledge_breached_at, m1.acknowledge_breached_at, d.acknowledge_by),
                        (m0.resolve_warned_at, m1.resolve_warned_at, d.resolve_by - warning),
                        (m0.resolve_breached_at, m1.resolve_breached_at, d.resolve_by),
                    ] {
                        if was.is_none() && is.is_some() {
                            prop_assert!(due <= now, "marked at {now}, due {due}");
                            prop_assert_eq!(is, Some(now));
                        }
                        prop_assert!(was.is_none() || was == is, "a mark changed");
                    }
                    for (i, (alert, e)) in alerts.iter().enumerate() {
                        prop_assert_eq!(e.seq, before.version + 1 + i as u32);
                        prop_assert_eq!(e.action, alert.event_action());
                    }
                    let breaches = alerts.iter().filter(|(a, _)| a.is_breach()).count();
                    prop_assert!(s.priority >= before.priority);
                    prop_assert!(breaches == 0 || s.priority > before.priority || before.priority == Priority::Critical);
                    if let Some(next) = next_check_at(&s, warning) {
                        prop_assert!(next > now, "next {next} not after {now}");
                    }
                    prop_assert!(sweep(&s, now, warning).is_none());
                }
            }
        }
    }
}
