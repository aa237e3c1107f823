//! Local stand-in for API Gateway's JWT authorizer in front of the Cognito user pool.
//!
//! In AWS, API Gateway checks the bearer token of every guarded route against the pool's
//! JWKS (issuer, audience or client id, expiry, signature) and hands the function the
//! token's claims, flattened to strings, in `requestContext.authorizer.jwt.claims`. This
//! does the same, with the same code the api function checks tokens with
//! ([`redress_aws::jwks`], in its gateway mode), against moto's pool. Like API Gateway it
//! does not look at `token_use`: the api function refuses ID tokens itself.

use redress_aws::jwks::{TokenError, TokenUse, TokenVerifier};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The authorizer of the local gateway.
#[derive(Debug, Clone)]
pub struct GatewayAuthorizer {
    verifier: Arc<TokenVerifier>,
}

impl GatewayAuthorizer {
    pub fn new(verifier: Arc<TokenVerifier>) -> Self {
        GatewayAuthorizer { verifier }
    }

    /// Fetches the pool's keys if `token` is signed with one not yet known.
    pub async fn prepare(&self, token: &str) {
        if let Err(e) = self.verifier.prepare(token).await {
            tracing::warn!(error = %e, "could not fetch the user pool's keys");
        }
    }

    /// Checks a bearer token as API Gateway does; the claims as the function receives
    /// them.
    pub fn authorize(&self, token: &str) -> Result<Map<String, Value>, TokenError> {
        self.verifier
            .verify(token, TokenUse::Gateway, chrono::Utc::now())
            .map(|t| t.gateway_claims())
    }
}

/// The Cognito group of a team's members.
pub fn team_group(team: &str) -> String {
    format!("team-{team}")
}
