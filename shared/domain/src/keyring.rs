//! Versioned signing keys and their rotation.
//!
//! A [`KeyRing`] holds the key that signs new values (`current`), the key that will
//! sign after the next rotation (`next`, published ahead), and retired keys that are
//! still accepted until their `accept_until` (the grace period). Status secrets, survey
//! links and CSRF tokens are checked against every accepted key, so what was issued
//! before a rotation keeps working for the grace period, and nothing else does.
//!
//! Why `next` is published ahead: a function reads its keys once, at cold start. After
//! a rotation, instances started earlier still sign with the old key (which the new ones
//! accept as retired) and must accept what new instances sign: they already hold that
//! key as their `next`. So one rotation never needs every instance restarted at once;
//! two rotations should be further apart than an execution environment lives (hours).
//!
//! In the secret a ring is JSON (`{"current": {"version": 2, "key": "…"}, "next": …,
//! "previous": [{"version": 1, "key": "…", "accept_until": "…"}]}`); a plain string is
//! read as a ring of one key, version 1, so secrets written before versioning still
//! work.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// One key and its version.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionedKey {
    pub version: u32,
    /// The key material: its UTF-8 bytes are the HMAC key.
    pub key: String,
    /// For a retired key: accepted until then, never after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_until: Option<DateTime<Utc>>,
}

impl fmt::Debug for VersionedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionedKey(v{}, ..)", self.version)
    }
}

/// The keys of one purpose (status secrets, or survey tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRing {
    pub current: VersionedKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<VersionedKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<VersionedKey>,
}

/// Why a key ring was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    #[error("is neither a key string nor a key ring object: {0}")]
    Shape(String),
    #[error("holds a key (version {0}) shorter than 16 bytes")]
    ShortKey(u32),
    #[error("uses version {0} twice")]
    DuplicateVersion(u32),
    #[error("has a retired key (version {0}) without accept_until")]
    RetiredWithoutDeadline(u32),
}

impl KeyRing {
    /// A ring of one key, version 1 (how a plain key string is read).
    pub fn single(key: impl Into<String>) -> Self {
        KeyRing {
            current: VersionedKey {
                version: 1,
                key: key.into(),
                accept_until: None,
            },
            next: None,
            previous: Vec::new(),
        }
    }

    /// A new ring: `current` signs, `next` is published ahead for the first rotation.
    pub fn new(current: String, next: String) -> Self {
        let mut ring = KeyRing::single(current);
        ring.next = Some(VersionedKey {
            version: 2,
            key: next,
            accept_until: None,
        });
        ring
    }

    /// Reads a ring from its JSON form, or a plain key string.
    pub fn from_json(value: &Value) -> Result<Self, KeyRingError> {
        let ring = match value {
            Value::String(s) => KeyRing::single(s.clone()),
            Value::Object(_) => serde_json::from_value(value.clone())
                .map_err(|e| KeyRingError::Shape(e.to_string()))?,
            other => return Err(KeyRingError::Shape(kind_of(other).to_string())),
        };
        ring.check()?;
        Ok(ring)
    }

    /// Reads a ring from text: JSON (a ring object or a quoted string), else the text
    /// itself is the key.
    pub fn parse(text: &str) -> Result<Self, KeyRingError> {
        match serde_json::from_str::<Value>(text) {
            Ok(value @ (Value::Object(_) | Value::String(_))) => Self::from_json(&value),
            _ => {
                let ring = KeyRing::single(text);
                ring.check()?;
                Ok(ring)
            }
        }
    }

    fn check(&self) -> Result<(), KeyRingError> {
        let mut seen = Vec::new();
        for k in self.all() {
            if k.key.len() < MIN_KEY_BYTES {
                return Err(KeyRingError::ShortKey(k.version));
            }
            if seen.contains(&k.version) {
                return Err(KeyRingError::DuplicateVersion(k.version));
            }
            seen.push(k.version);
        }
        if let Some(k) = self.previous.iter().find(|k| k.accept_until.is_none()) {
            return Err(KeyRingError::RetiredWithoutDeadline(k.version));
        }
        Ok(())
    }

    fn all(&self) -> impl Iterator<Item = &VersionedKey> {
        std::iter::once(&self.current)
            .chain(self.next.iter())
            .chain(self.previous.iter())
    }

    /// The key that signs new values.
    pub fn signing_key(&self) -> &[u8] {
        self.current.key.as_bytes()
    }

    /// Every key a value may be signed with at `now`: current first, then next, then the
    /// retired keys still in their grace period.
    pub fn accepted_at(&self, now: DateTime<Utc>) -> impl Iterator<Item = &[u8]> {
        std::iter::once(&self.current)
            .chain(self.next.iter())
            .chain(
                self.previous
                    .iter()
                    .filter(move |k| k.accept_until.is_some_and(|until| now < until)),
            )
            .map(|k| k.key.as_bytes())
    }

    /// The ring after one rotation at `now`: `next` (or `fresh`, when nothing was
    /// published ahead) signs from now on; the old current key is accepted for `grace`
    /// more; retired keys past their deadline are dropped; `fresh` becomes `next`.
    pub fn rotate(&self, now: DateTime<Utc>, grace: Duration, fresh: String) -> KeyRing {
        let top = self.all().map(|k| k.version).max().unwrap_or(0);
        let mut retired = self.current.clone();
        retired.accept_until = Some(now + grace);
        let mut previous = vec![retired];
        previous.extend(
            self.previous
                .iter()
                .filter(|k| k.accept_until.is_some_and(|until| now < until))
                .cloned(),
        );
        let (current, next_version) = match &self.next {
            Some(next) => (next.clone(), top + 1),
            None => (
                VersionedKey {
                    version: top + 1,
                    key: fresh.clone(),
                    accept_until: None,
                },
                top + 2,
            ),
        };
        // Without a published `next`, `fresh` already signs; the one after it is derived
        // so the ring never lacks a `next` (see the module comment).
        let next_key = if self.next.is_some() {
            fresh
        } else {
            derived_next(&fresh)
        };
        KeyRing {
            current,
            next: Some(VersionedKey {
                version: next_version,
                key: next_key,
                accept_until: None,
            }),
            previous,
        }
    }

    /// The ring as it is stored in the secret.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a key ring always serialises")
    }
}

/// A second key from one fresh key (HMAC-SHA256 of a fixed label), for a ring rotated
/// from a single key with nothing published ahead.
fn derived_next(fresh: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(fresh.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"redress-next-key");
    hex::encode(mac.finalize().into_bytes())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn key(c: char) -> String {
        std::iter::repeat_n(c, 32).collect()
    }

    #[test]
    fn a_plain_string_is_a_ring_of_one_key() {
        let ring = KeyRing::parse("local-development-status-key").unwrap();
        assert_eq!(ring.current.version, 1);
        assert_eq!(ring.signing_key(), b"local-development-status-key");
        assert_eq!(ring.accepted_at(Utc::now()).count(), 1);
        assert_eq!(
            KeyRing::parse("\"abcdefghijklmnopq\"").unwrap().current.key,
            "abcdefghijklmnopq"
        );
    }

    #[test]
    fn short_keys_duplicate_versions_and_retired_keys_without_deadline_are_refused() {
        assert_eq!(KeyRing::parse("short"), Err(KeyRingError::ShortKey(1)));
        let dup = serde_json::json!({"current": {"version": 1, "key": key('a')},
                                     "next": {"version": 1, "key": key('b')}});
        assert_eq!(
            KeyRing::from_json(&dup),
            Err(KeyRingError::DuplicateVersion(1))
        );
        let open = serde_json::json!({"current": {"version": 2, "key": key('a')},
                                      "previous": [{"version": 1, "key": key('b')}]});
        assert_eq!(
            KeyRing::from_json(&open),
            Err(KeyRingError::RetiredWithoutDeadline(1))
        );
        assert!(matches!(
            KeyRing::from_json(&serde_json::json!(7)),
            Err(KeyRingError::Shape(_))
        ));
    }

    #[test]
    fn rotation_signs_with_the_published_next_key_and_keeps_the_old_one_for_the_grace_period() {
        let now = at("2026-12-01T00:00:00Z");
        let ring = KeyRing::new(key('a'), key('b'));
        let rotated = ring.rotate(now, Duration::days(30), key('c'));
        assert_eq!(rotated.current.version, 2);
        assert_eq!(rotated.signing_key(), key('b').as_bytes());
        assert_eq!(rotated.next.as_ref().unwrap().version, 3);
        assert_eq!(
            rotated.previous[0].accept_until,
            Some(now + Duration::days(30))
        );
        let accepted = |t| -> Vec<Vec<u8>> { rotated.accepted_at(t).map(<[u8]>::to_vec).collect() };
        assert!(accepted(now + Duration::days(29)).contains(&key('a').into_bytes()));
        assert!(!accepted(now + Duration::days(31)).contains(&key('a').into_bytes()));
        // An instance still holding the old ring accepts what the new ring signs.
        assert!(ring.accepted_at(now).any(|k| k == rotated.signing_key()));
        // It survives the trip through the secret.
        assert_eq!(KeyRing::from_json(&rotated.to_json()).unwrap(), rotated);
    }

    #[test]
    fn a_second_rotation_drops_keys_past_their_grace_period() {
        let t0 = at("2026-12-01T00:00:00Z");
        let once = KeyRing::new(key('a'), key('b')).rotate(t0, Duration::days(1), key('c'));
        let twice = once.rotate(t0 + Duration::days(2), Duration::days(1), key('d'));
        let versions: Vec<u32> = twice.previous.iter().map(|k| k.version).collect();
        assert_eq!(
            versions,
            vec![2],
            "version 1's grace ended before the second rotation"
        );
        assert_eq!(twice.current.version, 3);
        assert_eq!(twice.next.as_ref().unwrap().version, 4);
    }

    #[test]
    fn rotating_a_single_legacy_key_starts_signing_with_the_fresh_one() {
        let now = at("2026-12-01T00:00:00Z");
        let rotated = KeyRing::single(key('a')).rotate(now, Duration::hours(2), key('c'));
        assert_eq!(rotated.current.version, 2);
        assert_eq!(rotated.signing_key(), key('c').as_bytes());
        assert_eq!(rotated.next.as_ref().unwrap().version, 3);
        assert_ne!(rotated.next.as_ref().unwrap().key, key('c'));
    }

    #[test]
    fn debug_output_hides_the_key_material() {
        let ring = KeyRing::new(key('a'), key('b'));
        assert!(!format!("{ring:?}").contains(&key('a')));
    }
}
