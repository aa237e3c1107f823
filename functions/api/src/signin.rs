//! The staff sign-in page: user name and password against the Cognito user pool, then
//! whatever the pool asks for — a new password on first sign-in with a temporary one,
//! the one-time code of the user's authenticator, or setting one up when the pool
//! requires MFA and the user has none. Rendered on the server; works without script.
//!
//! - `GET /signin[?next=/console…]` the form (straight on to `next` when signed in);
//! - `POST /signin` one step (`step` = `password`, `new_password`, `mfa_code`,
//!   `mfa_setup`); every POST carries the pages' CSRF token;
//! - `POST /signout` ends the session: the pool signs the user out (their refresh
//!   tokens stop working) and the session cookies are removed;
//! - `GET /signin/session` who the cookie session belongs to, and the CSRF token its
//!   script sends (JSON; never a token), for the console and dashboard scripts;
//! - `POST /console/tickets/{reference}/actions` a ticket action for a cookie session
//!   (the JSON route sits behind the JWT authorizer, which reads only the
//!   `Authorization` header): the same handler, with the CSRF token in `X-CSRF-Token`.
//!
//! Between steps the pool's challenge session (opaque, a few minutes long) waits in a
//! short HttpOnly cookie, never in the page. Wrong credentials of any kind get one
//! message; repeated failures are slowed down per user name and per client address
//! ([`ThrottlePolicy`]), counted in the table so every instance sees them. No user
//! name, password, code or token is ever logged.

use crate::auth::{self, session, Principal};
use crate::web::csrf::{self, CsrfKey};
use crate::web::html::{html_response, Lang};
use crate::web::layout::{page, PageMeta};
use crate::web::messages::{wait_seconds, Msg};
use crate::web::{cookie, is_https, query, Form};
use crate::ApiDeps;
use base64::Engine;
use chrono::Utc;
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use maud::{html, Markup};
use redress_aws::jwks::TokenUse;
use redress_domain::ports::{Notifier, Outbox, TicketStore};
use redress_domain::signin::{Challenge, SignInError, SignInStep, ThrottlePolicy, Tokens};
use serde::{Deserialize, Serialize};

/// How long a challenge may be answered (Cognito's sessions last 3 minutes).
const CHALLENGE_MAX_AGE: i64 = 300;
/// The longest user name, password or code read from the form.
const MAX_FIELD: usize = 256;

/// Serves the sign-in routes; `None` for any other request.
pub async fn route<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Option<Response<Body>>
where
    S: TicketStore + Outbox + redress_domain::ports::AccessLog + Sync,
    Q: Notifier + Sync,
{
    let path = request.uri().path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let response = match (request.method().as_str(), segments.as_slice()) {
        ("GET", ["signin"]) => show(deps, request),
        ("POST", ["signin"]) => step(deps, request).await,
        ("GET", ["signin", "session"]) => session_info(deps, request),
        ("POST", ["signout"]) => sign_out(deps, request).await,
        ("POST", ["console", "tickets", reference, "actions"]) => {
            session_action(deps, request, reference).await
        }
        _ => return None,
    };
    Some(response)
}

fn json(status: StatusCode, body: serde_json::Value, cookies: &[String]) -> Response<Body> {
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body.to_string()))
        .expect("static headers are valid");
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The cookie session's owner, for the staff pages' script.
fn session_info<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let Some(who) = session::access_token(request).and(deps.auth.principal(request)) else {
        return json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "unauthorized"}),
            &[],
        );
    };
    let (csrf_token, cookies) = page_token(deps, request);
    json(
        StatusCode::OK,
        serde_json::json!({
            "user": who.user,
            "teams": who.teams,
            "manager": who.manager,
            "contact_access": who.contact_access,
            "csrf_token": csrf_token,
        }),
        &cookies,
    )
}

/// A ticket action for a cookie session: the CSRF header must match the cookie.
async fn session_action<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    reference: &str,
) -> Response<Body>
where
    S: TicketStore + Outbox + redress_domain::ports::AccessLog + Sync,
    Q: Notifier + Sync,
{
    let key = CsrfKey::from_status_secrets(&deps.secrets);
    let header_token = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if !key.check(
        cookie(request, csrf::cookie_name(is_https(request))),
        header_token,
        deps.clock.now(),
    ) {
        return json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": "csrf", "message": {
                "en": "The page has expired: reload it and try again.",
                "zh": "页面已过期，请刷新后重试。"}}),
            &[],
        );
    }
    crate::tickets::act(deps, request, reference)
        .await
        .unwrap_or_else(|e| e.into_response())
}

/// Where to go after signing in: only our own staff pages (no open redirect).
fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?;
    let ours = ["/console", "/dashboard"].iter().any(|p| {
        next == *p || next.starts_with(&format!("{p}/")) || next.starts_with(&format!("{p}?"))
    });
    let clean = next
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_?=&.".contains(&b))
        && !next.contains("//")
        && !next.contains("..");
    (ours && clean).then(|| next.to_string())
}

/// The challenge waiting for an answer, kept in a cookie between steps.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// The user name.
    u: String,
    /// The pool's session.
    s: String,
    /// Which challenge ([`Challenge::as_str`]).
    c: String,
    /// Where to go afterwards.
    n: Option<String>,
}

fn pending_name(secure: bool) -> &'static str {
    if secure {
        "__Host-redress_signin"
    } else {
        "redress_signin"
    }
}

fn pending_cookie(p: &Pending, secure: bool) -> String {
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(p).unwrap_or_default());
    format!(
        "{}={value}; Path=/; Max-Age={CHALLENGE_MAX_AGE}; HttpOnly; SameSite=Strict{}",
        pending_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

fn clear_pending(secure: bool) -> String {
    format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        pending_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

fn read_pending(request: &Request) -> Option<Pending> {
    let raw = cookie(request, pending_name(is_https(request)))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What the page shows.
enum View<'a> {
    /// User name and password.
    Password {
        user: &'a str,
    },
    NewPassword,
    MfaCode,
    /// The authenticator's secret to register, then its first code.
    MfaSetup {
        user: &'a str,
        secret: &'a str,
    },
}

struct Screen<'a> {
    lang: Lang,
    csrf: &'a str,
    next: Option<&'a str>,
    view: View<'a>,
    /// An error, or a notice (`ok`).
    message: Option<(&'a str, bool)>,
}

/// One input of the form.
fn field(id: &str, label: &str, kind: &str, autocomplete: &str, value: &str) -> Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(id) type=(kind) autocomplete=(autocomplete) maxlength=(MAX_FIELD)
                value=(value) required;
        }
    }
}

/// The sign-in page at its current step.
fn render(screen: &Screen) -> Markup {
    let l = screen.lang;
    let (step, title, fields) = match &screen.view {
        View::Password { user } => (
            "password",
            Msg::StaffSignIn,
            html! {
                (field("username", l.msg(Msg::UserName), "text", "username", user))
                (field("password", l.msg(Msg::Password), "password", "current-password", ""))
            },
        ),
        View::NewPassword => (
            "new_password",
            Msg::ChooseNewPassword,
            html! {
                p class="hint" { (l.msg(Msg::FirstSignInHint)) }
                (field("new_password", l.msg(Msg::NewPassword), "password", "new-password", ""))
                (field("confirm_password", l.msg(Msg::NewPasswordAgain), "password", "new-password", ""))
            },
        ),
        View::MfaCode => (
            "mfa_code",
            Msg::OneTimeCode,
            html! {
                p class="hint" { (l.msg(Msg::OneTimeCodeHint)) }
                (field("code", l.msg(Msg::Code), "text", "one-time-code", ""))
            },
        ),
        View::MfaSetup { user, secret } => (
            "mfa_setup",
            Msg::SetUpAuthenticator,
            html! {
                p class="hint" { (l.msg(Msg::AuthenticatorKeyHint)) }
                p { code class="secret" { (secret) } }
                p class="hint" { (l.msg(Msg::OrOpenLink)) }
                p { code class="secret" { "otpauth://totp/Redress:" (user) "?secret=" (secret) "&issuer=Redress" } }
                (field("code", l.msg(Msg::CodeTheAppShows), "text", "one-time-code", ""))
            },
        ),
    };
    let main = html! {
        h1 { (l.msg(title)) }
        @match screen.message {
            Some((text, false)) => p class="alert" role="alert" { (text) },
            Some((text, true)) => p class="notice" role="status" { (text) },
            None => {},
        }
        form method="post" action="/signin" class="stack signin" data-step=(step) {
            input type="hidden" name="csrf_token" value=(screen.csrf);
            input type="hidden" name="step" value=(step);
            input type="hidden" name="lang" value=(l.code());
            @if let Some(next) = screen.next {
                input type="hidden" name="next" value=(next);
            }
            (fields)
            p { button type="submit" class="button primary" { (l.msg(Msg::Continue)) } }
        }
    };
    page(
        &PageMeta {
            lang: l,
            title: l.msg(title),
            name: "signin",
            path: "/signin",
        },
        main,
    )
}

/// The CSRF token for the page, and its cookie when new.
fn page_token<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> (String, Vec<String>) {
    let secure = is_https(request);
    let key = CsrfKey::from_status_secrets(&deps.secrets);
    let (token, fresh) = key.for_page(cookie(request, csrf::cookie_name(secure)), deps.clock.now());
    (
        token.clone(),
        if fresh {
            vec![csrf::set_cookie(&token, secure)]
        } else {
            vec![]
        },
    )
}

// Every page answer of the flow goes through here; the arguments are what differs.
#[allow(clippy::too_many_arguments)]
fn respond<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    status: StatusCode,
    lang: Lang,
    next: Option<&str>,
    view: View,
    message: Option<(&str, bool)>,
    mut cookies: Vec<String>,
) -> Response<Body> {
    let (token, csrf_cookies) = page_token(deps, request);
    cookies.extend(csrf_cookies);
    let html = render(&Screen {
        lang,
        csrf: &token,
        next,
        view,
        message,
    });
    html_response(status, html.into_string(), &cookies)
}

fn redirect(to: &str, cookies: Vec<String>) -> Response<Body> {
    let mut response = html_response(StatusCode::SEE_OTHER, String::new(), &cookies);
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Where a signed-in user goes: `next`, else the dashboard for managers and the console
/// for everyone else.
fn destination(next: Option<&str>, who: Option<&Principal>) -> String {
    match (next, who) {
        (Some(n), _) => n.to_string(),
        (None, Some(p)) if p.manager => "/dashboard".into(),
        _ => "/console".into(),
    }
}

fn show<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    let next = safe_next(query(request, "next"));
    if let Some(who) = deps.auth.principal(request) {
        return redirect(&destination(next.as_deref(), Some(&who)), vec![]);
    }
    let notice = query(request, "signed_out").map(|_| (lang.msg(Msg::SignedOut), true));
    respond(
        deps,
        request,
        StatusCode::OK,
        lang,
        next.as_deref(),
        View::Password { user: "" },
        notice,
        vec![],
    )
}

/// The one message for every credential failure.
fn wrong_credentials(lang: Lang) -> &'static str {
    lang.msg(Msg::WrongCredentials)
}

async fn step<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let form = Form::of(request).unwrap_or_default();
    let lang = Lang::of(request, form.get("lang"));
    let secure = is_https(request);
    let key = CsrfKey::from_status_secrets(&deps.secrets);
    if !key.check(
        cookie(request, csrf::cookie_name(secure)),
        form.get("csrf_token"),
        deps.clock.now(),
    ) {
        return respond(
            deps,
            request,
            StatusCode::FORBIDDEN,
            lang,
            None,
            View::Password { user: "" },
            Some((lang.msg(Msg::SignInFormExpired), false)),
            vec![],
        );
    }
    let too_long = form.0.values().any(|v| v.len() > MAX_FIELD);
    match form.get("step").unwrap_or("password") {
        "password" if !too_long => password_step(deps, request, &form, lang).await,
        other => match (Challenge::parse(other), read_pending(request)) {
            (Some(challenge), Some(p)) if !too_long && p.c == challenge.as_str() => {
                challenge_step(deps, request, &form, lang, challenge, p).await
            }
            _ => start_again(deps, request, lang),
        },
    }
}

fn start_again<S, Q>(deps: &ApiDeps<S, Q>, request: &Request, lang: Lang) -> Response<Body> {
    respond(
        deps,
        request,
        StatusCode::UNPROCESSABLE_ENTITY,
        lang,
        None,
        View::Password { user: "" },
        Some((lang.msg(Msg::SignInStartAgain), false)),
        vec![clear_pending(is_https(request))],
    )
}

fn unavailable<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    lang: Lang,
    e: &SignInError,
) -> Response<Body> {
    tracing::error!(error = %e, "sign-in could not reach the user pool");
    let mut response = respond(
        deps,
        request,
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        None,
        View::Password { user: "" },
        Some((lang.msg(Msg::SignInUnavailable), false)),
        vec![],
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

/// The throttle keys of an attempt: the user name's and the client address's.
fn throttle_keys<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    user: &str,
) -> [(String, ThrottlePolicy); 2] {
    [
        (
            deps.auth.throttle_key("user", user),
            ThrottlePolicy::PER_USER,
        ),
        (
            deps.auth.throttle_key("addr", &auth::source_ip(request)),
            ThrottlePolicy::PER_ADDRESS,
        ),
    ]
}

/// Seconds to wait before another attempt may be made, if any.
async fn must_wait(keys: &[(String, ThrottlePolicy)], deps_auth: &auth::StaffAuth) -> Option<i64> {
    let now = Utc::now();
    let mut wait = None;
    for (key, policy) in keys {
        // If the counter cannot be read, the attempt goes ahead: Cognito's own lockout
        // still stands behind it.
        let Ok(failures) = deps_auth.throttle.failures(key).await else {
            continue;
        };
        if let Some(until) = policy.wait_until(failures, now) {
            let secs = (until - now).num_seconds().max(1);
            wait = Some(wait.map_or(secs, |w: i64| w.max(secs)));
        }
    }
    wait
}

async fn record_failure(keys: &[(String, ThrottlePolicy)], deps_auth: &auth::StaffAuth) {
    let now = Utc::now();
    for (key, policy) in keys {
        let failures = deps_auth.throttle.failures(key).await.unwrap_or_default();
        let next = policy.record(failures, now);
        if let Err(e) = deps_auth.throttle.store(key, next, policy.window).await {
            tracing::warn!(error = %e, "could not record a failed sign-in");
        }
    }
}

fn throttled<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    lang: Lang,
    next: Option<&str>,
    secs: i64,
) -> Response<Body> {
    let text = wait_seconds(lang, secs);
    let mut response = respond(
        deps,
        request,
        StatusCode::TOO_MANY_REQUESTS,
        lang,
        next,
        View::Password { user: "" },
        Some((&text, false)),
        vec![],
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

async fn password_step<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    form: &Form,
    lang: Lang,
) -> Response<Body> {
    let next = safe_next(form.get("next"));
    let user = form.get("username").unwrap_or("");
    let password = form.raw("password");
    if user.is_empty() || password.is_empty() {
        return respond(
            deps,
            request,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            next.as_deref(),
            View::Password { user },
            Some((lang.msg(Msg::EnterUserAndPassword), false)),
            vec![],
        );
    }
    let keys = throttle_keys(deps, request, user);
    if let Some(secs) = must_wait(&keys, &deps.auth).await {
        return throttled(deps, request, lang, next.as_deref(), secs);
    }
    match deps.auth.sign_in.sign_in(user, password).await {
        Ok(step) => {
            let _ = deps.auth.throttle.clear(&keys[0].0).await;
            advance(deps, request, lang, user, next, step).await
        }
        Err(SignInError::NotAuthorized) => {
            tracing::info!("sign-in refused");
            record_failure(&keys, &deps.auth).await;
            respond(
                deps,
                request,
                StatusCode::UNAUTHORIZED,
                lang,
                next.as_deref(),
                View::Password { user },
                Some((wrong_credentials(lang), false)),
                vec![],
            )
        }
        Err(e) => unavailable(deps, request, lang, &e),
    }
}

async fn challenge_step<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    form: &Form,
    lang: Lang,
    challenge: Challenge,
    pending: Pending,
) -> Response<Body> {
    let next = pending.n.as_deref().and_then(|n| safe_next(Some(n)));
    let user = pending.u.as_str();
    let sign_in = &deps.auth.sign_in;
    let retry = |view: View, status: StatusCode, text: &str| {
        respond(
            deps,
            request,
            status,
            lang,
            next.as_deref(),
            view,
            Some((text, false)),
            vec![],
        )
    };
    let result = match challenge {
        Challenge::NewPassword => {
            let new = form.raw("new_password");
            if new.is_empty() || new != form.raw("confirm_password") {
                return retry(
                    View::NewPassword,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    lang.msg(Msg::PasswordsDiffer),
                );
            }
            sign_in.set_new_password(user, &pending.s, new).await
        }
        Challenge::MfaCode | Challenge::MfaSetup => {
            let code: String = form
                .raw("code")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                let text = lang.msg(Msg::EnterSixDigits);
                return match challenge {
                    Challenge::MfaCode => {
                        retry(View::MfaCode, StatusCode::UNPROCESSABLE_ENTITY, text)
                    }
                    _ => start_again(deps, request, lang),
                };
            }
            let keys = throttle_keys(deps, request, user);
            if let Some(secs) = must_wait(&keys, &deps.auth).await {
                return throttled(deps, request, lang, next.as_deref(), secs);
            }
            let result = if challenge == Challenge::MfaCode {
                sign_in.answer_code(user, &pending.s, &code).await
            } else {
                sign_in.finish_mfa_setup(user, &pending.s, &code).await
            };
            if result == Err(SignInError::WrongCode) {
                record_failure(&keys, &deps.auth).await;
                if challenge == Challenge::MfaCode {
                    return retry(
                        View::MfaCode,
                        StatusCode::UNAUTHORIZED,
                        lang.msg(Msg::WrongCode),
                    );
                }
            }
            result
        }
    };
    match result {
        Ok(step) => advance(deps, request, lang, user, next, step).await,
        Err(SignInError::WeakPassword) => retry(
            View::NewPassword,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.msg(Msg::WeakPassword),
        ),
        Err(SignInError::Unavailable(e)) => {
            unavailable(deps, request, lang, &SignInError::Unavailable(e))
        }
        Err(_) => start_again(deps, request, lang),
    }
}

/// Acts on the pool's answer: signed in, or the next challenge.
async fn advance<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    lang: Lang,
    user: &str,
    next: Option<String>,
    step: SignInStep,
) -> Response<Body> {
    let secure = is_https(request);
    match step {
        SignInStep::SignedIn(tokens) => signed_in(deps, request, next, tokens).await,
        SignInStep::Challenge {
            challenge: Challenge::MfaSetup,
            session,
        } => match deps.auth.sign_in.begin_mfa_setup(&session).await {
            Ok(setup) => {
                let pending = Pending {
                    u: user.to_string(),
                    s: setup.session.clone(),
                    c: Challenge::MfaSetup.as_str().into(),
                    n: next.clone(),
                };
                respond(
                    deps,
                    request,
                    StatusCode::OK,
                    lang,
                    next.as_deref(),
                    View::MfaSetup {
                        user,
                        secret: &setup.secret,
                    },
                    None,
                    vec![pending_cookie(&pending, secure)],
                )
            }
            Err(SignInError::Unavailable(e)) => {
                unavailable(deps, request, lang, &SignInError::Unavailable(e))
            }
            Err(_) => start_again(deps, request, lang),
        },
        SignInStep::Challenge { challenge, session } => {
            let pending = Pending {
                u: user.to_string(),
                s: session,
                c: challenge.as_str().into(),
                n: next.clone(),
            };
            let view = match challenge {
                Challenge::NewPassword => View::NewPassword,
                _ => View::MfaCode,
            };
            respond(
                deps,
                request,
                StatusCode::OK,
                lang,
                next.as_deref(),
                view,
                None,
                vec![pending_cookie(&pending, secure)],
            )
        }
    }
}

async fn signed_in<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    next: Option<String>,
    tokens: Tokens,
) -> Response<Body> {
    let secure = is_https(request);
    let verifier = deps.auth.verifier();
    let _ = verifier.prepare(&tokens.access_token).await;
    let who = verifier
        .verify(&tokens.access_token, TokenUse::Access, Utc::now())
        .ok()
        .map(|t| Principal::from_token(&t));
    if who.is_none() {
        // The pool issued a token this api does not accept (a misconfigured client or
        // issuer): say so in the log, and do not pretend the user is signed in.
        tracing::error!("the user pool issued a token that does not verify");
        let lang = Lang::of(request, None);
        return unavailable(
            deps,
            request,
            lang,
            &SignInError::Unavailable("token does not verify".into()),
        );
    }
    tracing::info!("staff signed in");
    let mut cookies = session::start(
        &tokens.access_token,
        tokens.expires_in,
        tokens.refresh_token.as_deref(),
        secure,
    );
    cookies.push(clear_pending(secure));
    redirect(&destination(next.as_deref(), who.as_ref()), cookies)
}

async fn sign_out<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let form = Form::of(request).unwrap_or_default();
    let secure = is_https(request);
    let key = CsrfKey::from_status_secrets(&deps.secrets);
    if !key.check(
        cookie(request, csrf::cookie_name(secure)),
        form.get("csrf_token"),
        deps.clock.now(),
    ) {
        let lang = Lang::of(request, form.get("lang"));
        return crate::web::message_page(
            lang,
            StatusCode::FORBIDDEN,
            lang.msg(Msg::SignOut),
            lang.msg(Msg::SignOutFormExpired),
            "/console",
        );
    }
    if let Some(access) = session::access_token(request) {
        if let Err(e) = deps.auth.sign_in.sign_out(access).await {
            // The cookies go anyway; a refresh token Cognito did not revoke expires on
            // its own (and is no longer held by this browser).
            tracing::warn!(error = %e, "the user pool did not confirm the sign-out");
        }
    }
    let mut cookies = session::end(secure);
    cookies.push(clear_pending(secure));
    redirect("/signin?signed_out=1", cookies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_staff_pages_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/console")).as_deref(), Some("/console"));
        assert_eq!(
            safe_next(Some("/dashboard?period=30")).as_deref(),
            Some("/dashboard?period=30")
        );
        assert_eq!(
            safe_next(Some("/console/tickets/RD-261123-7KQ2M9XA")).as_deref(),
            Some("/console/tickets/RD-261123-7KQ2M9XA")
        );
        for bad in [
            "https://evil.example/console",
            "//evil.example",
            "/consolex",
            "/console/../admin",
            "/console\"><script>",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn the_pending_challenge_cookie_is_short_http_only_and_strict() {
        let p = Pending {
            u: "alice".into(),
            s: "session".into(),
            c: "mfa_code".into(),
            n: None,
        };
        let c = pending_cookie(&p, true);
        assert!(c.starts_with("__Host-redress_signin="));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(c.contains(&format!("Max-Age={CHALLENGE_MAX_AGE}")));
    }
}
