//! Borrower keys: keyed hashes of normalised identifiers, so repeat complaints are found
//! without any identity number, phone or email being stored in clear in a key or index.

use crate::complaint::Borrower;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// A keyed hash (HMAC-SHA256, hex) of one of a borrower's identifiers, prefixed by its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BorrowerKey(String);

impl BorrowerKey {
    /// The key as stored (`nid:3f2a…`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a key read back from storage.
    pub fn from_stored(s: impl Into<String>) -> Self {
        BorrowerKey(s.into())
    }
}

impl fmt::Display for BorrowerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Computes borrower keys under the deployment's secret.
#[derive(Clone)]
pub struct BorrowerKeyer {
    key: Vec<u8>,
}

impl fmt::Debug for BorrowerKeyer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BorrowerKeyer(..)")
    }
}

impl BorrowerKeyer {
    /// A keyer using `secret` (from the deployment's secret store, never the code).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: secret.to_vec(),
        }
    }

    /// One key per identifier the borrower gave, strongest first (national id, customer
    /// id, loan number, phone, email). Identifiers are already normalised by parsing, so
    /// `138 1234 5678` and `+86 13812345678` give the same key.
    pub fn keys(&self, borrower: &Borrower) -> Vec<BorrowerKey> {
        [
            ("nid", &borrower.national_id),
            ("cust", &borrower.customer_id),
            ("loan", &borrower.loan_number),
            ("phone", &borrower.phone),
            ("email", &borrower.email),
        ]
        .into_iter()
        .filter_map(|(kind, value)| value.as_deref().map(|v| self.key_for(kind, v)))
        .collect()
    }

    fn key_for(&self, kind: &str, value: &str) -> BorrowerKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        BorrowerKey(format!(
            "{kind}:{}",
            hex::encode(mac.finalize().into_bytes())
        ))
    }
}

/// Masks an identifier for display and storage outside the contact record: keeps the
/// first `keep_start` and last `keep_end` characters (`110105********002X`).
pub fn mask(value: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= keep_start + keep_end {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_start || i >= chars.len() - keep_end {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn borrower() -> Borrower {
        Borrower {
            name: Some("张伟".into()),
            phone: Some("+8613812345678".into()),
            national_id: Some("11010519491231002X".into()),
            ..Borrower::default()
        }
    }

    #[test]
    fn keys_hide_the_identifier_and_are_stable() {
        let keyer = BorrowerKeyer::new(b"secret");
        let keys = keyer.keys(&borrower());
        assert_eq!(keys.len(), 2);
        assert!(keys[0].as_str().starts_with("nid:"));
        assert!(keys[1].as_str().starts_with("phone:"));
        for k in &keys {
            assert!(!k.as_str().contains("13812345678"));
            assert!(!k.as_str().contains("11010519491231002X"));
        }
        assert_eq!(keys, keyer.keys(&borrower()));
    }

    #[test]
    fn another_secret_gives_other_keys() {
        assert_ne!(
            BorrowerKeyer::new(b"one").keys(&borrower()),
            BorrowerKeyer::new(b"two").keys(&borrower())
        );
    }

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(mask("11010519491231002X", 6, 4), "110105********002X");
        assert_eq!(mask("+8613812345678", 6, 4), "+86138****5678");
        assert_eq!(mask("abc", 2, 2), "***");
    }
}
