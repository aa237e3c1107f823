//! The borrower's pages: landing, complaint form, status look-up, survey.
//!
//! The form works without JavaScript: a plain url-encoded POST, answered with the form
//! again (values kept, each field's error beside it) or with the reference and status
//! secret. The rules are the API's own: the form becomes the JSON body of
//! `POST /complaints` and goes through [`Complaint::parse`](redress_domain::complaint::Complaint::parse)
//! and the same submit path ([`crate::complaints::accept`]).
//!
//! Pages are maud templates (every interpolation escaped) and every string comes from the
//! message catalogue ([`Msg`]).

use super::csrf::{self, CsrfKey};
use super::html::{html_response, Lang};
use super::layout::{page, PageMeta};
use super::messages::{local_time, text_limit, Msg};
use super::{cookie, is_https, message_page, query, Form};
use crate::complaints::{accept, lookup, Accepted, Entry};
use crate::http_error::ApiError;
use crate::views::ComplaintStatusView;
use crate::ApiDeps;
use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use maud::{html, Markup};
use redress_domain::complaint::{FieldError, MAX_OUTCOME_CHARS, MAX_TEXT_CHARS};
use redress_domain::ports::{
    ComplaintLookup, ComplaintQueue, ComplaintState, SubmissionLog, SurveyLookup, SurveyQueue,
    TicketStore,
};
use redress_domain::reference::Reference;
use redress_domain::survey::MAX_COMMENT_CHARS;
use redress_domain::ticket::Ticket;
use serde_json::{json, Map, Value};

/// The borrower's contact fields, in form order: (field, label, input type,
/// autocomplete).
const CONTACT_FIELDS: [(&str, Msg, &str, &str); 6] = [
    ("name", Msg::FieldName, "text", "name"),
    ("phone", Msg::FieldPhone, "tel", "tel"),
    ("email", Msg::FieldEmail, "email", "email"),
    ("customer_id", Msg::FieldCustomerId, "text", "off"),
    ("loan_number", Msg::FieldLoanNumber, "text", "off"),
    ("national_id", Msg::FieldNationalId, "text", "off"),
];

/// A page's answer: the layout around `main`, with the cookies to set.
fn respond(
    status: StatusCode,
    meta: &PageMeta<'_>,
    main: Markup,
    cookies: &[String],
) -> Response<Body> {
    html_response(status, page(meta, main).into_string(), cookies)
}

/// A time as a borrower reads it, in the configured reporting time zone.
fn shown_time<S, Q>(deps: &ApiDeps<S, Q>, lang: Lang, at: &DateTime<Utc>) -> String {
    local_time(lang, deps.config.sla.reporting_time_zone(), at)
}

/// The CSRF token for a page, and the cookie to set when it is new.
fn page_token<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> (String, Vec<String>) {
    let secure = is_https(request);
    let key = CsrfKey::from_status_secrets(&deps.secrets);
    let (token, fresh) = key.for_page(cookie(request, csrf::cookie_name(secure)), deps.clock.now());
    let cookies = if fresh {
        vec![csrf::set_cookie(&token, secure)]
    } else {
        vec![]
    };
    (token, cookies)
}

/// True if the POST carries the same valid token in its cookie and its form.
fn csrf_ok<S, Q>(deps: &ApiDeps<S, Q>, request: &Request, form: &Form) -> bool {
    let key = CsrfKey::from_status_secrets(&deps.secrets);
    key.check(
        cookie(request, csrf::cookie_name(is_https(request))),
        form.get("csrf_token"),
        deps.clock.now(),
    )
}

fn hidden(name: &str, value: &str) -> Markup {
    html! { input type="hidden" name=(name) value=(value); }
}

// ------------------------------------------------------------------------ landing

pub(crate) fn landing(request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    let l = lang.code();
    let main = html! {
        h1 { (lang.msg(Msg::LandingHeading)) }
        p class="lead" { (lang.msg(Msg::LandingIntro)) }
        ul class="cards" {
            li { a href={ "/complain?lang=" (l) } {
                strong { (lang.msg(Msg::MakeComplaint)) } span { (lang.msg(Msg::MakeComplaintHint)) }
            } }
            li { a href={ "/status?lang=" (l) } {
                strong { (lang.msg(Msg::CheckComplaint)) } span { (lang.msg(Msg::CheckComplaintHint)) }
            } }
        }
        h2 { (lang.msg(Msg::Staff)) }
        ul class="links" {
            li { a href={ "/console?lang=" (l) } { (lang.msg(Msg::TeamConsole)) } }
            li { a href={ "/dashboard?lang=" (l) } { (lang.msg(Msg::ManagementDashboard)) } }
        }
    };
    let meta = PageMeta {
        lang,
        title: lang.msg(Msg::Complaints),
        name: "home",
        path: "/",
    };
    respond(StatusCode::OK, &meta, main, &[])
}

// --------------------------------------------------------------------- the form

/// Which input a field error belongs to.
fn error_slot(field: &str) -> &str {
    match field {
        "borrower" => "contact",
        "consent_to_contact" => "consent",
        f => f.strip_prefix("borrower.").unwrap_or(f),
    }
}

struct FormView<'a> {
    lang: Lang,
    token: &'a str,
    submission_id: &'a str,
    values: &'a Form,
    errors: &'a [FieldError],
    banner: Option<Msg>,
}

impl FormView<'_> {
    /// The errors of one slot, joined; `None` when it has none.
    fn error_for(&self, slot: &str) -> Option<String> {
        let messages: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| error_slot(&e.field) == slot)
            .map(|e| self.lang.pick(&e.message))
            .collect();
        (!messages.is_empty()).then(|| messages.join(" "))
    }

    /// The `aria-describedby` target of a slot with an error.
    fn described_by(&self, slot: &str) -> Option<String> {
        self.error_for(slot).map(|_| format!("err-{slot}"))
    }

    /// The error paragraph of a slot (nothing when it has none).
    fn error_text(&self, slot: &str) -> Markup {
        html! {
            @if let Some(m) = self.error_for(slot) {
                p class="field-error" id={ "err-" (slot) } { (m) }
            }
        }
    }

    fn render<S, Q>(&self, deps: &ApiDeps<S, Q>) -> Markup {
        let lang = self.lang;
        let v = self.values;
        let chosen_category = v.get("category").unwrap_or("");
        let chosen_product = v.get("product").unwrap_or("");
        let consent = v.get("consent").unwrap_or("");
        // `aria-invalid` only where the slot has an error.
        let invalid = |slot: &str| self.error_for(slot).map(|_| "true");
        html! {
            h1 { (lang.msg(Msg::MakeComplaint)) }
            p class="lead" { (lang.msg(Msg::FormIntro)) }
            @if let Some(b) = self.banner { p class="alert" role="alert" { (lang.msg(b)) } }
            @if !self.errors.is_empty() {
                div class="alert" role="alert" id="error-summary" {
                    p { (lang.msg(Msg::CorrectFollowing)) }
                    ul {
                        @for e in self.errors {
                            li { a href={ "#f-" (error_slot(&e.field)) } { (lang.pick(&e.message)) } }
                        }
                    }
                }
            }
            form method="post" action="/complain" class="stack" novalidate {
                (hidden("csrf_token", self.token))
                (hidden("submission_id", self.submission_id))
                (hidden("lang", lang.code()))

                // Category: radio buttons with the plain-language descriptions from config.
                fieldset id="f-category" aria-invalid=[invalid("category")]
                    aria-describedby=[self.described_by("category")] {
                    legend { (lang.msg(Msg::WhatAbout)) }
                    (self.error_text("category"))
                    div class="choices" {
                        @for c in deps.config.classifier.categories() {
                            label class="choice" {
                                input type="radio" name="category" value=(c.id.as_str())
                                    checked[chosen_category == c.id];
                                span {
                                    strong {
                                        @if c.id == "other" { (lang.msg(Msg::SomethingElse)) }
                                        @else { (lang.pick(&c.label)) }
                                    }
                                    small { (lang.pick(&c.description)) }
                                }
                            }
                        }
                    }
                }

                div class="field" id="f-product" {
                    label for="product" { (lang.msg(Msg::WhichProduct)) " *" }
                    (self.error_text("product"))
                    select id="product" name="product" aria-invalid=[invalid("product")]
                        aria-describedby=[self.described_by("product")] {
                        option value="" { (lang.msg(Msg::ChooseOne)) }
                        @for p in deps.config.routing.products() {
                            option value=(p.id) selected[chosen_product == p.id] { (lang.pick(&p.label)) }
                        }
                    }
                }

                // The complaint text, with its limit shown (the script turns it into a counter).
                div class="field" id="f-text" {
                    label for="text" { (lang.msg(Msg::WhatHappened)) " *" }
                    p class="hint" { (lang.msg(Msg::WhatHappenedHint)) }
                    (self.error_text("text"))
                    textarea id="text" name="text" rows="8" maxlength=(MAX_TEXT_CHARS)
                        data-counter="text-count" aria-invalid=[invalid("text")]
                        aria-describedby=[self.described_by("text")] { (v.raw("text")) }
                    p class="counter" id="text-count" aria-live="polite" { (text_limit(lang, MAX_TEXT_CHARS)) }
                }

                div class="field" id="f-desired_outcome" {
                    label for="desired_outcome" { (lang.msg(Msg::DesiredOutcomeOptional)) }
                    (self.error_text("desired_outcome"))
                    textarea id="desired_outcome" name="desired_outcome" rows="3"
                        maxlength=(MAX_OUTCOME_CHARS) aria-invalid=[invalid("desired_outcome")]
                        aria-describedby=[self.described_by("desired_outcome")] { (v.raw("desired_outcome")) }
                }

                fieldset id="f-contact" aria-invalid=[invalid("contact")]
                    aria-describedby=[self.described_by("contact")] {
                    legend { (lang.msg(Msg::YourDetails)) }
                    p class="hint" { (lang.msg(Msg::YourDetailsHint)) }
                    (self.error_text("contact"))
                    @for (name, label, kind, auto) in CONTACT_FIELDS {
                        div class="field" id={ "f-" (name) } {
                            label for=(name) { (lang.msg(label)) }
                            (self.error_text(name))
                            input id=(name) name=(name) type=(kind) autocomplete=(auto) value=(v.raw(name))
                                aria-invalid=[invalid(name)] aria-describedby=[self.described_by(name)];
                        }
                    }
                }

                fieldset id="f-consent" aria-invalid=[invalid("consent")]
                    aria-describedby=[self.described_by("consent")] {
                    legend { (lang.msg(Msg::ConsentQuestion)) " *" }
                    (self.error_text("consent"))
                    label class="inline" {
                        input type="radio" name="consent" value="yes" checked[consent == "yes"];
                        " " (lang.msg(Msg::ConsentYes))
                    }
                    label class="inline" {
                        input type="radio" name="consent" value="no" checked[consent == "no"];
                        " " (lang.msg(Msg::ConsentNo))
                    }
                }
                @if let Some(general) = self.error_for("") { p class="field-error" { (general) } }
                p { button type="submit" class="button primary" { (lang.msg(Msg::SendComplaint)) } }
            }
        }
    }
}

fn form_page<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    lang: Lang,
    status: StatusCode,
    values: &Form,
    errors: &[FieldError],
    banner: Option<Msg>,
) -> Response<Body> {
    let (token, cookies) = page_token(deps, request);
    let submission_id = format!("web-{}", uuid::Uuid::new_v4().simple());
    let view = FormView {
        lang,
        token: &token,
        submission_id: &submission_id,
        values,
        errors,
        banner,
    };
    let meta = PageMeta {
        lang,
        title: lang.msg(Msg::MakeComplaint),
        name: "complain",
        path: "/complain",
    };
    respond(status, &meta, view.render(deps), &cookies)
}

pub(crate) fn form<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    form_page(
        deps,
        request,
        lang,
        StatusCode::OK,
        &Form::default(),
        &[],
        None,
    )
}

/// The JSON body of `POST /complaints` that a filled-in form stands for.
pub(crate) fn complaint_json(form: &Form, lang: Lang) -> Value {
    let mut borrower = Map::new();
    for (name, ..) in CONTACT_FIELDS {
        if let Some(v) = form.get(name) {
            borrower.insert(name.to_string(), json!(v));
        }
    }
    let mut body = Map::new();
    body.insert("borrower".into(), Value::Object(borrower));
    body.insert("channel".into(), json!("web"));
    body.insert("language".into(), json!(lang.code()));
    for name in ["product", "category", "text", "desired_outcome"] {
        if let Some(v) = form.get(name) {
            body.insert(name.into(), json!(v));
        }
    }
    match form.get("consent") {
        Some("yes") => {
            body.insert("consent_to_contact".into(), json!(true));
        }
        Some("no") => {
            body.insert("consent_to_contact".into(), json!(false));
        }
        _ => {}
    }
    Value::Object(body)
}

pub(crate) async fn submit<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body>
where
    S: SubmissionLog + Sync,
    Q: ComplaintQueue + Sync,
{
    let Some(form) = Form::of(request) else {
        let lang = Lang::of(request, None);
        return message_page(
            lang,
            StatusCode::BAD_REQUEST,
            lang.msg(Msg::SomethingWrong),
            lang.msg(Msg::FormUnreadable),
            "/complain",
        );
    };
    let lang = Lang::of(request, form.get("lang"));
    if !csrf_ok(deps, request, &form) {
        return form_page(
            deps,
            request,
            lang,
            StatusCode::FORBIDDEN,
            &form,
            &[],
            Some(Msg::FormExpired),
        );
    }
    let body = complaint_json(&form, lang);
    // One rendered form is one complaint: pressing "send" twice gives the same reference.
    let key = form
        .get("submission_id")
        .filter(|k| k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    match accept(deps, &body, key, Entry::Public).await {
        Ok(accepted) => {
            let meta = PageMeta {
                lang,
                title: lang.msg(Msg::ComplaintReceived),
                name: "received",
                path: "/complain",
            };
            respond(
                StatusCode::OK,
                &meta,
                received_html(deps, lang, &accepted),
                &[],
            )
        }
        Err(ApiError::Validation(errors)) => form_page(
            deps,
            request,
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            &errors,
            None,
        ),
        Err(ApiError::IdempotencyConflict) => form_page(
            deps,
            request,
            lang,
            StatusCode::CONFLICT,
            &form,
            &[],
            Some(Msg::FormAlreadySent),
        ),
        Err(e) => {
            let status = if matches!(e, ApiError::Unavailable(_)) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            // Logs the cause (never personal data): the error's own log line.
            drop(e.into_response());
            form_page(
                deps,
                request,
                lang,
                status,
                &form,
                &[],
                Some(Msg::CouldNotTakeComplaint),
            )
        }
    }
}

/// The answer to an accepted complaint: the reference and the status secret to keep.
fn received_html<S, Q>(deps: &ApiDeps<S, Q>, lang: Lang, accepted: &Accepted) -> Markup {
    let reference = accepted.reference.as_str();
    html! {
        h1 { (lang.msg(Msg::ReceivedHeading)) }
        p class="lead" { (lang.msg(Msg::ReceivedIntro)) }
        section class="keep" aria-labelledby="keep-title" {
            h2 id="keep-title" { (lang.msg(Msg::KeepCodes)) }
            dl {
                dt { (lang.msg(Msg::ComplaintReference)) }
                dd class="big" id="reference" { (reference) }
                dt { (lang.msg(Msg::StatusSecret)) }
                dd class="big" id="status-secret" { (accepted.status_secret) }
                dt { (lang.msg(Msg::ReceivedAt)) }
                dd { (shown_time(deps, lang, &accepted.received_at)) }
            }
            p { (lang.msg(Msg::KeepCodesWhy)) }
        }
        p class="actions" {
            button type="button" class="button" data-print { (lang.msg(Msg::PrintOrSave)) }
            " "
            a class="button primary" id="status-link"
                href={ "/status?reference=" (reference) "&lang=" (lang.code()) } { (lang.msg(Msg::CheckItsStatus)) }
        }
    }
}

// ------------------------------------------------------------------------- status

fn status_form_page<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    lang: Lang,
    status: StatusCode,
    reference: &str,
    problem: Option<Msg>,
) -> Response<Body> {
    let (token, cookies) = page_token(deps, request);
    let main = html! {
        h1 { (lang.msg(Msg::CheckComplaint)) }
        p class="lead" { (lang.msg(Msg::StatusIntro)) }
        @if let Some(p) = problem { p class="alert" role="alert" { (lang.msg(p)) } }
        form method="post" action="/status" class="stack" novalidate {
            (hidden("csrf_token", &token))
            (hidden("lang", lang.code()))
            div class="field" {
                label for="reference" { (lang.msg(Msg::ComplaintReference)) }
                input id="reference" name="reference" autocomplete="off"
                    placeholder="RD-261123-7KQ2M9XA" value=(reference);
            }
            div class="field" {
                label for="secret" { (lang.msg(Msg::StatusSecret)) }
                input id="secret" name="secret" autocomplete="off" placeholder="XXXX-XXXX-XXXX-XXXX";
            }
            p { button type="submit" class="button primary" { (lang.msg(Msg::ShowStatus)) } }
        }
    };
    let meta = PageMeta {
        lang,
        title: lang.msg(Msg::CheckComplaint),
        name: "status",
        path: "/status",
    };
    respond(status, &meta, main, &cookies)
}

pub(crate) fn status_form<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    let reference = query(request, "reference").unwrap_or("");
    status_form_page(deps, request, lang, StatusCode::OK, reference, None)
}

pub(crate) async fn status_show<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body>
where
    S: ComplaintLookup + Sync,
{
    let form = Form::of(request).unwrap_or_default();
    let lang = Lang::of(request, form.get("lang"));
    let raw_reference = form.get("reference").unwrap_or("");
    let again = |status, problem| {
        status_form_page(deps, request, lang, status, raw_reference, Some(problem))
    };
    if !csrf_ok(deps, request, &form) {
        return again(StatusCode::FORBIDDEN, Msg::PageExpiredRetry);
    }
    let Ok(reference) = Reference::parse(raw_reference) else {
        return again(StatusCode::UNPROCESSABLE_ENTITY, Msg::ReferenceLooksLike);
    };
    let secret = form.get("secret").unwrap_or("");
    let view = match lookup(deps, &reference, secret).await {
        Ok(view) => view,
        Err(ApiError::ComplaintNotFound) => {
            return again(StatusCode::NOT_FOUND, Msg::NoMatchingComplaint)
        }
        Err(e) => {
            drop(e.into_response());
            return again(StatusCode::SERVICE_UNAVAILABLE, Msg::LookupUnavailable);
        }
    };
    // The secret matched: the borrower may also read back their own complaint and our
    // answer (never the team's notes).
    let ticket = match deps.store.complaint_state(reference.as_str()).await {
        Ok(Some(ComplaintState::Ticketed(t))) => Some(t),
        _ => None,
    };
    let meta = PageMeta {
        lang,
        title: lang.msg(Msg::YourComplaint),
        name: "status-result",
        path: "/status",
    };
    let main = status_html(deps, lang, &view, ticket.as_deref());
    respond(StatusCode::OK, &meta, main, &[])
}

/// The status page of a [`ComplaintStatusView`], with the complaint and our answer when
/// the secret let the borrower read them.
fn status_html<S, Q>(
    deps: &ApiDeps<S, Q>,
    lang: Lang,
    view: &ComplaintStatusView,
    ticket: Option<&Ticket>,
) -> Markup {
    html! {
        h1 { (lang.msg(Msg::YourComplaint)) }
        dl class="facts" {
            dt { (lang.msg(Msg::ComplaintReference)) } dd id="reference" { (view.reference) }
            dt { (lang.msg(Msg::Status)) }
            dd { span class={ "badge status-" (view.status.as_str()) } id="status" { (lang.pick(&view.status_label)) } }
            dt { (lang.msg(Msg::ReceivedAt)) } dd { (shown_time(deps, lang, &view.received_at)) }
            @if let Some(team) = &view.team {
                dt { (lang.msg(Msg::HandledBy)) } dd id="team" { (lang.pick(team)) }
            }
            @if let Some(d) = &view.deadlines {
                dt { (lang.msg(Msg::WeAcknowledgeBy)) } dd { (shown_time(deps, lang, &d.acknowledge_by)) }
                dt { (lang.msg(Msg::WeAnswerBy)) } dd { (shown_time(deps, lang, &d.resolve_by)) }
            }
        }
        @if let Some(note) = &view.note { p class="note" { (lang.pick(note)) } }
        @if let Some(r) = ticket.and_then(|t| t.resolution.as_ref()) {
            section class="answer" {
                h2 { (lang.msg(Msg::OurAnswer)) }
                p class="text" id="resolution" { (r.summary) }
            }
        }
        @if let Some(t) = ticket {
            section {
                h2 { (lang.msg(Msg::WhatYouToldUs)) }
                p class="text" id="complaint-text" { (t.text) }
            }
        }
        p { a href={ "/status?lang=" (lang.code()) } { (lang.msg(Msg::LookUpAnother)) } }
    }
}

// ------------------------------------------------------------------------- survey

/// A survey question's radio buttons: (value, label) pairs, the answer kept checked.
fn radios(name: &str, choices: &[(String, String)], values: &Form) -> Markup {
    html! {
        @for (value, label) in choices {
            label class="inline" {
                input type="radio" name=(name) value=(value) checked[values.raw(name) == value];
                " " (label)
            }
        }
    }
}

/// The choices of a numeric scale, each labelled by its number.
fn scale(range: std::ops::RangeInclusive<u8>) -> Vec<(String, String)> {
    range.map(|i| (i.to_string(), i.to_string())).collect()
}

fn survey_page<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    lang: Lang,
    status: StatusCode,
    values: &Form,
    errors: &[FieldError],
) -> Response<Body> {
    let (token, cookies) = page_token(deps, request);
    let error = |slots: &[&str]| {
        html! {
            @for e in errors.iter().filter(|e| slots.contains(&e.field.as_str())) {
                p class="field-error" id={ "err-" (e.field) } { (lang.pick(&e.message)) }
            }
        }
    };
    let solved: Vec<(String, String)> = [
        ("yes", Msg::SolvedYes),
        ("partly", Msg::SolvedPartly),
        ("no", Msg::SolvedNo),
    ]
    .iter()
    .map(|(v, m)| (v.to_string(), lang.msg(*m).to_string()))
    .collect();
    let main = html! {
        h1 { (lang.msg(Msg::HowDidWeDo)) }
        p class="lead" { (lang.msg(Msg::SurveyIntro)) }
        @if !errors.is_empty() { p class="alert" role="alert" { (lang.msg(Msg::CorrectMarked)) } }
        form method="post" action="/survey" class="stack" novalidate {
            (hidden("csrf_token", &token))
            (hidden("lang", lang.code()))
            (hidden("token", values.raw("token")))
            (error(&["token", ""]))
            fieldset id="f-csat" {
                legend { (lang.msg(Msg::CsatQuestion)) }
                (error(&["csat"]))
                div { (radios("csat", &scale(1..=5), values)) }
                p class="hint" { (lang.msg(Msg::CsatHint)) }
            }
            fieldset id="f-nps" {
                legend { (lang.msg(Msg::NpsQuestion)) }
                (error(&["nps"]))
                div { (radios("nps", &scale(0..=10), values)) }
                p class="hint" { (lang.msg(Msg::NpsHint)) }
            }
            fieldset id="f-solved" {
                legend { (lang.msg(Msg::SolvedQuestion)) }
                (error(&["solved"]))
                (radios("solved", &solved, values))
            }
            div class="field" {
                label for="comment" { (lang.msg(Msg::AnythingElse)) }
                (error(&["comment"]))
                textarea id="comment" name="comment" rows="4" maxlength=(MAX_COMMENT_CHARS) { (values.raw("comment")) }
            }
            p { button type="submit" class="button primary" { (lang.msg(Msg::SendAnswers)) } }
        }
    };
    let meta = PageMeta {
        lang,
        title: lang.msg(Msg::Survey),
        name: "survey",
        path: "/survey",
    };
    respond(status, &meta, main, &cookies)
}

pub(crate) fn survey_form<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    let mut values = Form::default();
    if let Some(t) = query(request, "token") {
        values.0.insert("token".into(), t.to_string());
    }
    survey_page(deps, request, lang, StatusCode::OK, &values, &[])
}

pub(crate) async fn survey_submit<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body>
where
    S: TicketStore + SurveyLookup + Sync,
    Q: SurveyQueue + Sync,
{
    let form = Form::of(request).unwrap_or_default();
    let lang = Lang::of(request, form.get("lang"));
    if !csrf_ok(deps, request, &form) {
        return message_page(
            lang,
            StatusCode::FORBIDDEN,
            lang.msg(Msg::Survey),
            lang.msg(Msg::SurveyExpired),
            "/",
        );
    }
    // The JSON body of `POST /surveys`, answered by the same handler.
    let mut body = Map::new();
    for name in ["token", "solved", "comment"] {
        if let Some(v) = form.get(name) {
            body.insert(name.into(), json!(v));
        }
    }
    for name in ["csat", "nps"] {
        if let Some(v) = form.get(name) {
            body.insert(
                name.into(),
                v.parse::<i64>()
                    .map(|n| json!(n))
                    .unwrap_or_else(|_| json!(v)),
            );
        }
    }
    match crate::surveys::accept(deps, &Value::Object(body)).await {
        Ok(_) => message_page(
            lang,
            StatusCode::OK,
            lang.msg(Msg::ThankYou),
            lang.msg(Msg::AnswersRecorded),
            "/",
        ),
        Err(ApiError::Validation(errors)) => survey_page(
            deps,
            request,
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            &errors,
        ),
        Err(e) => {
            let (status, _, message) = e.describe();
            let text = lang.pick(&message).to_string();
            message_page(lang, status, lang.msg(Msg::Survey), &text, "/")
        }
    }
}
