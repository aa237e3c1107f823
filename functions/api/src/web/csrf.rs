//! CSRF protection for the pages' form posts: a signed double-submit token.
//!
//! The token is `v1.<nonce>.<expiry>.<mac>` with `mac = HMAC-SHA256(key, nonce|expiry)`.
//! It goes in an HttpOnly, SameSite=Strict cookie and in a hidden field of every form;
//! a POST is accepted only if both are present, equal, correctly signed and unexpired.
//! Another site can neither read the cookie nor mint a token that verifies, and cannot
//! make the browser send the cookie on a cross-site POST (SameSite).
//!
//! The key is derived from the api's status-secret key (Secrets Manager in AWS, a
//! development value locally), so no new secret has to be provisioned, and it rotates
//! with that key: tokens are signed with the key derived from the current status key
//! and accepted under the keys derived from every status key accepted now.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use redress_domain::reference::{Reference, StatusSecrets};
use sha2::{Digest, Sha256};

/// How long a form stays valid.
pub const TOKEN_TTL_SECONDS: i64 = 2 * 3600;
/// A page reuses the cookie's token while it has at least this long to live (so several
/// open tabs share one token), else issues a fresh one.
pub const REUSE_MIN_SECONDS: i64 = 30 * 60;

/// The keys of CSRF tokens: the first signs, any of them verifies.
#[derive(Clone)]
pub struct CsrfKey(Vec<[u8; 32]>);

impl CsrfKey {
    pub fn new(key: [u8; 32]) -> Self {
        CsrfKey(vec![key])
    }

    /// Derived from the status-secret key. `StatusSecrets` exposes only its HMAC, so the
    /// key is the hash of the secrets of two reserved references: their date part
    /// `000000` is one that `Reference::generate` never produces, so no borrower ever
    /// holds either value, and each is an HMAC under the deployment's key.
    /// One key per status key accepted now (the current one's first).
    pub fn from_status_secrets(secrets: &StatusSecrets) -> Self {
        let reserved: Vec<Reference> = ["RD-000000-CSRFKEY1", "RD-000000-CSRFKEY2"]
            .iter()
            .filter_map(|r| Reference::parse(r).ok())
            .collect();
        let per_key: Vec<Vec<String>> = reserved
            .iter()
            .map(|r| secrets.accepted_secrets_for(r))
            .collect();
        let keys = (0..per_key.first().map_or(0, Vec::len))
            .map(|i| {
                let mut hash = Sha256::new();
                hash.update(b"redress-csrf-key-v1:");
                for secrets in &per_key {
                    hash.update(secrets[i].as_bytes());
                }
                hash.finalize().into()
            })
            .collect();
        CsrfKey(keys)
    }

    fn mac(&self, nonce: &str, expires: i64) -> String {
        Self::mac_with(&self.0[0], nonce, expires)
    }

    fn mac_with(key: &[u8; 32], nonce: &str, expires: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(nonce.as_bytes());
        mac.update(b"|");
        mac.update(expires.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A fresh token for `nonce` (16 random bytes), valid for [`TOKEN_TTL_SECONDS`].
    pub fn issue(&self, now: DateTime<Utc>, nonce: [u8; 16]) -> String {
        let nonce = hex::encode(nonce);
        let expires = now.timestamp() + TOKEN_TTL_SECONDS;
        format!("v1.{nonce}.{expires}.{}", self.mac(&nonce, expires))
    }

    /// When a well-formed, correctly signed token expires; `None` if it is forged or
    /// malformed.
    pub fn expiry(&self, token: &str) -> Option<i64> {
        let mut parts = token.split('.');
        let (Some("v1"), Some(nonce), Some(expires), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        let signed = self.0.iter().fold(false, |ok, key| {
            ok | constant_time_eq(
                Self::mac_with(key, nonce, expires).as_bytes(),
                mac.as_bytes(),
            )
        });
        signed.then_some(expires)
    }

    /// True if the token is signed by this key and not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> bool {
        self.expiry(token).is_some_and(|e| e > now.timestamp())
    }

    /// The double-submit check: the cookie's and the form's token are the same valid one.
    pub fn check(&self, cookie: Option<&str>, field: Option<&str>, now: DateTime<Utc>) -> bool {
        match (cookie, field) {
            (Some(c), Some(f)) => {
                constant_time_eq(c.as_bytes(), f.as_bytes()) && self.verify(c, now)
            }
            _ => false,
        }
    }

    /// The token a page should use: the cookie's if it is valid for a while yet, else a
    /// new one (and then the cookie must be set).
    pub fn for_page(&self, cookie: Option<&str>, now: DateTime<Utc>) -> (String, bool) {
        match cookie.and_then(|c| self.expiry(c).map(|e| (c, e))) {
            Some((c, e)) if e - now.timestamp() >= REUSE_MIN_SECONDS => (c.to_string(), false),
            _ => {
                let mut nonce = [0u8; 16];
                nonce.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                (self.issue(now, nonce), true)
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The cookie's name: with `__Host-` over https (bound to this host, path /, Secure).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-redress_csrf"
    } else {
        "redress_csrf"
    }
}

/// The Set-Cookie value for a token.
pub fn set_cookie(token: &str, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; Max-Age={TOKEN_TTL_SECONDS}; HttpOnly; SameSite=Strict{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
    }

    fn key() -> CsrfKey {
        CsrfKey::from_status_secrets(&StatusSecrets::new(b"test-key"))
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let token = key().issue(now(), [7; 16]);
        assert!(key().verify(&token, now()));
        assert!(key().verify(&token, now() + Duration::seconds(TOKEN_TTL_SECONDS - 1)));
        assert!(!key().verify(&token, now() + Duration::seconds(TOKEN_TTL_SECONDS)));
    }

    #[test]
    fn a_token_from_another_key_or_tampered_is_refused() {
        let token = key().issue(now(), [7; 16]);
        let other = CsrfKey::from_status_secrets(&StatusSecrets::new(b"other-key"));
        assert!(!other.verify(&token, now()));
        // Pushing the expiry out breaks the signature.
        let parts: Vec<&str> = token.split('.').collect();
        let later = format!(
            "v1.{}.{}.{}",
            parts[1],
            parts[2].parse::<i64>().unwrap() + 99999,
            parts[3]
        );
        assert!(!key().verify(&later, now()));
        assert!(!key().verify("v1.zz.1.ab", now()));
        assert!(!key().verify("", now()));
    }

    #[test]
    fn the_double_submit_check_needs_both_halves_equal() {
        let k = key();
        let a = k.issue(now(), [1; 16]);
        let b = k.issue(now(), [2; 16]);
        assert!(k.check(Some(&a), Some(&a), now()));
        assert!(!k.check(Some(&a), Some(&b), now()));
        assert!(!k.check(None, Some(&a), now()));
        assert!(!k.check(Some(&a), None, now()));
    }

    #[test]
    fn pages_reuse_a_fresh_cookie_and_replace_an_old_one() {
        let k = key();
        let token = k.issue(now(), [3; 16]);
        assert_eq!(k.for_page(Some(&token), now()), (token.clone(), false));
        let late = now() + Duration::seconds(TOKEN_TTL_SECONDS - 60);
        let (fresh, set) = k.for_page(Some(&token), late);
        assert!(set && fresh != token && k.verify(&fresh, late));
        assert!(k.for_page(Some("forged"), now()).1);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_https() {
        let c = set_cookie("t", true);
        assert!(c.starts_with("__Host-redress_csrf=t;"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!set_cookie("t", false).contains("Secure"));
    }
}
