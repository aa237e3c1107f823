//! Which notifications a ticket change causes, and relaying them from the outbox to the
//! queue. The messages carry ids and facts only: the notifier reads contact details
//! from the ticket when it delivers.

use crate::ports::{Notification, NotificationKind, OutboxEntry};
use crate::ticket::{AuditEvent, Ticket};
use serde_json::{json, Map, Value};

fn notification(
    kind: NotificationKind,
    ticket: &Ticket,
    fields: Map<String, Value>,
) -> Notification {
    Notification {
        kind,
        reference: ticket.reference.to_string(),
        fields,
    }
}

/// The acknowledgement a new ticket causes (its first event). Written whatever the
/// consent: the notifier decides, from the ticket, whether the borrower may be told.
pub fn acknowledgement(ticket: &Ticket, first_event: &AuditEvent) -> OutboxEntry {
    let mut fields = Map::new();
    fields.insert("event_seq".into(), json!(first_event.seq));
    OutboxEntry::new(
        notification(NotificationKind::Acknowledgement, ticket, fields),
        first_event.seq,
        first_event.at,
    )
}

/// The resolution summary a resolving change causes (`event` is the change's event).
pub fn resolution(ticket: &Ticket, event: &AuditEvent) -> OutboxEntry {
    let mut fields = Map::new();
    fields.insert("event_seq".into(), json!(event.seq));
    OutboxEntry::new(
        notification(NotificationKind::Resolution, ticket, fields),
        event.seq,
        event.at,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::{assess, open_ticket};
    use crate::complaint::{Complaint, ParseMode};
    use crate::config::DomainConfig;
    use chrono::{DateTime, Utc};

    fn ticket() -> (Ticket, AuditEvent) {
        let config = DomainConfig::bundled().unwrap();
        let at: DateTime<Utc> = "2026-11-20T02:00:00Z".parse().unwrap();
        let form = json!({
            "borrower": {"name": "Li Na", "phone": "13912345678", "email": "li.na@example.com"},
            "product": "personal_loan",
            "text": "I was charged a hidden service fee that the contract never mentioned.",
            "consent_to_contact": true
        });
        let complaint = Complaint::parse(&form, &config, ParseMode::Submission, at).unwrap();
        let assessment = assess(&config, &complaint, "RD-261120-7KQ2M9XA", at, &[]);
        let reference = crate::reference::Reference::parse("RD-261120-7KQ2M9XA").unwrap();
        open_ticket(&complaint, &reference, at, &assessment)
    }

    #[test]
    fn kinds_round_trip_and_only_borrower_kinds_need_consent() {
        for kind in NotificationKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NotificationKind::parse("deadline_missed"), None);
        assert!(NotificationKind::Acknowledgement.is_for_borrower());
        assert!(!NotificationKind::DeadlineBreached.is_for_borrower());
    }

    #[test]
    fn an_acknowledgement_has_a_stable_id_and_carries_no_personal_data() {
        let (ticket, event) = ticket();
        let a = acknowledgement(&ticket, &event);
        let b = acknowledgement(&ticket, &event);
        assert_eq!(a.id, "RD-261120-7KQ2M9XA:1:acknowledgement");
        assert_eq!(a, b, "the same change always gives the same entry");
        let message = serde_json::to_string(&a.message()).unwrap();
        assert!(message.contains("\"notification_id\":\"RD-261120-7KQ2M9XA:1:acknowledgement\""));
        for personal in [
            "Li Na",
            "13912345678",
            "li.na@example.com",
            "hidden service fee",
        ] {
            assert!(!message.contains(personal), "{message}");
        }
    }

    #[test]
    fn a_resolution_is_keyed_on_its_event() {
        let (ticket, mut event) = ticket();
        event.seq = 4;
        let r = resolution(&ticket, &event);
        assert_eq!(r.id, "RD-261120-7KQ2M9XA:4:resolution");
        assert_eq!(r.notification.fields["event_seq"], 4);
    }
}
