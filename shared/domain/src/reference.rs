//! Complaint reference numbers and the status secrets that go with them.
//!
//! The secret is not stored anywhere: it is an HMAC of the reference under a server key,
//! so a resubmitted form (same idempotency key) gets the same secret back, and a lookup
//! is checked by recomputing it.

use crate::keyring::KeyRing;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

/// Crockford base32: no I, L, O or U, so a reference read over the phone is unambiguous.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A complaint's public reference, e.g. `RD-261123-7KQ2M9XA`: date of receipt and 40
/// random bits. Serialised as the bare string; deserialising checks it like
/// [`Reference::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

/// A string that is not a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a reference looks like RD-261123-7KQ2M9XA")]
pub struct InvalidReference;

impl Reference {
    /// A new reference for a complaint received at `at`, from 5 random bytes.
    pub fn generate(at: DateTime<Utc>, random: [u8; 5]) -> Self {
        let mut bits = random
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let mut tail = [0u8; 8];
        for slot in tail.iter_mut().rev() {
            *slot = ALPHABET[(bits & 31) as usize];
            bits >>= 5;
        }
        Reference(format!(
            "RD-{}-{}",
            at.format("%y%m%d"),
            std::str::from_utf8(&tail).expect("alphabet is ASCII")
        ))
    }

    /// Parses a reference typed by a person: case and surrounding space are forgiven.
    pub fn parse(raw: &str) -> Result<Self, InvalidReference> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let ok = b.len() == 18
            && s.starts_with("RD-")
            && b[3..9].iter().all(u8::is_ascii_digit)
            && b[9] == b'-'
            && b[10..].iter().all(|c| ALPHABET.contains(c));
        if ok {
            Ok(Reference(s))
        } else {
            Err(InvalidReference)
        }
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reference {
    type Error = InvalidReference;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Reference::parse(&raw)
    }
}

impl From<Reference> for String {
    fn from(reference: Reference) -> Self {
        reference.0
    }
}

impl AsRef<str> for Reference {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Reference {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Reference {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Reference {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Derives and checks the secret a borrower needs to read a complaint's status.
///
/// New secrets come from the ring's current key; a secret is accepted under any key the
/// ring accepts now, so secrets handed out before a key rotation keep working for the
/// grace period (see [`KeyRing`]). The secret itself carries no key version (a borrower
/// types it), so checking tries each accepted key.
#[derive(Clone)]
pub struct StatusSecrets {
    keys: KeyRing,
    /// The clock that decides which retired keys are still accepted.
    now: fn() -> DateTime<Utc>,
}

impl fmt::Debug for StatusSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StatusSecrets(..)")
    }
}

impl StatusSecrets {
    /// Secrets keyed by one key (version 1, no rotation).
    pub fn new(key: &[u8]) -> Self {
        Self::from_ring(KeyRing::single(String::from_utf8_lossy(key).into_owned()))
    }

    /// Secrets keyed by a versioned key ring (from the deployment's secret store).
    pub fn from_ring(keys: KeyRing) -> Self {
        Self {
            keys,
            now: Utc::now,
        }
    }

    /// The same keys judged by another clock (tests).
    pub fn with_clock(mut self, now: fn() -> DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// The secret for a reference: 16 base32 characters (80 bits), grouped 4 by 4.
    pub fn secret_for(&self, reference: &Reference) -> String {
        secret_under(self.keys.signing_key(), reference)
    }

    /// The secrets of `reference` under every key accepted now, the signing key's first.
    /// (Other values derived from the status key, such as the CSRF key, follow the same
    /// rotation through this.)
    pub fn accepted_secrets_for(&self, reference: &Reference) -> Vec<String> {
        self.keys
            .accepted_at((self.now)())
            .map(|key| secret_under(key, reference))
            .collect()
    }

    /// True if `given` is the secret for `reference` under a key accepted now (dashes,
    /// spaces and case forgiven). Compared in constant time, against every accepted key.
    pub fn verify(&self, reference: &Reference, given: &str) -> bool {
        let clean = |s: &str| -> Vec<u8> {
            s.bytes()
                .filter(|b| *b != b'-' && !b.is_ascii_whitespace())
                .map(|b| b.to_ascii_uppercase())
                .collect()
        };
        let given = clean(given);
        self.accepted_secrets_for(reference)
            .iter()
            .fold(false, |found, secret| {
                let expected = clean(secret);
                let same = expected.len() == given.len()
                    && expected
                        .iter()
                        .zip(&given)
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0;
                found | same
            })
    }
}

fn secret_under(key: &[u8], reference: &Reference) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"status-secret:");
    mac.update(reference.as_str().as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(19);
    let mut bits = digest[..10]
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let mut chars = [0u8; 16];
    for slot in chars.iter_mut().rev() {
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(*c as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn references_carry_the_date_and_parse_back() {
        let r = Reference::generate(at(), [1, 2, 3, 4, 5]);
        assert!(r.as_str().starts_with("RD-261123-"), "{r}");
        assert_eq!(Reference::parse(&r.as_str().to_lowercase()).unwrap(), r);
    }

    #[test]
    fn different_random_bytes_give_different_references() {
        assert_ne!(
            Reference::generate(at(), [0, 0, 0, 0, 1]),
            Reference::generate(at(), [0, 0, 0, 0, 2])
        );
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in [
            "",
            "RD-261123",
            "XX-261123-7KQ2M9XA",
            "RD-26112A-7KQ2M9XA",
            "RD-261123-7KQ2M9XI",
            "../etc/passwd",
        ] {
            assert_eq!(Reference::parse(bad), Err(InvalidReference), "{bad}");
        }
    }

    #[test]
    fn status_secret_verifies_only_for_its_reference_and_key() {
        let secrets = StatusSecrets::new(b"key-one");
        let r1 = Reference::generate(at(), [1; 5]);
        let r2 = Reference::generate(at(), [2; 5]);
        let s1 = secrets.secret_for(&r1);
        assert_eq!(s1.len(), 19);
        assert!(secrets.verify(&r1, &s1));
        assert!(secrets.verify(&r1, &s1.to_lowercase().replace('-', " ")));
        assert!(!secrets.verify(&r2, &s1));
        assert!(!StatusSecrets::new(b"key-two").verify(&r1, &s1));
        assert!(!secrets.verify(&r1, ""));
    }

    #[test]
    fn a_secret_issued_before_a_rotation_works_until_the_grace_period_ends() {
        let key = |c: char| -> String { std::iter::repeat_n(c, 32).collect() };
        let ring = KeyRing::new(key('a'), key('b'));
        let before = StatusSecrets::from_ring(ring.clone());
        let r = Reference::generate(at(), [7; 5]);
        let issued = before.secret_for(&r);
        let rotated = ring.rotate(Utc::now(), chrono::Duration::days(1), key('c'));
        let after = StatusSecrets::from_ring(rotated.clone());
        assert_ne!(
            after.secret_for(&r),
            issued,
            "new secrets come from the new key"
        );
        assert!(after.verify(&r, &issued));
        // A warm instance with the old ring accepts what the rotated ring issues.
        assert!(before.verify(&r, &after.secret_for(&r)));
        fn later() -> DateTime<Utc> {
            Utc::now() + chrono::Duration::days(2)
        }
        assert!(!after.clone().with_clock(later).verify(&r, &issued));
        assert!(!after.verify(&r, "AAAA-BBBB-CCCC-DDDD"));
    }
}
