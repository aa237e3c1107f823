//! Typed views: what a handler answers, before it is rendered. The JSON routes serialize
//! these values (serde) and the web pages render the very same values through their
//! templates (`web/`), so a page never calls a JSON handler or reads JSON back, and a
//! change to a view is a compile error in every renderer that misses it.

use crate::auth::Principal;
use chrono::{DateTime, Utc};
use redress_domain::borrower::mask;
use redress_domain::config::DomainConfig;
use redress_domain::lifecycle::{self, ActionKind, DeadlineKind, Role};
use redress_domain::repeat::RepeatFinding;
use redress_domain::report::Report;
use redress_domain::sla::Deadlines;
use redress_domain::taxonomy::{Channel, Language, Priority, Signal};
use redress_domain::ticket::{
    AuditEvent, Contact, DeadlineMarks, ExtensionGrant, Ticket, TicketStatus,
};
use redress_domain::Bilingual;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The lifecycle role of a signed-in staff member.
pub fn role_of(who: &Principal) -> Role {
    if who.manager {
        Role::Manager
    } else {
        Role::TeamMember
    }
}

/// The deadline a team works towards next, and whether it has passed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextDeadline {
    #[serde(rename = "next_deadline")]
    pub at: DateTime<Utc>,
    #[serde(rename = "next_deadline_kind")]
    pub kind: DeadlineKind,
    /// Open and past its next deadline.
    pub overdue: bool,
}

impl NextDeadline {
    /// From the lifecycle's one rule ([`lifecycle::next_deadline`]), the queue's order too.
    pub fn of(status: TicketStatus, deadlines: &Deadlines, now: DateTime<Utc>) -> Self {
        let (kind, at) = lifecycle::next_deadline(status, deadlines);
        NextDeadline {
            at,
            kind,
            overdue: status.is_open() && at < now,
        }
    }
}

/// A ticket as the caller may see it: contact details and the customer id and loan
/// number masked unless they have contact access, with the names a reader needs, its next deadline and the actions the
/// lifecycle allows this caller now.
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    #[serde(flatten)]
    pub ticket: Ticket,
    #[serde(flatten)]
    pub next: NextDeadline,
    pub team_name: Option<Bilingual>,
    pub category_label: Option<Bilingual>,
    pub paused: bool,
    pub contact_masked: bool,
    /// What the caller may do now: the api refuses anything else, the console offers
    /// exactly these.
    pub allowed_actions: Vec<ActionKind>,
    /// The whole history, oldest first (on `GET /tickets/{reference}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<AuditEvent>>,
}

impl TicketView {
    pub fn new(
        ticket: &Ticket,
        who: &Principal,
        config: &DomainConfig,
        now: DateTime<Utc>,
    ) -> Self {
        let mut shown = ticket.clone();
        if !who.contact_access {
            shown.contact = masked_contact(&ticket.contact);
        }
        TicketView {
            next: NextDeadline::of(ticket.status, &ticket.deadlines, now),
            team_name: config
                .routing
                .team(ticket.team.as_str())
                .map(|t| t.name.clone()),
            category_label: config
                .classifier
                .category(ticket.category.as_str())
                .map(|c| c.label.clone()),
            paused: ticket.paused_since.is_some(),
            contact_masked: !who.contact_access,
            allowed_actions: lifecycle::allowed_actions(ticket, role_of(who), config),
            history: None,
            ticket: shown,
        }
    }

    pub fn with_history(mut self, events: Vec<AuditEvent>) -> Self {
        self.history = Some(events);
        self
    }

    /// The view as the JSON body of a conflict or refusal (`current`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The answer to an action: the ticket as it now is, and the event that recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct ActedView {
    pub ticket: TicketView,
    pub event: AuditEvent,
}

/// One open ticket as the team-queue index holds it: no contact details, no text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub reference: String,
    pub status: TicketStatus,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub product: String,
    pub language: Language,
    pub category: String,
    #[serde(default)]
    pub signals: BTreeSet<Signal>,
    pub team: String,
    pub priority: Priority,
    pub deadlines: Deadlines,
    pub version: u32,
    #[serde(default)]
    pub paused_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub extension: Option<ExtensionGrant>,
    #[serde(default)]
    pub repeat: RepeatFinding,
    #[serde(default)]
    pub deadline_marks: DeadlineMarks,
}

/// A queue row: the entry, its next deadline and labels.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItemView {
    #[serde(flatten)]
    pub entry: QueueEntry,
    #[serde(flatten)]
    pub next: NextDeadline,
    pub team_name: Option<Bilingual>,
    pub category_label: Option<Bilingual>,
    pub paused: bool,
}

impl QueueItemView {
    pub fn new(entry: QueueEntry, config: &DomainConfig, now: DateTime<Utc>) -> Self {
        QueueItemView {
            next: NextDeadline::of(entry.status, &entry.deadlines, now),
            team_name: config.routing.team(&entry.team).map(|t| t.name.clone()),
            category_label: config
                .classifier
                .category(&entry.category)
                .map(|c| c.label.clone()),
            paused: entry.paused_since.is_some(),
            entry,
        }
    }
}

/// One page of a team's queue, nearest deadline first.
#[derive(Debug, Clone, Serialize)]
pub struct QueuePageView {
    pub team: String,
    pub team_name: Option<Bilingual>,
    pub tickets: Vec<QueueItemView>,
    pub next_cursor: Option<String>,
}

/// A ticket's history (`GET /tickets/{reference}/history`).
#[derive(Debug, Clone, Serialize)]
pub struct HistoryView {
    pub reference: String,
    pub events: Vec<AuditEvent>,
}

/// What a borrower may see of their complaint with its reference and status secret:
/// the status, the team's name and the regulatory deadlines, nothing else.
#[derive(Debug, Clone, Serialize)]
pub struct ComplaintStatusView {
    pub reference: String,
    pub status: TicketStatus,
    pub status_label: Bilingual,
    pub received_at: DateTime<Utc>,
    /// The handling team's name, once the complaint is routed.
    pub team: Option<Bilingual>,
    pub deadlines: Option<BorrowerDeadlines>,
    /// A word on where the complaint is, before it is routed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Bilingual>,
}

/// The deadlines we owe the borrower (the regulatory ones).
#[derive(Debug, Clone, Serialize)]
pub struct BorrowerDeadlines {
    pub acknowledge_by: DateTime<Utc>,
    pub resolve_by: DateTime<Utc>,
}

/// Everything the management dashboard shows, built from one read of the counters
/// (see [`crate::reports::dashboard`]).
#[derive(Debug, Clone)]
pub struct DashboardView {
    pub query: crate::reports::ReportQuery,
    /// The report asked for, by the grouping asked for.
    pub main: Report,
    /// Deadlines by team (the on-time charts).
    pub by_team: Report,
    /// Overview by category (the volume chart).
    pub by_category: Report,
    /// One overview per trend bucket, oldest first.
    pub trend: Vec<Report>,
    pub cost: DashboardCost,
}

/// What building a dashboard read: counters and the live overdue figure together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DashboardCost {
    pub queries: u32,
    pub items: u64,
}

/// A phone as a team sees it by default: `138****5678`.
fn mask_phone(phone: &str) -> String {
    match phone.strip_prefix("+86") {
        Some(local) => mask(local, 3, 4),
        None => mask(phone, 3, 4),
    }
}

fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}@{domain}", mask(local, 1, 0)),
        None => mask(email, 1, 0),
    }
}

fn masked_contact(contact: &Contact) -> Contact {
    Contact {
        name: contact.name.as_deref().map(|n| mask(n, 1, 0)),
        phone: contact.phone.as_deref().map(mask_phone),
        email: contact.email.as_deref().map(mask_email),
        // Identifiers as much as contact details: enough to tell two apart, not to use.
        customer_id: contact.customer_id.as_deref().map(|c| mask(c, 1, 2)),
        loan_number: contact.loan_number.as_deref().map(|l| mask(l, 2, 3)),
        national_id_masked: contact.national_id_masked.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_entry_reads_the_index_item_shape() {
        let item = serde_json::json!({
            "reference": "RD-261123-7KQ2M9XA", "status": "reopened",
            "received_at": "2026-11-23T02:00:00Z", "channel": "web", "product": "p",
            "language": "zh", "category": "fees_interest", "signals": ["repeat"],
            "team": "billing", "priority": "high", "version": 7,
            "deadlines": {"policy": "cn-2020",
                "acknowledge_by": "2026-11-24T02:00:00Z", "resolve_by": "2026-12-01T02:00:00Z",
                "regulatory_acknowledge_by": "2026-11-24T02:00:00Z",
                "regulatory_resolve_by": "2026-12-08T02:00:00Z"},
            "repeat": {"earlier_in_window": 0}, "deadline_marks": {}
        });
        let entry: QueueEntry = serde_json::from_value(item).unwrap();
        let now = "2026-11-30T00:00:00Z".parse().unwrap();
        let config = DomainConfig::bundled().unwrap();
        let view = QueueItemView::new(entry, &config, now);
        // A reopened ticket was acknowledged before: it works to its resolution deadline,
        // as the queue index orders it.
        assert_eq!(view.next.kind, DeadlineKind::Resolve);
        assert_eq!(view.next.at, view.entry.deadlines.resolve_by);
        assert!(!view.next.overdue);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["next_deadline_kind"], "resolve");
        assert_eq!(json["overdue"], false);
        assert_eq!(json["reference"], "RD-261123-7KQ2M9XA");
    }
}
