//! Local stand-in for the API Gateway JWT authorizer backed by Cognito.
//!
//! In AWS, Cognito issues the tokens and API Gateway verifies them, then hands the
//! function the token's claims in `requestContext.authorizer.jwt.claims`. Locally,
//! tokens are signed with a development key (HS256) by `redress token`, verified here,
//! and the same claims reach the function in the same shape — so the handler's access
//! checks are the code that runs in AWS.

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The development signing key. It protects nothing outside this machine.
pub const DEV_SIGNING_KEY: &[u8] = b"redress-local-development-signing-key";
/// Issuer of development tokens (what the authorizer checks, like a user pool's URL).
pub const DEV_ISSUER: &str = "redress-local";
/// Audience (the app client id, in Cognito terms).
pub const DEV_AUDIENCE: &str = "redress-console";

/// The claims of a development token, shaped like a Cognito access token's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub username: String,
    #[serde(rename = "cognito:groups", default)]
    pub groups: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub token_use: String,
    pub iat: i64,
    pub exp: i64,
}

/// The Cognito group of a team's members.
pub fn team_group(team: &str) -> String {
    format!("team-{team}")
}

/// Signs a development token for `username` in `groups`, valid for `hours`.
pub fn mint(username: &str, groups: &[String], hours: i64) -> Result<String> {
    let now = Utc::now();
    let claims = Claims {
        sub: format!("local-{username}"),
        username: username.to_string(),
        groups: groups.to_vec(),
        iss: DEV_ISSUER.to_string(),
        aud: DEV_AUDIENCE.to_string(),
        token_use: "access".to_string(),
        iat: now.timestamp(),
        exp: (now + Duration::hours(hours)).timestamp(),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(DEV_SIGNING_KEY),
    )
    .context("signing token")
}

/// Verifies a bearer token (signature, issuer, audience, expiry) and returns its claims
/// as API Gateway passes them on: every value a string, lists as `[a b]`.
pub fn verify(token: &str) -> Result<Map<String, Value>> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[DEV_ISSUER]);
    validation.set_audience(&[DEV_AUDIENCE]);
    let data = decode::<Claims>(
        token,
        &DecodingKey::from_secret(DEV_SIGNING_KEY),
        &validation,
    )
    .context("invalid token")?;
    let c = data.claims;
    let mut claims = Map::new();
    for (k, v) in [
        ("sub", c.sub),
        ("username", c.username),
        ("cognito:groups", format!("[{}]", c.groups.join(" "))),
        ("iss", c.iss),
        ("aud", c.aud),
        ("token_use", c.token_use),
        ("iat", c.iat.to_string()),
        ("exp", c.exp.to_string()),
    ] {
        claims.insert(k.to_string(), Value::String(v));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_and_carries_groups_as_gateway_strings() {
        let token = mint("alice", &[team_group("billing"), "managers".into()], 1).unwrap();
        let claims = verify(&token).unwrap();
        assert_eq!(claims["username"], "alice");
        assert_eq!(claims["cognito:groups"], "[team-billing managers]");
    }

    #[test]
    fn tampered_and_expired_tokens_are_refused() {
        let token = mint("alice", &[team_group("billing")], 1).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = mint("mallory", &["managers".into()], 1).unwrap();
        let forged_payload = forged.split('.').nth(1).unwrap();
        parts[1] = forged_payload;
        assert!(
            verify(&parts.join(".")).is_err(),
            "payload swapped under another signature"
        );
        let expired = mint("alice", &[team_group("billing")], -2).unwrap();
        assert!(verify(&expired).is_err());
        assert!(verify("not.a.token").is_err());
    }
}
