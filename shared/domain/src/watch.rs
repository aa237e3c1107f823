//! PLACEHOLDER interface: deadline watching for the sweeper. Being implemented; API fixed.

use crate::ticket::{AuditEvent, Ticket};
use chrono::{DateTime, Duration, Utc};
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

/// When the sweeper next needs to look at this ticket: the earliest warning or breach
/// not yet recorded; `None` when nothing more can fall due (closed, resolved, paused,
/// everything recorded).
pub fn next_check_at(_ticket: &Ticket, _warning: Duration) -> Option<DateTime<Utc>> {
    None
}

/// Records every alert due at `now` that is not recorded yet: the changed ticket
/// (marks set, priority raised on breach, version + 1 per event) and one audit event
/// per alert. Empty when nothing is due — so running twice records nothing twice.
pub fn sweep(
    _ticket: &Ticket,
    _now: DateTime<Utc>,
    _warning: Duration,
) -> Option<(Ticket, Vec<(DeadlineAlert, AuditEvent)>)> {
    None
}
