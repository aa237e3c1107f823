//! `redress keys`: create and rotate the signing keys in Secrets Manager.
//!
//! - `init` creates the secret with fresh random keys (rings with a `next` published
//!   ahead, and the borrower key); an existing secret is left alone.
//! - `rotate` makes each ring's `next` key sign from now on, keeps the old key accepted
//!   for the grace period (status secrets default 400 days: a complaint and its survey
//!   can run that long; survey links 31 days: a link lives 30), and publishes a fresh
//!   `next`. Running functions pick the new ring up at their next cold start; until then
//!   they sign with the old key (accepted by the new ring) and accept the new one (their
//!   `next`). The borrower key never rotates.
//! - `show` prints versions and deadlines, never key material.
//!
//! Locally (moto) point `AWS_ENDPOINT_URL` at the stack; the local runner's secret is
//! `<prefix>-keys`.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use redress_aws::secrets::{self, ROTATING_FIELDS};
use redress_domain::keyring::KeyRing;
use serde_json::{Map, Value};

/// Default grace periods, in days, per rotating field.
pub const DEFAULT_STATUS_GRACE_DAYS: i64 = 400;
pub const DEFAULT_SURVEY_GRACE_DAYS: i64 = 31;

/// 64 hex characters (two random v4 UUIDs: 244 random bits).
pub fn fresh_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Creates the secret unless it exists. Returns a one-line summary.
pub async fn init(client: &aws_sdk_secretsmanager::Client, id: &str) -> Result<String> {
    let created = secrets::create_if_missing(client, id, &secrets::new_document(fresh_key))
        .await
        .with_context(|| format!("creating secret {id}"))?;
    Ok(if created {
        format!("created secret {id}: status_hmac_key v1 (next v2), survey_token_key v1 (next v2), borrower_hmac_key")
    } else {
        format!("secret {id} already exists; left as it is")
    })
}

/// Rotates the chosen fields with their grace periods; returns what changed.
pub async fn rotate(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    fields: &[(&'static str, Duration)],
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let (mut document, _) = secrets::read_document(client, id)
        .await
        .with_context(|| format!("reading secret {id}"))?;
    let changed = secrets::rotate_document(&mut document, fields, now, fresh_key)?;
    let version = secrets::write_document(client, id, &document)
        .await
        .with_context(|| format!("writing secret {id}"))?;
    Ok(changed
        .iter()
        .zip(fields)
        .map(|((field, old, new), (_, grace))| {
            format!(
                "{field}: v{new} signs now; v{old} accepted until {} (secret version {version})",
                (now + *grace).format("%Y-%m-%dT%H:%MZ")
            )
        })
        .collect())
}

/// Versions and deadlines of each field, no key material.
pub fn describe(document: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for field in ROTATING_FIELDS {
        match document.get(field).map(KeyRing::from_json) {
            Some(Ok(ring)) => {
                let mut line = format!("{field}: current v{}", ring.current.version);
                if let Some(next) = &ring.next {
                    line.push_str(&format!(", next v{}", next.version));
                }
                for old in &ring.previous {
                    if let Some(until) = old.accept_until {
                        line.push_str(&format!(
                            ", v{} accepted until {}",
                            old.version,
                            until.format("%Y-%m-%dT%H:%MZ")
                        ));
                    }
                }
                out.push(line);
            }
            Some(Err(e)) => out.push(format!("{field}: unreadable ({e})")),
            None => out.push(format!("{field}: missing")),
        }
    }
    out.push(match document.get("borrower_hmac_key") {
        Some(Value::String(_)) => "borrower_hmac_key: set (never rotated)".into(),
        _ => "borrower_hmac_key: missing".into(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_keys_are_long_and_differ() {
        let (a, b) = (fresh_key(), fresh_key());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn describe_names_versions_and_never_key_material() {
        let mut doc = secrets::new_document(fresh_key);
        secrets::rotate_document(
            &mut doc,
            &[("survey_token_key", Duration::days(31))],
            Utc::now(),
            fresh_key,
        )
        .unwrap();
        let text = describe(&doc).join("\n");
        assert!(
            text.contains("survey_token_key: current v2, next v3, v1 accepted until"),
            "{text}"
        );
        assert!(
            text.contains("status_hmac_key: current v1, next v2"),
            "{text}"
        );
        let ring = KeyRing::from_json(&doc["status_hmac_key"]).unwrap();
        assert!(!text.contains(&ring.current.key));
    }
}
