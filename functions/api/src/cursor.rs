//! Signed paging cursors for the team queues.
//!
//! The store's cursor is the index's last key (team, deadline, reference): handed out as
//! is, a caller could edit it, or carry one team's or filter's cursor to another query.
//! So the api signs it: `<mac>.<store cursor>`, with `mac = HMAC-SHA256(key, team, the
//! filters, the store cursor)`. A cursor whose MAC does not verify for this team and
//! these filters is refused (400) before the store sees it.
//!
//! The key is derived from the status-secret key ring, as the CSRF key is (no new secret
//! to provision), and rotates with it: signed with the current key, accepted under every
//! key accepted now.

use hmac::{Hmac, Mac};
use redress_domain::ports::QueueFilter;
use redress_domain::reference::{Reference, StatusSecrets};
use sha2::{Digest, Sha256};

/// Hex characters of the MAC (128 bits).
const MAC_HEX: usize = 32;

/// What a cursor is bound to: the queue's team and the filters of the query.
pub(crate) struct CursorScope<'a> {
    pub team: &'a str,
    pub filter: &'a QueueFilter,
}

impl CursorScope<'_> {
    /// The scope as bytes for the MAC. `due_before` moves with the clock, so only
    /// whether the overdue filter is on is bound.
    fn bytes(&self) -> Vec<u8> {
        let f = self.filter;
        let parts = [
            self.team.to_string(),
            f.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            f.priority
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            f.category.clone().unwrap_or_default(),
            f.due_before.is_some().to_string(),
        ];
        // Length-prefixed, so no two scopes give the same bytes.
        let mut out = b"redress-cursor-v1".to_vec();
        for p in parts {
            out.extend_from_slice(format!("|{}:", p.len()).as_bytes());
            out.extend_from_slice(p.as_bytes());
        }
        out
    }
}

/// Signs and checks cursors.
pub(crate) struct CursorKey(Vec<[u8; 32]>);

impl CursorKey {
    /// Derived from the status-secret keys, from reserved references no borrower holds
    /// (date part `000000`, which `Reference::generate` never produces).
    pub fn from_status_secrets(secrets: &StatusSecrets) -> Self {
        let reserved: Vec<Reference> = ["RD-000000-PAGEKEY1", "RD-000000-PAGEKEY2"]
            .iter()
            .filter_map(|r| Reference::parse(r).ok())
            .collect();
        let per_reference: Vec<Vec<String>> = reserved
            .iter()
            .map(|r| secrets.accepted_secrets_for(r))
            .collect();
        let versions = per_reference.first().map_or(0, Vec::len);
        let keys = (0..versions)
            .map(|i| {
                let mut hash = Sha256::new();
                hash.update(b"redress-cursor-key-v1:");
                for secrets in &per_reference {
                    hash.update(secrets[i].as_bytes());
                }
                hash.finalize().into()
            })
            .collect();
        CursorKey(keys)
    }

    fn mac(key: &[u8; 32], scope: &CursorScope<'_>, cursor: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(&scope.bytes());
        mac.update(b"|cursor:");
        mac.update(cursor.as_bytes());
        mac
    }

    /// The store's cursor, signed for this scope.
    pub fn sign(&self, scope: &CursorScope<'_>, cursor: &str) -> String {
        let Some(key) = self.0.first() else {
            // No key at all cannot happen (a ring always has a current key); a cursor
            // nobody can verify is the safe answer.
            return String::new();
        };
        let tag = hex::encode(Self::mac(key, scope, cursor).finalize().into_bytes());
        format!("{}.{cursor}", &tag[..MAC_HEX])
    }

    /// The store's cursor if `signed` was issued for this scope; `None` if it was forged,
    /// edited, or issued for another team or other filters.
    pub fn verify<'c>(&self, scope: &CursorScope<'_>, signed: &'c str) -> Option<&'c str> {
        let (tag, cursor) = signed.split_once('.')?;
        let tag = hex::decode(tag).ok().filter(|t| t.len() == MAC_HEX / 2)?;
        self.0
            .iter()
            .any(|key| {
                Self::mac(key, scope, cursor)
                    .verify_truncated_left(&tag)
                    .is_ok()
            })
            .then_some(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redress_domain::taxonomy::Priority;

    #[test]
    fn a_cursor_verifies_only_for_its_team_and_filters() {
        let key = CursorKey::from_status_secrets(&StatusSecrets::new(b"k"));
        let none = QueueFilter::default();
        let billing = CursorScope {
            team: "billing",
            filter: &none,
        };
        let signed = key.sign(&billing, "pk=54.sk=4b");
        assert_eq!(key.verify(&billing, &signed), Some("pk=54.sk=4b"));
        let hardship = CursorScope {
            team: "hardship",
            filter: &none,
        };
        assert_eq!(key.verify(&hardship, &signed), None, "another team");
        let high = QueueFilter {
            priority: Some(Priority::High),
            ..QueueFilter::default()
        };
        let filtered = CursorScope {
            team: "billing",
            filter: &high,
        };
        assert_eq!(key.verify(&filtered, &signed), None, "other filters");
        // Edited: the store part or the tag.
        let (tag, _) = signed.split_once('.').unwrap();
        assert_eq!(key.verify(&billing, &format!("{tag}.pk=55.sk=4b")), None);
        assert_eq!(key.verify(&billing, "pk=54.sk=4b"), None, "unsigned");
        assert_eq!(key.verify(&billing, &format!("00{}", &signed[2..])), None);
        // Another deployment's key.
        let other = CursorKey::from_status_secrets(&StatusSecrets::new(b"other"));
        assert_eq!(other.verify(&billing, &signed), None);
    }
}
