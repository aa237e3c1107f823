//! Checking Cognito's tokens: RS256 JWTs signed with the user pool's keys, published as
//! a JWKS at `<issuer>/.well-known/jwks.json`.
//!
//! Two checks, one code:
//! - [`TokenUse::Gateway`] is what API Gateway's JWT authorizer does (the local runner
//!   uses it to stand in for the gateway): a known key id, the RS256 signature, `exp`,
//!   `nbf` and `iat` against the clock, `iss` equal to the pool's issuer, and `aud` — or,
//!   when a token has none, `client_id` — equal to the app client. API Gateway does not
//!   look at `token_use`, so it lets an ID token through.
//! - [`TokenUse::Access`] is the api function's own check, on top: the token must be an
//!   access token (`token_use=access`) of our client. The api runs it on every staff
//!   request, so a direct invocation with made-up claims, an ID token, or a token of
//!   another pool or client gets nothing, whatever sits in the request context.

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// The largest JWKS document read (Cognito's is about 1 KB).
const MAX_JWKS_BYTES: usize = 64 * 1024;
/// An unknown key id triggers a refetch at most this often (keys rotate rarely; a flood
/// of made-up key ids must not turn into a flood of fetches).
const REFETCH_AFTER: Duration = Duration::from_secs(300);
/// Tolerated clock difference between Cognito and us, in seconds.
const LEEWAY_SECONDS: u64 = 30;

/// Which check to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// API Gateway's JWT authorizer: access or ID token of the pool and client.
    Gateway,
    /// An access token of the pool and client (the api's own check).
    Access,
}

/// Why a token was refused. The caller answers 401 whatever the reason; the reason is
/// for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT")]
    Malformed,
    #[error("algorithm is not RS256")]
    WrongAlgorithm,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("issued by another user pool")]
    WrongIssuer,
    #[error("issued to another app client")]
    WrongClient,
    #[error("not an access token")]
    NotAccessToken,
    #[error("the pool's keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

/// Where a pool's tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>` (also locally: moto issues
    /// tokens with the AWS issuer).
    pub issuer: String,
    /// The app client id (the authorizer's audience).
    pub client_id: String,
    /// Where the JWKS is fetched: the issuer's in AWS, the local endpoint's locally.
    pub jwks_url: String,
}

impl PoolSettings {
    /// Settings for `pool_id` in `region`. `endpoint` is the Cognito endpoint override
    /// (`AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`, the local stack), if any.
    pub fn new(region: &str, pool_id: &str, client_id: &str, endpoint: Option<&str>) -> Self {
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");
        let jwks_url = match endpoint {
            Some(e) => format!(
                "{}/{pool_id}/.well-known/jwks.json",
                e.trim_end_matches('/')
            ),
            None => format!("{issuer}/.well-known/jwks.json"),
        };
        PoolSettings {
            issuer,
            client_id: client_id.to_string(),
            jwks_url,
        }
    }

    /// The endpoint override from the process environment, as the SDK reads it.
    pub fn endpoint_from_env() -> Option<String> {
        [
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            "AWS_ENDPOINT_URL",
        ]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }
}

/// The claims of a verified token that Redress uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The user name (`username` in access tokens, `cognito:username` in ID tokens).
    pub username: String,
    pub sub: String,
    /// `cognito:groups`, as the list the token carries.
    pub groups: Vec<String>,
    /// `access` or `id`.
    pub token_use: String,
    pub expires_at: DateTime<Utc>,
    /// Every claim as in the token.
    pub claims: Map<String, Value>,
}

impl VerifiedToken {
    /// The claims as API Gateway hands them to a function in
    /// `requestContext.authorizer.jwt.claims`: every value a string, lists as `[a b]`.
    pub fn gateway_claims(&self) -> Map<String, Value> {
        self.claims
            .iter()
            .map(|(k, v)| {
                let flat = match v {
                    Value::String(s) => s.clone(),
                    Value::Array(items) => format!(
                        "[{}]",
                        items
                            .iter()
                            .map(|i| i.as_str().map(str::to_string).unwrap_or(i.to_string()))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    other => other.to_string(),
                };
                (k.clone(), Value::String(flat))
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct Required {
    iss: String,
    sub: String,
    exp: i64,
    #[serde(default)]
    token_use: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    username: Option<String>,
    #[serde(rename = "cognito:username", default)]
    cognito_username: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Option<Vec<String>>,
}

/// Verifies a user pool's tokens, with the pool's keys fetched once and cached.
pub struct TokenVerifier {
    settings: PoolSettings,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier that fetches the pool's keys when it first needs them.
    pub fn new(settings: PoolSettings) -> Self {
        TokenVerifier {
            settings,
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
        }
    }

    /// A verifier with the keys given (tests; a pool whose JWKS is already at hand).
    pub fn with_jwks(settings: PoolSettings, jwks: &str) -> Result<Self, TokenError> {
        let verifier = Self::new(settings);
        verifier.install(jwks)?;
        Ok(verifier)
    }

    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    fn install(&self, jwks: &str) -> Result<(), TokenError> {
        let set: JwkSet = serde_json::from_str(jwks)
            .map_err(|e| TokenError::KeysUnavailable(format!("not a JWKS: {e}")))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, key);
            }
        }
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        Ok(())
    }

    fn knows(&self, kid: &str) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(kid)
    }

    /// Makes sure the key that signed `token` is known: fetches the JWKS if it is not
    /// (at most once per [`REFETCH_AFTER`]). A token that is not even a JWT needs no key.
    pub async fn prepare(&self, token: &str) -> Result<(), TokenError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(());
        };
        let Some(kid) = header.kid else {
            return Ok(());
        };
        if self.knows(&kid) {
            return Ok(());
        }
        {
            let mut last = self.last_fetch.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < REFETCH_AFTER) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let jwks = fetch(&self.settings.jwks_url).await;
        match jwks {
            Ok(text) => self.install(&text),
            Err(e) => {
                // Let the next request try again rather than wait out REFETCH_AFTER.
                *self.last_fetch.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Err(TokenError::KeysUnavailable(e))
            }
        }
    }

    /// Verifies `token` as `use_` requires, at `now`.
    pub fn verify(
        &self,
        token: &str,
        use_: TokenUse,
        now: DateTime<Utc>,
    ) -> Result<VerifiedToken, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::WrongAlgorithm);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let key = keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        // The signature only: times, issuer and audience are checked below against our
        // clock, so a test can fix `now`.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Malformed,
            },
        )?;
        drop(keys);
        let claims = data.claims;
        let required: Required = serde_json::from_value(Value::Object(claims.clone()))
            .map_err(|_| TokenError::Malformed)?;
        let now_s = now.timestamp();
        let leeway = LEEWAY_SECONDS as i64;
        if required.exp + leeway <= now_s {
            return Err(TokenError::Expired);
        }
        for early in ["nbf", "iat"] {
            if let Some(t) = claims.get(early).and_then(Value::as_i64) {
                if t - leeway > now_s {
                    return Err(TokenError::NotYetValid);
                }
            }
        }
        if required.iss != self.settings.issuer {
            return Err(TokenError::WrongIssuer);
        }
        let client = &self.settings.client_id;
        let audience_ok = match (&required.aud, &required.client_id) {
            (Some(Value::String(aud)), _) => aud == client,
            (Some(Value::Array(auds)), _) => auds.iter().any(|a| a.as_str() == Some(client)),
            (Some(_), _) => false,
            (None, Some(c)) => c == client,
            (None, None) => false,
        };
        if !audience_ok {
            return Err(TokenError::WrongClient);
        }
        let token_use = required.token_use.unwrap_or_default();
        if use_ == TokenUse::Access
            && (token_use != "access" || required.client_id.as_deref() != Some(client))
        {
            return Err(TokenError::NotAccessToken);
        }
        let username = required
            .username
            .or(required.cognito_username)
            .filter(|u| !u.is_empty())
            .ok_or(TokenError::Malformed)?;
        Ok(VerifiedToken {
            username,
            sub: required.sub,
            groups: required.groups.unwrap_or_default(),
            token_use,
            expires_at: DateTime::from_timestamp(required.exp, 0).ok_or(TokenError::Malformed)?,
            claims,
        })
    }
}

/// GETs `url` (https in AWS, http from the local stack) and returns the body.
async fn fetch(url: &str) -> Result<String, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls_provider())
        .map_err(|e| format!("TLS roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<bytes::Bytes>>(connector);
    let uri: http::Uri = url.parse().map_err(|e| format!("JWKS URL: {e}"))?;
    let response = tokio::time::timeout(Duration::from_secs(5), client.get(uri))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| format!("request failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|_| "not UTF-8".to_string())
}

/// The crypto provider the AWS SDK's TLS already uses (aws-lc).
fn rustls_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// Test keys and token minting, for the tests of this crate and of the crates that check
/// tokens. The keys are test fixtures and protect nothing; the module is compiled only
/// for tests (`--features testing`).
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    /// The JWKS of the test pool.
    pub const POOL_JWKS: &str = include_str!("testdata/pool-jwks.json");
    /// The test pool's signing key.
    pub const POOL_KEY: &[u8] = include_bytes!("testdata/pool-key.der");
    /// The key id of [`POOL_KEY`].
    pub const POOL_KID: &str = "pool-kid";
    /// A key nobody trusts.
    pub const OTHER_KEY: &[u8] = include_bytes!("testdata/other-key.der");
    pub const CLIENT_ID: &str = "test-console-client";
    pub const POOL_ID: &str = "us-east-1_TestPool";

    /// The test pool's settings.
    pub fn settings() -> PoolSettings {
        PoolSettings::new("us-east-1", POOL_ID, CLIENT_ID, None)
    }

    /// A verifier that knows the test pool's key.
    pub fn verifier() -> TokenVerifier {
        TokenVerifier::with_jwks(settings(), POOL_JWKS).expect("the test JWKS is valid")
    }

    /// The claims of a valid access token of the test pool, issued now.
    pub fn access_claims(user: &str, groups: &[&str]) -> Value {
        let now = Utc::now().timestamp();
        serde_json::json!({
            "iss": settings().issuer,
            "sub": format!("sub-{user}"),
            "client_id": CLIENT_ID,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "username": user,
            "cognito:groups": groups,
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
            "jti": "test-jti",
        })
    }

    /// Signs `claims` with an RSA key (PKCS#1 DER) under `kid`.
    pub fn sign(claims: &Value, key_der: &[u8], kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(key_der))
            .expect("signing works")
    }

    /// A valid access token of the test pool.
    pub fn access_token(user: &str, groups: &[&str]) -> String {
        sign(&access_claims(user, groups), POOL_KEY, POOL_KID)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use base64::Engine;

    fn check(token: &str, use_: TokenUse) -> Result<VerifiedToken, TokenError> {
        verifier().verify(token, use_, Utc::now())
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut claims = access_claims("alice", &["team-billing"]);
        change(claims.as_object_mut().unwrap());
        sign(&claims, POOL_KEY, POOL_KID)
    }

    #[test]
    fn a_pool_access_token_verifies_with_its_groups_as_a_list() {
        let t = check(
            &access_token("alice", &["team-billing", "contact-access"]),
            TokenUse::Access,
        )
        .unwrap();
        assert_eq!(t.username, "alice");
        assert_eq!(t.groups, ["team-billing", "contact-access"]);
        assert_eq!(
            t.gateway_claims()["cognito:groups"],
            "[team-billing contact-access]"
        );
    }

    #[test]
    fn forged_tokens_are_refused() {
        // Signed by a key the pool does not publish, under the pool's key id.
        let claims = access_claims("mallory", &["managers"]);
        assert_eq!(
            check(&sign(&claims, OTHER_KEY, POOL_KID), TokenUse::Gateway),
            Err(TokenError::BadSignature)
        );
        // An unknown key id.
        assert_eq!(
            check(&sign(&claims, OTHER_KEY, "other-kid"), TokenUse::Gateway),
            Err(TokenError::UnknownKey)
        );
        // A valid token with its payload swapped for a manager's.
        let good = access_token("alice", &["team-billing"]);
        let parts: Vec<&str> = good.split('.').collect();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims).unwrap());
        let swapped = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(
            check(&swapped, TokenUse::Gateway),
            Err(TokenError::BadSignature)
        );
        // alg=none and HS256 (keyed with the public JWKS) are not RS256.
        let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"none","kid":"pool-kid"}"#);
        assert!(check(&format!("{none_header}.{payload}."), TokenUse::Gateway).is_err());
        let mut hs = jsonwebtoken::Header::new(Algorithm::HS256);
        hs.kid = Some(POOL_KID.into());
        let hs256 = jsonwebtoken::encode(
            &hs,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(POOL_JWKS.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            check(&hs256, TokenUse::Gateway),
            Err(TokenError::WrongAlgorithm)
        );
        assert_eq!(
            check("not.a.jwt", TokenUse::Gateway),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn expired_and_future_tokens_are_refused() {
        let now = Utc::now().timestamp();
        let expired = with(|c| {
            c.insert("exp".into(), (now - 120).into());
        });
        assert_eq!(check(&expired, TokenUse::Access), Err(TokenError::Expired));
        let future = with(|c| {
            c.insert("iat".into(), (now + 600).into());
        });
        assert_eq!(
            check(&future, TokenUse::Access),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn tokens_of_another_pool_or_client_are_refused() {
        let other_pool = with(|c| {
            c.insert(
                "iss".into(),
                "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other".into(),
            );
        });
        assert_eq!(
            check(&other_pool, TokenUse::Gateway),
            Err(TokenError::WrongIssuer)
        );
        let other_client = with(|c| {
            c.insert("client_id".into(), "another-client".into());
        });
        assert_eq!(
            check(&other_client, TokenUse::Gateway),
            Err(TokenError::WrongClient)
        );
    }

    #[test]
    fn an_id_token_passes_the_gateway_but_not_the_api() {
        // As API Gateway does: an ID token's `aud` is the client, so the authorizer lets
        // it through; the api's own check wants an access token.
        let id = with(|c| {
            c.remove("client_id");
            c.remove("username");
            c.insert("aud".into(), CLIENT_ID.into());
            c.insert("token_use".into(), "id".into());
            c.insert("cognito:username".into(), "alice".into());
        });
        assert!(check(&id, TokenUse::Gateway).is_ok());
        assert_eq!(
            check(&id, TokenUse::Access),
            Err(TokenError::NotAccessToken)
        );
    }

    #[test]
    fn the_jwks_url_follows_the_endpoint_override() {
        let aws = PoolSettings::new("eu-west-1", "eu-west-1_Abc", "c", None);
        assert_eq!(
            aws.jwks_url,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc/.well-known/jwks.json"
        );
        let local = PoolSettings::new(
            "eu-west-1",
            "eu-west-1_Abc",
            "c",
            Some("http://127.0.0.1:5000/"),
        );
        assert_eq!(
            local.jwks_url,
            "http://127.0.0.1:5000/eu-west-1_Abc/.well-known/jwks.json"
        );
        assert_eq!(local.issuer, aws.issuer);
    }
}
