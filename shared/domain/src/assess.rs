//! The intake pipeline as one pure function: classify, check repeats, route, set deadlines.

use crate::borrower::BorrowerKey;
use crate::classify::Classification;
use crate::complaint::Complaint;
use crate::config::DomainConfig;
use crate::reference::Reference;
use crate::repeat::{find_repeats, PriorComplaint, RepeatFinding};
use crate::routing::{RouteDecision, RouteInput};
use crate::sla::Deadlines;
use crate::taxonomy::{CategoryId, Signal};
use crate::ticket::{Actor, AuditAction, AuditEvent, Ticket, TicketStatus};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The message the API puts on the complaints queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintMessage {
    /// The reference the borrower was given.
    pub reference: String,
    /// When the complaint counts as received (the clock for every deadline); a time
    /// outside [`crate::dates`]'s range makes the message unreadable.
    #[serde(deserialize_with = "crate::dates::bounded_time")]
    pub received_at: DateTime<Utc>,
    /// The complaint as submitted; intake parses it again and trusts nothing.
    pub form: serde_json::Value,
}

/// Everything decided about a complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub classification: Classification,
    pub repeat: RepeatFinding,
    /// Signals from the text, plus `repeat` when the borrower complained before.
    pub signals: BTreeSet<Signal>,
    pub route: RouteDecision,
    pub deadlines: Deadlines,
}

/// Assesses one complaint. `priors` are the borrower's earlier complaints (any age; the
/// window is applied here).
pub fn assess(
    config: &DomainConfig,
    complaint: &Complaint,
    reference: &str,
    received_at: DateTime<Utc>,
    priors: &[PriorComplaint],
) -> Assessment {
    let classification = config.classifier.classify(
        &complaint.text,
        complaint.category.as_ref().map(CategoryId::as_str),
    );
    let window = Duration::days(i64::from(config.routing.repeat_window_days()));
    let repeat = find_repeats(
        reference,
        classification.category.as_str(),
        received_at,
        window,
        priors,
    );
    let mut signals = classification.signals.clone();
    if repeat.is_repeat() {
        signals.insert(Signal::Repeat);
    }
    let mut route = config.routing.route(&RouteInput {
        category: classification.category.as_str(),
        signals: &signals,
        channel: complaint.channel,
        product: &complaint.product,
        confidence: classification.confidence,
    });
    // Name the text's strongest evidence when the model decided the category.
    if let (Some(_), Some(m)) = (classification.confidence, &classification.model) {
        if !m.evidence.is_empty() {
            route.reason = format!(
                "{}; evidence for {}: {}",
                route.reason,
                classification.category,
                m.evidence.join(", ")
            );
        }
    }
    let policy = route
        .sla_policy
        .as_deref()
        .and_then(|id| config.sla.get(id))
        .unwrap_or_else(|| config.sla.default_policy());
    let deadlines = policy.deadlines(received_at, route.priority);
    Assessment {
        classification,
        repeat,
        signals,
        route,
        deadlines,
    }
}

/// The ticket and its first audit event, ready to be written together.
pub fn open_ticket(
    complaint: &Complaint,
    reference: &Reference,
    received_at: DateTime<Utc>,
    assessment: &Assessment,
) -> (Ticket, AuditEvent) {
    let ticket = Ticket {
        reference: reference.clone(),
        status: TicketStatus::Received,
        received_at,
        channel: complaint.channel,
        product: complaint.product.clone(),
        language: complaint.language,
        category: assessment.classification.category.clone(),
        category_source: assessment.classification.source,
        classification_reason: assessment.classification.reason.clone(),
        signals: assessment.signals.clone(),
        team: assessment.route.team.clone(),
        priority: assessment.route.priority,
        routing_rule: assessment.route.rule.clone(),
        routing_reason: assessment.route.reason.clone(),
        deadlines: assessment.deadlines.clone(),
        repeat: assessment.repeat.clone(),
        contact: Ticket::contact_from(complaint),
        consent_to_contact: complaint.consent_to_contact,
        text: complaint.text.clone(),
        desired_outcome: complaint.desired_outcome.clone(),
        version: 1,
        acknowledged_at: None,
        analysis_started_at: None,
        resolved_at: None,
        closed_at: None,
        resolution: None,
        paused_since: None,
        paused_seconds: 0,
        extension: None,
        deadline_marks: Default::default(),
        reopened_count: 0,
        transfer_count: 0,
        model: assessment.classification.model.clone(),
        legal_hold: false,
    };
    let event = AuditEvent {
        reference: reference.clone(),
        seq: 1,
        at: received_at,
        actor: Actor::system("intake"),
        action: AuditAction::Received,
        from_status: None,
        to_status: TicketStatus::Received,
        detail: format!(
            "via {}; category {}; {}",
            complaint.channel.as_str(),
            ticket.category,
            ticket.routing_reason
        ),
        correction: None,
    };
    (ticket, event)
}

/// An index entry linking a borrower key to a ticket, for repeat detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BorrowerIndexEntry {
    pub key: BorrowerKey,
    pub prior: PriorComplaint,
}
