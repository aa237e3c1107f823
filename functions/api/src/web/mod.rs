//! The web pages, served by the api function itself (so they deploy with the template
//! and the local runner serves them too):
//!
//! - borrowers (public): `/` landing, `/complain` the complaint form (works without
//!   JavaScript), `/status` a complaint's status by reference + secret, `/survey` the
//!   satisfaction survey from the invitation link;
//! - teams: `/console`, a page whose small script runs on the session of the sign-in
//!   page ([`crate::signin`]; or a pasted access token) and fetches `/console/queue` and
//!   `/console/tickets/{reference}` — HTML fragments rendered here, after the api's own
//!   token check, from the typed views the JSON routes serialize;
//! - managers: `/dashboard`, whose script fetches `/dashboard/view`, the reports with
//!   their SVG charts rendered here from one read of the counters (see [`dashboard`]).
//!
//! Pages are maud templates ([`layout`] argues the choice) rendering typed views
//! ([`crate::views`]); UI strings come from one catalogue per language ([`messages`]).
//! Every form POST carries a CSRF token ([`csrf`]); every answer carries a CSP allowing
//! only this origin.

mod assets;
mod borrower;
mod console;
pub mod csrf;
mod dashboard;
pub mod html;
pub mod layout;
pub mod messages;
pub mod svg;

use crate::ApiDeps;
use html::Lang;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use redress_domain::ports::{
    ComplaintLookup, ComplaintQueue, MetricsReader, SubmissionLog, SurveyLookup, SurveyQueue,
    TeamQueue, TicketStore,
};
use std::collections::HashMap;

/// Serves a page if the request is for one; `None` lets the JSON API answer.
pub async fn route<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Option<Response<Body>>
where
    S: SubmissionLog
        + ComplaintLookup
        + TicketStore
        + TeamQueue
        + SurveyLookup
        + MetricsReader
        + redress_domain::ports::AccessLog
        + Sync,
    Q: ComplaintQueue + SurveyQueue + Sync,
{
    let method = request.method().as_str();
    let path = request.uri().path();
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let response = match (method, segments.as_slice()) {
        ("GET", []) => borrower::landing(request),
        ("GET", ["complain"]) => borrower::form(deps, request),
        ("POST", ["complain"]) => borrower::submit(deps, request).await,
        ("GET", ["status"]) => borrower::status_form(deps, request),
        ("POST", ["status"]) => borrower::status_show(deps, request).await,
        ("GET", ["survey"]) => borrower::survey_form(deps, request),
        ("POST", ["survey"]) => borrower::survey_submit(deps, request).await,
        ("GET", ["console"]) | ("GET", ["console", "callback"]) => console::shell(deps, request),
        ("GET", ["console", "queue"]) => console::queue(deps, request).await,
        ("GET", ["console", "tickets", reference]) => {
            console::ticket(deps, request, reference).await
        }
        ("GET", ["dashboard"]) => dashboard::shell(deps, request),
        ("GET", ["dashboard", "view"]) => dashboard::view(deps, request).await,
        ("GET", ["assets", name]) => assets::serve(name)?,
        _ => return None,
    };
    Some(response)
}

/// Settings of the pages read from the function's environment, all optional:
/// `CONSOLE_AUTH_DOMAIN` (the Cognito hosted-UI base URL,
/// `https://<prefix>.auth.<region>.amazoncognito.com`) and `CONSOLE_CLIENT_ID` (the
/// console app client). Without them the console offers only "paste a token", which is
/// what the local runner's development tokens need.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    pub auth_domain: Option<String>,
    pub client_id: Option<String>,
}

impl WebSettings {
    pub fn get() -> &'static WebSettings {
        static SETTINGS: std::sync::OnceLock<WebSettings> = std::sync::OnceLock::new();
        SETTINGS.get_or_init(|| {
            let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
            WebSettings {
                auth_domain: var("CONSOLE_AUTH_DOMAIN")
                    .filter(|d| d.starts_with("https://") && !d.contains(['"', '\'', ' ', ';']))
                    .map(|d| d.trim_end_matches('/').to_string()),
                client_id: var("CONSOLE_CLIENT_ID"),
            }
        })
    }
}

/// True when the browser reached us over https (API Gateway sets X-Forwarded-Proto):
/// then cookies get `Secure`.
pub(crate) fn is_https(request: &Request) -> bool {
    request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// A cookie of the request.
pub(crate) fn cookie<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
}

/// A url-encoded form body.
#[derive(Debug, Default)]
pub(crate) struct Form(pub(crate) HashMap<String, String>);

impl Form {
    /// The form of a POST: `application/x-www-form-urlencoded`, at most the api's body
    /// limit. `None` for any other body.
    pub fn of(request: &Request) -> Option<Form> {
        let media = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())?;
        if media != "application/x-www-form-urlencoded" {
            return None;
        }
        let bytes: &[u8] = match request.body() {
            Body::Text(t) => t.as_bytes(),
            Body::Binary(b) => b,
            _ => b"",
        };
        if bytes.len() > crate::MAX_BODY_BYTES {
            return None;
        }
        Some(Form(form_urlencoded::parse(bytes).into_owned().collect()))
    }

    /// A field, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// A field as typed (for re-showing it), empty when absent.
    pub fn raw(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A small error page (bad form, expired session …).
pub(crate) fn message_page(
    lang: Lang,
    status: StatusCode,
    title: &str,
    text: &str,
    back: &str,
) -> Response<Body> {
    let main = maud::html! {
        h1 { (title) }
        p class="alert" { (text) }
        p { a class="button" href={ (back) "?lang=" (lang.code()) } { (lang.msg(messages::Msg::Back)) } }
    };
    let meta = layout::PageMeta {
        lang,
        title,
        name: "message",
        path: back,
    };
    layout::page_response(status, &meta, main)
}
