//! What the sweeper's test files share: the in-memory store behind the ports the sweeper
//! reads and writes through.

use chrono::{DateTime, Utc};
use redress_aws::sweep::{DueList, Reads};
use redress_domain::ports::{
    Outbox, OutboxEntry, SaveOutcome, StoreError, TicketChange, TicketStore,
};
use redress_domain::ticket::{AuditEvent, Ticket};
use redress_memory::MemoryStore;
use redress_sweeper::DueTickets;

/// The in-memory store with the due-index port the sweeper reads through.
#[derive(Clone)]
pub struct Store(pub MemoryStore);

impl DueTickets for Store {
    async fn due(&self, until: DateTime<Utc>, per_shard: usize) -> Result<DueList, StoreError> {
        let (references, truncated) = self.0.due_references(until, per_shard);
        Ok(DueList {
            references,
            truncated,
            reads: Reads::default(),
        })
    }

    async fn current(&self, reference: &str) -> Result<(Option<Ticket>, Reads), StoreError> {
        let ticket = self.0.ticket(reference).await?.map(|(t, _)| t);
        Ok((ticket, Reads::default()))
    }
}

impl Outbox for Store {
    async fn pending_outbox(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.0.pending_outbox(until, limit).await
    }

    async fn remove_outbox(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.0.remove_outbox(entry).await
    }
}

impl TicketStore for Store {
    async fn ticket(
        &self,
        reference: &str,
    ) -> Result<Option<(Ticket, Vec<AuditEvent>)>, StoreError> {
        self.0.ticket(reference).await
    }

    async fn record_change(&self, change: &TicketChange<'_>) -> Result<SaveOutcome, StoreError> {
        self.0.record_change(change).await
    }
}
