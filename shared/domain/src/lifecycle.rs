//! PLACEHOLDER interface: the ticket lifecycle. Being implemented; the API below is fixed.

use crate::config::DomainConfig;
use crate::ticket::{Actor, AuditEvent, ResolutionCode, Ticket, TicketStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Something a person (or the pipeline) does to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Acknowledge,
    StartAnalysis,
    AddNote {
        text: String,
    },
    Resolve {
        code: ResolutionCode,
        summary: String,
    },
    Transfer {
        to_team: String,
        reason: String,
    },
    Pause {
        reason: String,
    },
    Resume,
    Extend {
        reason: String,
    },
    Reopen {
        reason: String,
    },
    Close {
        reason: String,
    },
}

/// Why an action was refused. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot {action} a ticket that is {from}")]
    InvalidTransition { from: TicketStatus, action: String },
    #[error("invalid input: {field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("{0}")]
    NotAllowed(String),
}

/// Who acts, when, under which configuration.
pub struct ActionContext<'a> {
    pub actor: &'a Actor,
    pub now: DateTime<Utc>,
    pub config: &'a DomainConfig,
}

/// Applies an action: the changed ticket (version + 1) and the audit event recording it.
pub fn apply(
    _ticket: &Ticket,
    _action: &Action,
    _ctx: &ActionContext<'_>,
) -> Result<(Ticket, AuditEvent), LifecycleError> {
    Err(LifecycleError::NotAllowed("not implemented".into()))
}
