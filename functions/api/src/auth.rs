//! Who is calling: staff sessions, checked by the api itself.
//!
//! Staff sign in against the Cognito user pool (the sign-in page, [`crate::signin`]) and
//! hold Cognito's own RS256 access token, either in the session cookie the page sets or
//! as `Authorization: Bearer` (scripts, `redress token`). API Gateway's JWT authorizer
//! checks bearer tokens before the function runs; the function checks every token again
//! itself — signature against the pool's JWKS, issuer, client, expiry and
//! `token_use=access` ([`redress_aws::jwks`]) — and builds the caller from that token,
//! never from the request context. So a direct invocation with made-up claims, an ID
//! token, a token of another pool or client, or an expired one gets nothing, and the
//! cookie-carrying pages need no authorizer in front of them.
//!
//! Access is decided here, on the server, from the token's `cognito:groups` (a JSON list,
//! read as one):
//! - members of `team-<id>` see and act on their team's tickets only;
//! - `managers` see every ticket and can reassign any;
//! - `contact-access` may see a borrower's contact details unmasked.
//!
//! Borrowers never hold tokens: they reach their own complaint by reference + secret.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use lambda_http::http::{header, HeaderValue};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use redress_aws::env::{self, EnvError, VarSource};
use redress_aws::jwks::{PoolSettings, TokenUse, TokenVerifier, VerifiedToken};
use redress_domain::reference::{Reference, StatusSecrets};
use redress_domain::signin::{SignInError, SignInThrottle, StaffSignIn};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Cognito group of managers.
pub const MANAGERS_GROUP: &str = "managers";
/// Cognito group whose members may see contact details unmasked.
pub const CONTACT_ACCESS_GROUP: &str = "contact-access";
/// Prefix of a team's Cognito group (`team-billing`).
pub const TEAM_GROUP_PREFIX: &str = "team-";

/// An access token this close to its expiry is refreshed before it is used.
const REFRESH_MARGIN_SECONDS: i64 = 60;

/// An authenticated staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user name (recorded as the actor of every action).
    pub user: String,
    /// Teams the user belongs to.
    pub teams: Vec<String>,
    pub manager: bool,
    pub contact_access: bool,
}

impl Principal {
    /// The caller of a request: a valid access token of our pool and client in the
    /// `Authorization` header or the session cookie; `None` otherwise.
    pub fn from_request(auth: &StaffAuth, request: &Request) -> Option<Self> {
        auth.principal(request)
    }

    /// The principal a verified token describes.
    pub fn from_token(token: &VerifiedToken) -> Self {
        Self::from_groups(&token.username, &token.groups)
    }

    /// A principal from a user name and the list of their groups.
    pub fn from_groups(user: &str, groups: &[String]) -> Self {
        Principal {
            user: user.to_string(),
            teams: groups
                .iter()
                .filter_map(|g| g.strip_prefix(TEAM_GROUP_PREFIX))
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            manager: groups.iter().any(|g| g == MANAGERS_GROUP),
            contact_access: groups.iter().any(|g| g == CONTACT_ACCESS_GROUP),
        }
    }

    /// True if the principal may see and act on a ticket of `team`.
    pub fn can_access(&self, team: &str) -> bool {
        self.manager || self.teams.iter().any(|t| t == team)
    }

    /// The role recorded in the audit trail.
    pub fn role(&self) -> &'static str {
        if self.manager {
            "manager"
        } else {
            "team_member"
        }
    }
}

/// Everything staff authentication needs, built once per cold start.
#[derive(Clone)]
pub struct StaffAuth {
    verifier: Arc<TokenVerifier>,
    /// The user pool's sign-in operations.
    pub sign_in: Arc<dyn StaffSignIn>,
    /// Failed attempts, shared by every instance.
    pub throttle: Arc<dyn SignInThrottle>,
    throttle_key: [u8; 32],
}

impl StaffAuth {
    pub fn new(
        verifier: Arc<TokenVerifier>,
        sign_in: Arc<dyn StaffSignIn>,
        throttle: Arc<dyn SignInThrottle>,
        secrets: &StatusSecrets,
    ) -> Self {
        // The throttle's hashing key is derived from the status-secret key (as the CSRF
        // key is), from reserved references no borrower ever holds.
        let mut hash = Sha256::new();
        hash.update(b"redress-signin-throttle-v1:");
        for reserved in ["RD-000000-SIGNINK1", "RD-000000-SIGNINK2"] {
            if let Ok(r) = Reference::parse(reserved) {
                hash.update(secrets.secret_for(&r).as_bytes());
            }
        }
        StaffAuth {
            verifier,
            sign_in,
            throttle,
            throttle_key: hash.finalize().into(),
        }
    }

    /// From the function's environment: `USER_POOL_ID`, `USER_POOL_CLIENT_ID` (the
    /// console's app client) and `TICKETS_TABLE` (where failed attempts are counted).
    pub fn from_env(
        vars: &dyn VarSource,
        aws: &redress_aws::SdkConfig,
        secrets: &StatusSecrets,
    ) -> Result<Self, EnvError> {
        let pool = env::required(vars, "USER_POOL_ID")?;
        let client_id = env::required(vars, "USER_POOL_CLIENT_ID")?;
        let region = aws.region().map(|r| r.to_string()).ok_or(EnvError {
            name: "AWS_REGION",
            problem: "must be set",
        })?;
        let settings = PoolSettings::new(
            &region,
            &pool,
            &client_id,
            PoolSettings::endpoint_from_env().as_deref(),
        );
        Ok(Self::new(
            Arc::new(TokenVerifier::new(settings)),
            Arc::new(redress_aws::cognito::CognitoSignIn::from_config(
                aws, client_id,
            )),
            Arc::new(redress_aws::signin_throttle::DynamoSignInThrottle::new(
                aws_sdk_dynamodb::Client::new(aws),
                env::required(vars, "TICKETS_TABLE")?,
            )),
            secrets,
        ))
    }

    /// The token checker.
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// Fetches the pool's keys if the request's token is signed by a key not yet known.
    pub async fn prepare(&self, request: &Request) {
        if let Some(token) = request_token(request) {
            if let Err(e) = self.verifier.prepare(token).await {
                tracing::warn!(error = %e, "could not fetch the user pool's signing keys");
            }
        }
    }

    /// The caller, from the bearer token or else the session cookie, checked now.
    pub fn principal(&self, request: &Request) -> Option<Principal> {
        self.principal_at(request, Utc::now())
    }

    /// The caller at `now`.
    pub fn principal_at(&self, request: &Request, now: DateTime<Utc>) -> Option<Principal> {
        let token = request_token(request)?;
        match self.verifier.verify(token, TokenUse::Access, now) {
            Ok(verified) => Some(Principal::from_token(&verified)),
            Err(e) => {
                tracing::info!(reason = %e, "token refused");
                None
            }
        }
    }

    /// A keyed hash naming a throttle counter (`kind` is `user` or `addr`), so the table
    /// never holds a user name or an address.
    pub fn throttle_key(&self, kind: &str, value: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.throttle_key).expect("HMAC takes any key");
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(value.trim().to_lowercase().as_bytes());
        format!("{kind}-{}", hex::encode(&mac.finalize().into_bytes()[..16]))
    }
}

/// The bearer token, else the session cookie's access token.
fn request_token(request: &Request) -> Option<&str> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    bearer.or_else(|| session::access_token(request))
}

/// The client's address as API Gateway saw it.
pub fn source_ip(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// The session cookies: the access token and the refresh token, each HttpOnly and
/// SameSite=Strict, `Secure` with the `__Host-` prefix over https. Strict: a link from
/// another site (an alert e-mail) opens the sign-in page first, and no other site can
/// make the browser send the session with a request.
pub mod session {
    use super::*;
    use crate::web::{cookie, is_https};

    /// The refresh cookie lives as long as Cognito's refresh token (the app client's
    /// `RefreshTokenValidity`, 12 hours).
    pub const REFRESH_MAX_AGE: i64 = 12 * 3600;

    fn name(kind: &str, secure: bool) -> String {
        if secure {
            format!("__Host-redress_{kind}")
        } else {
            format!("redress_{kind}")
        }
    }

    fn read<'a>(request: &'a Request, kind: &str) -> Option<&'a str> {
        cookie(request, &name(kind, is_https(request))).filter(|v| !v.is_empty())
    }

    /// The access token of the session cookie.
    pub fn access_token(request: &Request) -> Option<&str> {
        read(request, "session")
    }

    /// The refresh token of the session cookie.
    pub fn refresh_token(request: &Request) -> Option<&str> {
        read(request, "refresh")
    }

    fn set(kind: &str, value: &str, max_age: i64, secure: bool) -> String {
        format!(
            "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
            name(kind, secure),
            if secure { "; Secure" } else { "" }
        )
    }

    /// Set-Cookie values that start a session.
    pub fn start(
        access: &str,
        expires_in: i64,
        refresh: Option<&str>,
        secure: bool,
    ) -> Vec<String> {
        let mut cookies = vec![set("session", access, expires_in.max(60), secure)];
        if let Some(r) = refresh {
            cookies.push(set("refresh", r, REFRESH_MAX_AGE, secure));
        }
        cookies
    }

    /// Set-Cookie values that end the session.
    pub fn end(secure: bool) -> Vec<String> {
        vec![set("session", "", 0, secure), set("refresh", "", 0, secure)]
    }

    /// The request's Cookie header with the access token replaced (after a refresh).
    pub(crate) fn replace_access(request: &mut Request, access: &str) {
        let wanted = name("session", is_https(request));
        let mut kept: Vec<String> = request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .filter(|c| !c.is_empty() && c.split_once('=').map(|(k, _)| k) != Some(&wanted))
            .map(str::to_string)
            .collect();
        kept.push(format!("{wanted}={access}"));
        request.headers_mut().remove(header::COOKIE);
        if let Ok(v) = HeaderValue::from_str(&kept.join("; ")) {
            request.headers_mut().insert(header::COOKIE, v);
        }
    }
}

/// Keeps a cookie session alive: when the access token is missing, invalid or about to
/// expire and a refresh token is present, asks the pool for a new access token, puts it
/// in the request and returns the Set-Cookie values for the response. A refresh token
/// the pool refuses (revoked, expired) ends the session. Bearer requests are left alone.
pub async fn refresh_session(auth: &StaffAuth, mut request: Request) -> (Request, Vec<String>) {
    let has_bearer = request.headers().contains_key(header::AUTHORIZATION);
    let Some(refresh) = session::refresh_token(&request).map(str::to_string) else {
        return (request, Vec::new());
    };
    if has_bearer {
        return (request, Vec::new());
    }
    let now = Utc::now();
    let fresh_enough = session::access_token(&request).is_some_and(|t| {
        auth.verifier
            .verify(t, TokenUse::Access, now)
            .is_ok_and(|v| (v.expires_at - now).num_seconds() > REFRESH_MARGIN_SECONDS)
    });
    if fresh_enough {
        return (request, Vec::new());
    }
    let secure = crate::web::is_https(&request);
    match auth.sign_in.refresh(&refresh).await {
        Ok(tokens) => {
            session::replace_access(&mut request, &tokens.access_token);
            auth.prepare(&request).await;
            let cookies = session::start(&tokens.access_token, tokens.expires_in, None, secure);
            (request, cookies)
        }
        Err(SignInError::NotAuthorized) => {
            tracing::info!("refresh token refused: session ended");
            (request, session::end(secure))
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not refresh a session");
            (request, Vec::new())
        }
    }
}

#[cfg(test)]
impl StaffAuth {
    /// Staff authentication against the test pool with an empty in-memory user pool, for
    /// unit tests.
    pub(crate) fn for_tests() -> Self {
        use redress_aws::jwks::testing;
        let mint: redress_memory::signin::Mint = Arc::new(|user: &str, groups: &[String]| {
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            testing::access_token(user, &groups)
        });
        StaffAuth::new(
            Arc::new(testing::verifier()),
            Arc::new(redress_memory::MemorySignIn::new(mint)),
            Arc::new(redress_memory::MemoryThrottle::new()),
            &StatusSecrets::new(b"test"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_lists_are_read_as_lists_never_split() {
        // A group name with a comma or a space is one group, and gives no team.
        let p = Principal::from_groups(
            "alice",
            &["team-billing".into(), "managers,team-fraud".into()],
        );
        assert_eq!(p.teams, ["billing"]);
        assert!(!p.manager);
        assert!(!p.can_access("fraud"));
        let m = Principal::from_groups("mary", &["managers".into(), "contact-access".into()]);
        assert!(m.manager && m.contact_access && m.teams.is_empty());
    }

    #[test]
    fn members_reach_their_team_only_and_managers_reach_all() {
        let member = Principal {
            user: "alice".into(),
            teams: vec!["billing".into()],
            manager: false,
            contact_access: false,
        };
        assert!(member.can_access("billing"));
        assert!(!member.can_access("hardship"));
        let manager = Principal {
            manager: true,
            teams: vec![],
            ..member
        };
        assert!(manager.can_access("hardship"));
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_over_https() {
        let cookies = session::start("a.b.c", 3600, Some("r"), true);
        assert_eq!(cookies.len(), 2);
        for c in &cookies {
            assert!(c.starts_with("__Host-redress_"), "{c}");
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure")
            );
            assert!(c.contains("Path=/"));
        }
        assert!(!session::start("a", 3600, None, false)[0].contains("Secure"));
        assert!(session::end(false).iter().all(|c| c.contains("Max-Age=0")));
    }
}
