//! The api function: the HTTP face of Redress, one Lambda behind an HTTP API.
//!
//! Routes (method + path, matched here so the local runner and API Gateway agree):
//! - `POST /complaints` — validate, answer 202 with a reference and a status secret,
//!   put the complaint on the complaints queue. An `Idempotency-Key` header makes a
//!   resubmitted form get the same reference.
//! - `GET /complaints/{reference}` — with the status secret (`X-Status-Secret` header
//!   only: never in a URL, where logs and proxies keep it), the status, the team's name
//!   and the deadlines, nothing else.
//! - `POST /tickets/entered` — a signed-in staff member enters a complaint that came by
//!   phone, letter or an agent, with its `channel` and original `submitted_at`; the
//!   public route refuses both.
//!
//! - team routes (`/tickets…`, JWT-authorized; see [`tickets`] and [`auth`]).
//! - `POST /surveys` — a borrower's survey answer (token-checked, then queued).
//! - `GET /reports/{kind}` — management reports (managers only).
//!
//! Every failure is answered with a JSON body `{error, message: {en, zh}, fields?}`:
//! bad input gets a specific 4xx and changes nothing; only a failing dependency gets a
//! 5xx (503 when a retry may help).

pub mod auth;
mod complaints;
pub use complaints::is_staff_entry;
mod cursor;
pub mod http_error;
mod reports;
pub mod signin;
mod surveys;
mod tickets;
pub(crate) mod views;
pub mod web;

use http_error::ApiError;
use lambda_http::{Body, Request, Response};
use redress_aws::env::{self, EnvError, VarSource};
use redress_aws::{DynamoStore, SdkConfig, SqsQueue, SqsQueues};
use redress_domain::config::DomainConfig;
use redress_domain::ports::{
    AccessLog, Clock, ComplaintLookup, ComplaintQueue, MetricsReader, Notifier, Outbox,
    SubmissionLog, SurveyLookup, SurveyQueue, SystemClock, TeamQueue, TicketStore,
};
use redress_domain::reference::StatusSecrets;
use redress_domain::survey::SurveyTokens;
use std::sync::Arc;

/// Largest request body accepted, in bytes. A complaint is at most 5,000 characters
/// (≤ 20 KB in UTF-8); the rest is headroom for the other fields.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The `Strict-Transport-Security` of every answer.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// What the api handler needs, built once per cold start.
pub struct ApiDeps<S, Q> {
    pub config: Arc<DomainConfig>,
    pub store: S,
    pub queue: Q,
    pub secrets: StatusSecrets,
    /// Signs and checks survey invitation tokens.
    pub survey_tokens: SurveyTokens,
    /// Staff sign-in and token checks (Cognito).
    pub auth: auth::StaffAuth,
    /// The clock (a port, so tests set and move it).
    pub clock: Arc<dyn Clock>,
}

impl ApiDeps<DynamoStore, SqsQueues> {
    /// Builds the dependencies from the function's environment (`TICKETS_TABLE`,
    /// `COMPLAINTS_QUEUE_URL`, `SURVEYS_QUEUE_URL`, `NOTIFICATIONS_QUEUE_URL`,
    /// `STATUS_HMAC_KEY`, `SURVEY_TOKEN_KEY`, `USER_POOL_ID`, `USER_POOL_CLIENT_ID`).
    pub fn from_env(
        vars: &dyn VarSource,
        aws: &SdkConfig,
        config: Arc<DomainConfig>,
    ) -> Result<Self, EnvError> {
        let sqs = aws_sdk_sqs::Client::new(aws);
        let secrets = StatusSecrets::from_ring(env::required_keyring(vars, "STATUS_HMAC_KEY")?);
        let store = DynamoStore::from_env(vars, aws, &config)?
            .with_accepted_days(redress_aws::accepted::accepted_days_from_env(vars)?);
        Ok(ApiDeps {
            store,
            queue: SqsQueues {
                complaints: SqsQueue::new(
                    sqs.clone(),
                    env::required(vars, "COMPLAINTS_QUEUE_URL")?,
                ),
                surveys: SqsQueue::new(sqs.clone(), env::required(vars, "SURVEYS_QUEUE_URL")?),
                notifications: SqsQueue::new(sqs, env::required(vars, "NOTIFICATIONS_QUEUE_URL")?),
            },
            auth: auth::StaffAuth::from_env(vars, aws, &secrets)?,
            secrets,
            survey_tokens: SurveyTokens::from_ring(env::required_keyring(
                vars,
                "SURVEY_TOKEN_KEY",
            )?),
            config,
            clock: Arc::new(SystemClock),
        })
    }
}

/// Handles one request. Never fails: every error becomes an HTTP answer.
pub async fn handle<S, Q>(deps: &ApiDeps<S, Q>, request: Request) -> Response<Body>
where
    S: SubmissionLog
        + ComplaintLookup
        + TicketStore
        + TeamQueue
        + SurveyLookup
        + MetricsReader
        + Outbox
        + AccessLog
        + Sync,
    Q: ComplaintQueue + SurveyQueue + Notifier + Sync,
{
    // Staff sessions: the pool's keys for the token shown, and a cookie session's access
    // token renewed before the request is routed.
    deps.auth.prepare(&request).await;
    let (request, session_cookies) = auth::refresh_session(&deps.auth, request).await;
    let mut response = route(deps, request).await;
    // Every answer, pages and JSON alike: browsers keep to https for this host for two
    // years (ignored over plain http, as locally).
    response.headers_mut().insert(
        lambda_http::http::header::STRICT_TRANSPORT_SECURITY,
        lambda_http::http::HeaderValue::from_static(HSTS),
    );
    for c in session_cookies {
        if let Ok(v) = lambda_http::http::HeaderValue::from_str(&c) {
            response
                .headers_mut()
                .append(lambda_http::http::header::SET_COOKIE, v);
        }
    }
    response
}

async fn route<S, Q>(deps: &ApiDeps<S, Q>, request: Request) -> Response<Body>
where
    S: SubmissionLog
        + ComplaintLookup
        + TicketStore
        + Outbox
        + TeamQueue
        + SurveyLookup
        + MetricsReader
        + AccessLog
        + Sync,
    Q: ComplaintQueue + SurveyQueue + Notifier + Sync,
{
    // Staff sign-in and sign-out pages.
    if let Some(response) = signin::route(deps, &request).await {
        return response;
    }
    // The web pages (borrower form, console, dashboard) are served by this function too.
    if let Some(response) = web::route(deps, &request).await {
        return response;
    }
    let method = request.method().as_str().to_string();
    let path = request.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let result = match (method.as_str(), segments.as_slice()) {
        ("POST", ["complaints"]) => complaints::submit(deps, &request).await,
        ("GET", ["complaints", reference]) => complaints::status(deps, &request, reference).await,
        ("GET", ["tickets"]) => tickets::list(deps, &request).await,
        ("POST", ["tickets", "entered"]) => complaints::enter(deps, &request).await,
        ("GET", ["tickets", reference]) => tickets::show(deps, &request, reference).await,
        ("GET", ["tickets", reference, "history"]) => {
            tickets::history(deps, &request, reference).await
        }
        ("POST", ["tickets", reference, "actions"]) => {
            tickets::act(deps, &request, reference).await
        }
        ("POST", ["surveys"]) => surveys::submit(deps, &request).await,
        ("GET", ["reports", kind]) => reports::get(deps, &request, kind).await,
        (_, ["complaints"]) => Err(ApiError::method_not_allowed("POST")),
        (_, ["complaints", _]) => Err(ApiError::method_not_allowed("GET")),
        _ => Err(ApiError::not_found()),
    };
    result.unwrap_or_else(|e| e.into_response())
}
