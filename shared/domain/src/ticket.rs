//! The ticket a complaint becomes, and the audit events that record what happened to it.

use crate::borrower::mask;
use crate::classify::{CategorySource, Correction, ModelOpinion};
use crate::complaint::Complaint;
use crate::reference::Reference;
use crate::repeat::RepeatFinding;
use crate::sla::Deadlines;
use crate::taxonomy::{Bilingual, CategoryId, Channel, Language, Priority, Signal, TeamId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The five stages of DESIGN.md, plus reopened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Received,
    Acknowledged,
    UnderAnalysis,
    Resolved,
    Closed,
    Reopened,
}

impl TicketStatus {
    /// The identifier used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Received => "received",
            TicketStatus::Acknowledged => "acknowledged",
            TicketStatus::UnderAnalysis => "under_analysis",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
            TicketStatus::Reopened => "reopened",
        }
    }

    /// Parses the identifier written by [`TicketStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            TicketStatus::Received,
            TicketStatus::Acknowledged,
            TicketStatus::UnderAnalysis,
            TicketStatus::Resolved,
            TicketStatus::Closed,
            TicketStatus::Reopened,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// How the status reads to a borrower.
    pub fn label(self) -> Bilingual {
        let (en, zh) = match self {
            TicketStatus::Received => ("Received", "已受理"),
            TicketStatus::Acknowledged => ("Acknowledged", "已确认"),
            TicketStatus::UnderAnalysis => ("Under analysis", "处理中"),
            TicketStatus::Resolved => ("Resolved", "已办结"),
            TicketStatus::Closed => ("Closed", "已关闭"),
            TicketStatus::Reopened => ("Reopened", "已重新处理"),
        };
        Bilingual {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// True while the ticket still needs work.
    pub fn is_open(self) -> bool {
        !matches!(self, TicketStatus::Resolved | TicketStatus::Closed)
    }
}

impl std::fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to reach the borrower. The national id is kept only masked: the borrower key
/// (an HMAC) is what matching uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<String>,
    pub loan_number: Option<String>,
    pub national_id_masked: Option<String>,
}

/// A routed complaint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub reference: Reference,
    pub status: TicketStatus,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub product: String,
    pub language: Language,
    pub category: CategoryId,
    pub category_source: CategorySource,
    pub classification_reason: String,
    pub signals: BTreeSet<Signal>,
    pub team: TeamId,
    pub priority: Priority,
    pub routing_rule: String,
    pub routing_reason: String,
    pub deadlines: Deadlines,
    pub repeat: RepeatFinding,
    pub contact: Contact,
    pub consent_to_contact: bool,
    pub text: String,
    pub desired_outcome: Option<String>,
    /// Optimistic-concurrency version: 1 when created, +1 on every change. Equal to the
    /// sequence number of the ticket's latest audit event.
    pub version: u32,
    /// When each stage was first reached (exact, for time-to-acknowledge/resolve).
    #[serde(default)]
    pub acknowledged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub analysis_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// The outcome, once resolved.
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// Set while the clock is paused waiting on the borrower.
    #[serde(default)]
    pub paused_since: Option<DateTime<Utc>>,
    /// Total paused time so far, in seconds (already added to the deadlines).
    #[serde(default)]
    pub paused_seconds: i64,
    /// The one extension a ticket may take.
    #[serde(default)]
    pub extension: Option<ExtensionGrant>,
    /// Deadline warnings and breaches the sweeper has recorded (each at most once).
    #[serde(default)]
    pub deadline_marks: DeadlineMarks,
    #[serde(default)]
    pub reopened_count: u32,
    #[serde(default)]
    pub transfer_count: u32,
    /// What the learned model said at intake: its category, confidence, top candidates
    /// and evidence terms, and whether it disagreed with the category used. `None` for
    /// tickets classified without the model.
    #[serde(default)]
    pub model: Option<ModelOpinion>,
    /// Under legal hold: the ticket and its history never expire while this is set
    /// (`redress hold set|clear`).
    #[serde(default)]
    pub legal_hold: bool,
}

/// How a complaint was resolved (the regulators' outcome classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionCode {
    Upheld,
    PartlyUpheld,
    NotUpheld,
    Withdrawn,
}

impl ResolutionCode {
    /// The identifier used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ResolutionCode::Upheld => "upheld",
            ResolutionCode::PartlyUpheld => "partly_upheld",
            ResolutionCode::NotUpheld => "not_upheld",
            ResolutionCode::Withdrawn => "withdrawn",
        }
    }

    /// Parses the identifier written by [`ResolutionCode::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            ResolutionCode::Upheld,
            ResolutionCode::PartlyUpheld,
            ResolutionCode::NotUpheld,
            ResolutionCode::Withdrawn,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// The outcome of a resolved ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub code: ResolutionCode,
    /// The summary the borrower is sent.
    pub summary: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// The extension granted to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionGrant {
    pub reason: String,
    pub at: DateTime<Utc>,
    pub by: String,
    /// The regulatory resolution deadline before and after the extension.
    pub resolve_by_before: DateTime<Utc>,
    pub resolve_by_after: DateTime<Utc>,
}

/// What the deadline sweeper has already recorded, so it records each thing once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMarks {
    #[serde(default)]
    pub acknowledge_warned_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub acknowledge_breached_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resolve_warned_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resolve_breached_at: Option<DateTime<Utc>>,
}

impl Ticket {
    /// When the ticket's records may be deleted: `retention` after it was closed. An
    /// open or resolved ticket, or one under legal hold, never expires (retention
    /// counts from closure, not from receipt).
    pub fn expires_at(&self, retention: chrono::Duration) -> Option<DateTime<Utc>> {
        match (self.status, self.closed_at, self.legal_hold) {
            (TicketStatus::Closed, Some(closed), false) => closed.checked_add_signed(retention),
            _ => None,
        }
    }

    /// Puts the ticket under legal hold or lifts it: the changed ticket (next version)
    /// and the audit event that records who did it and why. `None` when the ticket is
    /// already in that state (nothing to record).
    pub fn with_legal_hold(
        &self,
        hold: bool,
        actor: &Actor,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Option<(Ticket, AuditEvent)> {
        if self.legal_hold == hold {
            return None;
        }
        let mut t = self.clone();
        t.legal_hold = hold;
        t.version = self.version.saturating_add(1);
        let (action, verb) = if hold {
            (AuditAction::LegalHoldSet, "legal hold set")
        } else {
            (AuditAction::LegalHoldCleared, "legal hold cleared")
        };
        let event = AuditEvent {
            reference: t.reference.clone(),
            seq: t.version,
            at: now,
            actor: actor.clone(),
            action,
            from_status: Some(self.status),
            to_status: self.status,
            detail: format!("{verb}: {}", reason.trim()),
            correction: None,
        };
        Some((t, event))
    }

    /// Copies what a team needs to contact the borrower, masking the national id.
    pub fn contact_from(complaint: &Complaint) -> Contact {
        let b = &complaint.borrower;
        Contact {
            name: b.name.clone(),
            phone: b.phone.clone(),
            email: b.email.clone(),
            customer_id: b.customer_id.clone(),
            loan_number: b.loan_number.clone(),
            national_id_masked: b.national_id.as_deref().map(|id| mask(id, 6, 4)),
        }
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User id, or the system component (`intake`, `sweeper`).
    pub id: String,
    /// `system`, `borrower`, a team member's role, `manager`.
    pub role: String,
}

impl Actor {
    /// A component of the pipeline acting on its own.
    pub fn system(component: &str) -> Self {
        Actor {
            id: component.to_string(),
            role: "system".to_string(),
        }
    }
}

/// One immutable entry of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub reference: Reference,
    /// 1 for the first event; strictly increasing per ticket.
    pub seq: u32,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// What happened.
    pub action: AuditAction,
    pub from_status: Option<TicketStatus>,
    pub to_status: TicketStatus,
    /// A short account, free of personal data.
    pub detail: String,
    /// Set on a transfer that changed the category: what was corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<Correction>,
}

/// What an audit event records. Stored and shown as its snake_case identifier
/// (`received`, `analysis_started`, `deadline_breached` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Intake created the ticket.
    Received,
    Acknowledged,
    AnalysisStarted,
    NoteAdded,
    Resolved,
    Transferred,
    /// The SLA clock was paused (waiting on the borrower).
    Paused,
    Resumed,
    Extended,
    Reopened,
    Closed,
    /// The borrower answered the survey; the ticket closed.
    SurveyAnswered,
    /// The borrower said the problem was not solved; the ticket reopened.
    SurveyNotSolvedReopened,
    /// The sweeper recorded that a deadline is near.
    DeadlineWarning,
    /// The sweeper recorded that a deadline passed.
    DeadlineBreached,
    /// An administrator put the ticket under legal hold (it no longer expires).
    LegalHoldSet,
    /// The legal hold was lifted (expiry counts from closure again).
    LegalHoldCleared,
}

impl AuditAction {
    /// Every action, in lifecycle order.
    pub const ALL: [AuditAction; 17] = [
        AuditAction::Received,
        AuditAction::Acknowledged,
        AuditAction::AnalysisStarted,
        AuditAction::NoteAdded,
        AuditAction::Resolved,
        AuditAction::Transferred,
        AuditAction::Paused,
        AuditAction::Resumed,
        AuditAction::Extended,
        AuditAction::Reopened,
        AuditAction::Closed,
        AuditAction::SurveyAnswered,
        AuditAction::SurveyNotSolvedReopened,
        AuditAction::DeadlineWarning,
        AuditAction::DeadlineBreached,
        AuditAction::LegalHoldSet,
        AuditAction::LegalHoldCleared,
    ];

    /// The identifier used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Received => "received",
            AuditAction::Acknowledged => "acknowledged",
            AuditAction::AnalysisStarted => "analysis_started",
            AuditAction::NoteAdded => "note_added",
            AuditAction::Resolved => "resolved",
            AuditAction::Transferred => "transferred",
            AuditAction::Paused => "paused",
            AuditAction::Resumed => "resumed",
            AuditAction::Extended => "extended",
            AuditAction::Reopened => "reopened",
            AuditAction::Closed => "closed",
            AuditAction::SurveyAnswered => "survey_answered",
            AuditAction::SurveyNotSolvedReopened => "survey_not_solved_reopened",
            AuditAction::DeadlineWarning => "deadline_warning",
            AuditAction::DeadlineBreached => "deadline_breached",
            AuditAction::LegalHoldSet => "legal_hold_set",
            AuditAction::LegalHoldCleared => "legal_hold_cleared",
        }
    }

    /// Parses the identifier written by [`AuditAction::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_actions_serialise_as_their_identifiers_and_parse_back() {
        for a in AuditAction::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            let back: AuditAction = serde_json::from_value(a.as_str().into()).unwrap();
            assert_eq!(back, a);
        }
        assert_eq!(AuditAction::parse("teleported"), None);
    }

    #[test]
    fn retention_counts_from_closure_and_a_legal_hold_stops_it() {
        let mut t = crate::lifecycle::fixtures::ticket(
            "2026-11-23T02:00:00Z".parse().unwrap(),
            crate::taxonomy::Priority::Normal,
        );
        let days = chrono::Duration::days(30);
        assert_eq!(t.expires_at(days), None, "an open ticket never expires");
        t.status = TicketStatus::Resolved;
        t.resolved_at = Some(t.received_at);
        assert_eq!(t.expires_at(days), None, "nor a resolved one");
        let closed = t.received_at + chrono::Duration::days(400);
        t.status = TicketStatus::Closed;
        t.closed_at = Some(closed);
        assert_eq!(t.expires_at(days), Some(closed + days));
        let admin = Actor {
            id: "admin".into(),
            role: "administrator".into(),
        };
        let (held, event) = t
            .with_legal_hold(true, &admin, " litigation ", closed)
            .unwrap();
        assert_eq!(held.expires_at(days), None, "held: no expiry");
        assert_eq!((held.version, event.seq), (t.version + 1, t.version + 1));
        assert_eq!(event.action, AuditAction::LegalHoldSet);
        assert_eq!(event.detail, "legal hold set: litigation");
        assert!(held
            .with_legal_hold(true, &admin, "again", closed)
            .is_none());
        let (lifted, event) = held
            .with_legal_hold(false, &admin, "settled", closed)
            .unwrap();
        assert_eq!(event.action, AuditAction::LegalHoldCleared);
        assert_eq!(lifted.expires_at(days), Some(closed + days));
        t.status = TicketStatus::Reopened;
        assert_eq!(t.expires_at(days), None, "a reopened ticket is open again");
    }
}
