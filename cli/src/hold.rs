//! `redress hold set|clear <reference>`: a legal hold stops a ticket's expiry.
//!
//! A held ticket and its history carry no TTL, whatever its status; clearing the hold
//! lets retention count from closure again (an open ticket still has none). Each change
//! is a ticket change like any other (next version, optimistic concurrency) with its
//! audit event (`legal_hold_set` / `legal_hold_cleared`: who, when, why), so it shows in
//! the ticket's history and no concurrent action can undo it.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use redress_aws::DynamoStore;
use redress_domain::ports::{SaveOutcome, TicketChange, TicketStore};
use redress_domain::reference::Reference;
use redress_domain::ticket::Actor;

/// What `hold` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    /// The hold was set or cleared; the ticket's version now, and its expiry.
    Changed {
        version: u32,
        expires_at: Option<DateTime<Utc>>,
    },
    /// The ticket was already in that state: nothing written.
    Unchanged,
}

/// Sets (`hold = true`) or clears a ticket's legal hold, recording `by` and `reason`.
pub async fn apply(
    store: &DynamoStore,
    reference: &str,
    hold: bool,
    by: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<HoldOutcome> {
    let reference = Reference::parse(reference)
        .map_err(|_| anyhow::anyhow!("'{reference}' is not a reference (RD-261123-7KQ2M9XA)"))?;
    if by.trim().is_empty() || reason.trim().is_empty() {
        bail!("say who sets the hold (--by) and why (--reason)");
    }
    let actor = Actor {
        id: by.trim().to_string(),
        role: "administrator".to_string(),
    };
    // A concurrent action moves the version: read again and retry a few times.
    for _ in 0..5 {
        let (ticket, _) = store
            .ticket(reference.as_str())
            .await
            .context("reading the ticket")?
            .with_context(|| format!("no ticket {reference}"))?;
        let Some((changed, event)) = ticket.with_legal_hold(hold, &actor, reason, now) else {
            return Ok(HoldOutcome::Unchanged);
        };
        let change = TicketChange {
            before: &ticket,
            after: &changed,
            events: std::slice::from_ref(&event),
            survey: None,
            now,
            outbox: &[],
        };
        match store
            .record_change(&change)
            .await
            .context("writing the hold")?
        {
            SaveOutcome::Saved => {
                // The store moved the history's expiry already, as best effort; again here,
                // so a failure is the administrator's to see.
                store
                    .sync_history_expiry(&changed)
                    .await
                    .context("moving the history's expiry (run the command again)")?;
                return Ok(HoldOutcome::Changed {
                    version: changed.version,
                    expires_at: changed.expires_at(store.retention()),
                });
            }
            SaveOutcome::Conflict { .. } | SaveOutcome::AlreadyAnswered => continue,
        }
    }
    bail!("the ticket kept changing: try again")
}
