//! The functions' keys, read from Secrets Manager once per cold start, and the key
//! document's rotation (`redress keys rotate`).
//!
//! The secret named by `KEYS_SECRET_ID` is a JSON object:
//!
//! | field               | what it keys                          | rotation |
//! |---------------------|---------------------------------------|----------|
//! | `status_hmac_key`   | status secrets, and the CSRF key      | a [`KeyRing`], grace period |
//! | `survey_token_key`  | survey invitation links               | a [`KeyRing`], grace period |
//! | `borrower_hmac_key` | the borrower key for repeat matching  | never: a new key would split every borrower's history |
//!
//! A function gets its keys as the variables its `from_env` already reads
//! (`STATUS_HMAC_KEY`, …) through [`with_keys`], which lays the secret's fields over
//! the environment: the environment itself holds only the secret's name.

use crate::env::{self, EnvError, VarSource};
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use chrono::{DateTime, Duration, Utc};
use redress_domain::keyring::{KeyRing, KeyRingError};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The variable naming the keys secret (its name or ARN).
pub const KEYS_SECRET_ID: &str = "KEYS_SECRET_ID";

/// The secret's fields and the variables the functions read them as.
pub const KEY_FIELDS: [(&str, &str); 3] = [
    ("status_hmac_key", "STATUS_HMAC_KEY"),
    ("survey_token_key", "SURVEY_TOKEN_KEY"),
    ("borrower_hmac_key", "BORROWER_HMAC_KEY"),
];

/// The fields that rotate; the borrower key never does (see the module comment).
pub const ROTATING_FIELDS: [&str; 2] = ["status_hmac_key", "survey_token_key"];

/// The keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("could not read the keys secret named by {KEYS_SECRET_ID}: {0}")]
    Read(String),
    #[error("could not write the keys secret: {0}")]
    Write(String),
    #[error("the keys secret is not a JSON object")]
    NotAnObject,
    #[error("the keys secret's field {field} {problem}")]
    Field {
        field: &'static str,
        problem: KeyRingError,
    },
    #[error("the keys secret has no field {0}")]
    Missing(&'static str),
}

/// The environment with the secret's keys laid over it.
pub struct WithKeys<'a> {
    keys: BTreeMap<&'static str, String>,
    base: &'a dyn VarSource,
}

impl VarSource for WithKeys<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.keys.get(name).cloned().or_else(|| self.base.var(name))
    }
}

/// Reads the secret named by `KEYS_SECRET_ID` in `base` and lays its keys over `base`.
/// A missing variable, an unreadable secret or a malformed field fails here, at cold
/// start, naming what is wrong (never the key material).
pub async fn with_keys<'a>(
    base: &'a dyn VarSource,
    aws: &SdkConfig,
) -> Result<WithKeys<'a>, SecretsError> {
    let id = env::required(base, KEYS_SECRET_ID)?;
    let client = aws_sdk_secretsmanager::Client::new(aws);
    let (document, _) = read_document(&client, &id).await.map_err(|e| match e {
        SecretsError::Write(m) => SecretsError::Read(m),
        other => other,
    })?;
    Ok(WithKeys {
        keys: variables(&document)?,
        base,
    })
}

/// Adds the keys of the secret named by `KEYS_SECRET_ID` to an environment map that has
/// that variable (the local runner's view of a function's environment); a map without
/// it is left alone.
pub async fn resolve_keys(
    environment: &mut BTreeMap<String, String>,
    aws: &SdkConfig,
) -> Result<(), SecretsError> {
    if !environment.contains_key(KEYS_SECRET_ID) {
        return Ok(());
    }
    let keys = with_keys(&*environment, aws).await?.keys;
    environment.extend(keys.into_iter().map(|(k, v)| (k.to_string(), v)));
    Ok(())
}

/// The variables a key document gives: each present field, rings as their JSON.
pub fn variables(
    document: &Map<String, Value>,
) -> Result<BTreeMap<&'static str, String>, SecretsError> {
    let mut out = BTreeMap::new();
    for (field, var) in KEY_FIELDS {
        let Some(value) = document.get(field) else {
            continue;
        };
        let ring =
            KeyRing::from_json(value).map_err(|problem| SecretsError::Field { field, problem })?;
        let text = match value {
            Value::String(s) => s.clone(),
            _ => ring.to_json().to_string(),
        };
        out.insert(var, text);
    }
    Ok(out)
}

/// The secret's document, and its version id.
pub async fn read_document(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<(Map<String, Value>, Option<String>), SecretsError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretsError::Read(sdk_message(&e)))?;
    let text = out.secret_string().ok_or(SecretsError::NotAnObject)?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok((map, out.version_id().map(str::to_string))),
        _ => Err(SecretsError::NotAnObject),
    }
}

/// Writes a new version of the secret (the current one becomes `AWSPREVIOUS`).
pub async fn write_document(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    document: &Map<String, Value>,
) -> Result<String, SecretsError> {
    let out = client
        .put_secret_value()
        .secret_id(id)
        .secret_string(Value::Object(document.clone()).to_string())
        .send()
        .await
        .map_err(|e| SecretsError::Write(sdk_message(&e)))?;
    Ok(out.version_id().unwrap_or_default().to_string())
}

/// Creates the secret with a fresh document, or, when it exists, leaves it as it is.
/// Returns true if it was created.
pub async fn create_if_missing(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    document: &Map<String, Value>,
) -> Result<bool, SecretsError> {
    match client
        .create_secret()
        .name(id)
        .description("Redress signing keys (status secrets, survey links, borrower keys)")
        .secret_string(Value::Object(document.clone()).to_string())
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ResourceExistsException") => Ok(false),
        Err(e) => Err(SecretsError::Write(sdk_message(&e))),
    }
}

fn sdk_message<E, R>(err: &aws_sdk_secretsmanager::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.code() {
        Some(code) => format!("{code} {}", err.message().unwrap_or_default()),
        None => DisplayErrorContext(err).to_string(),
    }
}

/// A new key document: a ring (current and next) for each rotating field and one
/// borrower key, all from `fresh` (64 hex characters of randomness per call).
pub fn new_document(mut fresh: impl FnMut() -> String) -> Map<String, Value> {
    let mut doc = Map::new();
    for field in ROTATING_FIELDS {
        doc.insert(field.into(), KeyRing::new(fresh(), fresh()).to_json());
    }
    doc.insert("borrower_hmac_key".into(), Value::String(fresh()));
    doc
}

/// What one rotation changed, per field: (field, old signing version, new one).
pub type Rotated = Vec<(&'static str, u32, u32)>;

/// Rotates the named fields of a key document at `now`; each field's old key stays
/// accepted for its grace period. Fields not named are left alone.
pub fn rotate_document(
    document: &mut Map<String, Value>,
    fields: &[(&'static str, Duration)],
    now: DateTime<Utc>,
    mut fresh: impl FnMut() -> String,
) -> Result<Rotated, SecretsError> {
    let mut changed = Vec::new();
    for &(field, grace) in fields {
        let value = document.get(field).ok_or(SecretsError::Missing(field))?;
        let ring =
            KeyRing::from_json(value).map_err(|problem| SecretsError::Field { field, problem })?;
        let rotated = ring.rotate(now, grace, fresh());
        changed.push((field, ring.current.version, rotated.current.version));
        document.insert(field.into(), rotated.to_json());
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> impl FnMut() -> String {
        let mut n = 0u32;
        move || {
            n += 1;
            format!("{n:064}")
        }
    }

    #[test]
    fn a_new_document_has_rings_for_the_rotating_keys_and_a_plain_borrower_key() {
        let doc = new_document(counter());
        let vars = variables(&doc).unwrap();
        assert_eq!(vars.len(), 3);
        assert!(KeyRing::parse(&vars["STATUS_HMAC_KEY"])
            .unwrap()
            .next
            .is_some());
        assert_eq!(vars["BORROWER_HMAC_KEY"].len(), 64);
    }

    #[test]
    fn plain_string_fields_pass_through_unchanged() {
        let doc = serde_json::json!({"status_hmac_key": "local-development-status-key"});
        let vars = variables(doc.as_object().unwrap()).unwrap();
        assert_eq!(vars["STATUS_HMAC_KEY"], "local-development-status-key");
    }

    #[test]
    fn a_malformed_field_is_named() {
        let doc = serde_json::json!({"survey_token_key": "tiny-key"});
        let err = variables(doc.as_object().unwrap()).unwrap_err().to_string();
        assert!(err.contains("survey_token_key"), "{err}");
        assert!(
            !err.contains("tiny-key"),
            "no key material in errors: {err}"
        );
    }

    #[test]
    fn rotation_touches_only_the_named_fields() {
        let mut doc = new_document(counter());
        let borrower = doc["borrower_hmac_key"].clone();
        let survey = doc["survey_token_key"].clone();
        let now = Utc::now();
        let changed = rotate_document(
            &mut doc,
            &[("status_hmac_key", Duration::days(400))],
            now,
            counter(),
        )
        .unwrap();
        assert_eq!(changed, vec![("status_hmac_key", 1, 2)]);
        assert_eq!(doc["borrower_hmac_key"], borrower);
        assert_eq!(doc["survey_token_key"], survey);
        let ring = KeyRing::from_json(&doc["status_hmac_key"]).unwrap();
        assert_eq!(
            ring.previous[0].accept_until,
            Some(now + Duration::days(400))
        );
    }
}
