//! The team console.
//!
//! `/console` is a public shell: a sign-in panel and empty areas. Staff sign in on
//! `/signin` ([`crate::signin`]): the session lives in HttpOnly cookies the script never
//! sees; the script asks `/signin/session` who is signed in and for the CSRF token its
//! actions send. (A pasted access token, kept in sessionStorage and sent as `Bearer`,
//! still works for scripts.) It fetches `/console/queue` and
//! `/console/tickets/{reference}`, which render, as maud templates, the typed views that
//! the JSON routes serialize ([`crate::views`]): the same access checks, masking and
//! deadline figures, and the actions the lifecycle allows this caller now — the console
//! offers exactly those. Actions post JSON with `expected_version` to
//! `/console/tickets/{reference}/actions` (cookie session, `X-CSRF-Token`) or to
//! `/tickets/{reference}/actions` (bearer token).

use super::html::{secure_headers, Lang};
use super::layout::{fragment, page_response, token_sign_in, who_bar, PageMeta};
use super::messages::{
    action_label, countdown, deadline_label, priority_label, resolution_label, signal_label, Msg,
};
use super::WebSettings;
use crate::http_error::ApiError;
use crate::views::{NextDeadline, QueueItemView, QueuePageView, TicketView};
use crate::ApiDeps;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use maud::{html, Markup};
use redress_domain::config::DomainConfig;
use redress_domain::lifecycle::ActionKind;
use redress_domain::ports::{TeamQueue, TicketStore};
use redress_domain::taxonomy::{Priority, Signal};
use redress_domain::ticket::{ResolutionCode, TicketStatus};
use redress_domain::Bilingual;
use std::collections::BTreeSet;

/// A deadline closer than this is marked "due soon".
pub const SOON_HOURS: i64 = 24;

/// How close a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Urgency {
    Overdue,
    Soon,
    Ok,
}

impl Urgency {
    pub(crate) fn of(deadline: DateTime<Utc>, now: DateTime<Utc>) -> Urgency {
        if deadline <= now {
            Urgency::Overdue
        } else if deadline - now < chrono::Duration::hours(SOON_HOURS) {
            Urgency::Soon
        } else {
            Urgency::Ok
        }
    }

    /// The CSS class.
    fn class(self) -> &'static str {
        match self {
            Urgency::Overdue => "overdue",
            Urgency::Soon => "soon",
            Urgency::Ok => "ok",
        }
    }
}

/// A time in the configured time zone, as the pages show every time.
fn time(lang: Lang, zone: Tz, at: &DateTime<Utc>) -> String {
    super::messages::local_time(lang, zone, at)
}

fn label(lang: Lang, text: Option<&Bilingual>, fallback: &str) -> String {
    text.map_or_else(|| fallback.to_string(), |t| lang.pick(t).to_string())
}

fn countdown_span(lang: Lang, deadline: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    html! {
        span class={ "countdown " (Urgency::of(deadline, now).class()) } data-deadline=(deadline.to_rfc3339()) {
            (countdown(lang, deadline, now))
        }
    }
}

fn signals_text(lang: Lang, signals: &BTreeSet<Signal>) -> String {
    signals
        .iter()
        .map(|s| lang.msg(signal_label(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error a typed handler answered, as a fragment (`data-error` carries its code).
pub(crate) fn error_fragment(lang: Lang, error: &ApiError) -> Response<Body> {
    let (status, code, message) = error.describe();
    fragment(
        status,
        html! { p class="alert" role="alert" data-error=(code) { (lang.pick(&message)) } },
    )
}

// -------------------------------------------------------------------------- shell

pub(crate) fn shell<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    let settings = WebSettings::get();
    let config = &deps.config;
    let sso = html! {
        @if let (Some(domain), Some(client)) = (&settings.auth_domain, &settings.client_id) {
            p { button type="button" class="button primary" id="sso" data-auth-domain=(domain) data-client-id=(client) { (lang.msg(Msg::SsoSignIn)) } }
            p class="hint" { (lang.msg(Msg::OrPasteToken)) }
        }
    };
    let any = lang.msg(Msg::Any);
    let main = html! {
        h1 { (lang.msg(Msg::TeamConsole)) }
        (token_sign_in(lang, "/console", sso, Msg::ConsoleTokenHint))
        section id="workspace" hidden {
            (who_bar(lang))
            form id="filters" class="filters" {
                // The config's teams; the script preselects the signed-in member's own.
                label { (lang.msg(Msg::Team)) select name="team" {
                    @for t in config.routing.teams() { option value=(t.id) { (lang.pick(&t.name)) } }
                } }
                label { (lang.msg(Msg::Status)) select name="status" {
                    option value="" { (any) }
                    @for s in [TicketStatus::Received, TicketStatus::Acknowledged, TicketStatus::UnderAnalysis, TicketStatus::Reopened] {
                        option value=(s.as_str()) { (lang.pick(&s.label())) }
                    }
                } }
                label { (lang.msg(Msg::Priority)) select name="priority" {
                    option value="" { (any) }
                    @for p in [Priority::Critical, Priority::High, Priority::Normal, Priority::Low] {
                        option value=(p.as_str()) { (lang.msg(priority_label(p))) }
                    }
                } }
                label { (lang.msg(Msg::Category)) select name="category" {
                    option value="" { (any) }
                    @for c in config.classifier.categories() { option value=(c.id) { (lang.pick(&c.label)) } }
                } }
                label class="inline" { input type="checkbox" name="overdue" value="true"; " " (lang.msg(Msg::OverdueOnly)) }
                button type="submit" class="button" { (lang.msg(Msg::FilterShow)) }
            }
            p id="console-message" class="flash" role="status" hidden {}
            div id="queue" aria-live="polite" {}
            div id="ticket" {}
        }
    };
    let meta = PageMeta {
        lang,
        title: lang.msg(Msg::TeamConsole),
        name: "console",
        path: "/console",
    };
    let mut response = page_response(StatusCode::OK, &meta, main);
    // The hosted UI's token endpoint is the one other origin the script may call.
    if let Some(domain) = &settings.auth_domain {
        response
            .headers_mut()
            .remove(header::CONTENT_SECURITY_POLICY);
        secure_headers(&mut response, Some(domain));
    }
    response
}

// ------------------------------------------------------------------------- queue

pub(crate) async fn queue<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body>
where
    S: TeamQueue + Sync,
{
    let lang = Lang::of(request, None);
    match crate::tickets::queue_page(deps, request).await {
        Ok(view) => fragment(
            StatusCode::OK,
            queue_html(
                lang,
                &view,
                deps.config.sla.reporting_time_zone(),
                deps.clock.now(),
            ),
        ),
        Err(e) => error_fragment(lang, &e),
    }
}

/// The queue table of a [`QueuePageView`].
pub(crate) fn queue_html(lang: Lang, view: &QueuePageView, zone: Tz, now: DateTime<Utc>) -> Markup {
    html! {
        p class="queue-meta" {
            (lang.msg(Msg::Queue)) ": " strong { (label(lang, view.team_name.as_ref(), &view.team)) }
            " · " (view.tickets.len()) " " (lang.msg(Msg::OpenTicketsNearestFirst))
        }
        @if view.tickets.is_empty() {
            p class="empty" { (lang.msg(Msg::NothingHere)) }
        } @else {
            table class="queue" {
                thead { tr {
                    @for m in [Msg::Reference, Msg::NextDeadline, Msg::Status, Msg::Priority, Msg::Category, Msg::Signals] {
                        th { (lang.msg(m)) }
                    }
                } }
                tbody { @for t in &view.tickets { (queue_row(lang, t, zone, now)) } }
            }
            @if let Some(cursor) = &view.next_cursor {
                p { button type="button" class="button" data-cursor=(cursor) { (lang.msg(Msg::More)) } }
            }
        }
    }
}

fn queue_row(lang: Lang, t: &QueueItemView, zone: Tz, now: DateTime<Utc>) -> Markup {
    let e = &t.entry;
    let NextDeadline { at, kind, .. } = t.next;
    let urgency = Urgency::of(at, now);
    html! {
        tr class=(urgency.class()) data-reference=(e.reference) {
            td data-label=(lang.msg(Msg::Reference)) {
                a href={ "/console?ticket=" (e.reference) "&lang=" (lang.code()) } data-ticket=(e.reference) { (e.reference) }
                @match urgency {
                    Urgency::Overdue => { " " span class="badge overdue" { (lang.msg(Msg::Overdue)) } }
                    Urgency::Soon => { " " span class="badge soon" { (lang.msg(Msg::DueSoon)) } }
                    Urgency::Ok => {}
                }
                @if t.paused { " " span class="badge" { (lang.msg(Msg::Paused)) } }
            }
            td data-label=(lang.msg(Msg::NextDeadline)) {
                (countdown_span(lang, at, now))
                small { (lang.msg(deadline_label(kind))) " · " (time(lang, zone, &at)) }
            }
            td data-label=(lang.msg(Msg::Status)) { (lang.pick(&e.status.label())) }
            td data-label=(lang.msg(Msg::Priority)) {
                span class={ "badge priority-" (e.priority.as_str()) } { (lang.msg(priority_label(e.priority))) }
            }
            td data-label=(lang.msg(Msg::Category)) { (label(lang, t.category_label.as_ref(), &e.category)) }
            td data-label=(lang.msg(Msg::Signals)) { (signals_text(lang, &e.signals)) }
        }
    }
}

// ------------------------------------------------------------------------ ticket

pub(crate) async fn ticket<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    reference: &str,
) -> Response<Body>
where
    S: TicketStore + redress_domain::ports::AccessLog + Sync,
{
    let lang = Lang::of(request, None);
    match crate::tickets::ticket_page(deps, request, reference).await {
        Ok(view) => fragment(
            StatusCode::OK,
            ticket_html(lang, &view, &deps.config, deps.clock.now()),
        ),
        Err(e) => error_fragment(lang, &e),
    }
}

/// A ticket, its actions and its history, from a [`TicketView`].
pub(crate) fn ticket_html(
    lang: Lang,
    view: &TicketView,
    config: &DomainConfig,
    now: DateTime<Utc>,
) -> Markup {
    let zone = config.sla.reporting_time_zone();
    let t = &view.ticket;
    let c = &t.contact;
    let contact = [
        &c.name,
        &c.phone,
        &c.email,
        &c.customer_id,
        &c.loan_number,
        &c.national_id_masked,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect::<Vec<_>>()
    .join(" · ");
    let product = config.routing.product(&t.product).map_or_else(
        || t.product.to_string(),
        |p| lang.pick(&p.label).to_string(),
    );
    let deadline =
        |d: DateTime<Utc>| html! { (time(lang, zone, &d)) " " (countdown_span(lang, d, now)) };
    html! {
        article class="ticket" data-reference=(t.reference) data-version=(t.version) {
            p { a href={ "/console?lang=" (lang.code()) } data-back { (lang.msg(Msg::BackToQueue)) } }
            h2 {
                (t.reference) " "
                span class={ "badge status-" (t.status.as_str()) } id="ticket-status" { (lang.pick(&t.status.label())) } " "
                span class={ "badge priority-" (t.priority.as_str()) } { (lang.msg(priority_label(t.priority))) }
            }
            dl class="facts" {
                dt { (lang.msg(Msg::Team)) } dd { (label(lang, view.team_name.as_ref(), t.team.as_str())) }
                dt { (lang.msg(Msg::Category)) }
                dd { (label(lang, view.category_label.as_ref(), t.category.as_str())) " " small { "(" (t.classification_reason) ")" } }
                @if let Some(m) = &t.model {
                    // What the model made of the text, even when the borrower's choice or
                    // the triage queue decided: candidates with probabilities, and the
                    // terms that weighed most for its pick.
                    dt { (lang.msg(Msg::ModelCandidates)) }
                    dd id="model-candidates" {
                        @for (i, c) in m.candidates.iter().enumerate() {
                            @if i > 0 { " · " }
                            (label(lang, config.classifier.category(c.category.as_str()).map(|d| &d.label), c.category.as_str()))
                            " " (format!("{:.0}%", f64::from(c.permille) / 10.0))
                        }
                        @if !m.evidence.is_empty() {
                            br;
                            small { (lang.msg(Msg::Evidence)) ": " (m.evidence.join(" · ")) }
                        }
                    }
                }
                dt { (lang.msg(Msg::Product)) } dd { (product) }
                dt { (lang.msg(Msg::Channel)) } dd { (t.channel.as_str()) }
                dt { (lang.msg(Msg::ReceivedAt)) } dd { (time(lang, zone, &t.received_at)) }
                dt { (lang.msg(Msg::AcknowledgeBy)) } dd { (deadline(t.deadlines.acknowledge_by)) }
                dt { (lang.msg(Msg::ResolveBy)) } dd { (deadline(t.deadlines.resolve_by)) }
                dt { (lang.msg(Msg::NextDeadline)) }
                dd id="next-deadline" data-kind=(lang.msg(deadline_label(view.next.kind))) {
                    (lang.msg(deadline_label(view.next.kind))) " · " (deadline(view.next.at))
                }
                dt { (lang.msg(Msg::SlaPolicy)) } dd { (t.deadlines.policy) }
                dt { (lang.msg(Msg::Signals)) }
                dd {
                    @if t.signals.is_empty() { (lang.msg(Msg::NoneShown)) }
                    @for (i, s) in t.signals.iter().enumerate() {
                        @if i > 0 { " " }
                        span class="badge signal" { (lang.msg(signal_label(*s))) }
                    }
                }
                @if let Some(prev) = &t.repeat.previous_any {
                    dt { (lang.msg(Msg::RepeatOf)) } dd { (prev) }
                }
                dt { (lang.msg(Msg::Contact)) } dd { (contact) }
                dt { (lang.msg(Msg::Routing)) } dd { (t.routing_reason) }
                dt { (lang.msg(Msg::Version)) } dd { (t.version) }
            }
            section {
                h3 { (lang.msg(Msg::ComplaintText)) }
                p class="text" id="ticket-text" { (t.text) }
                @if let Some(o) = &t.desired_outcome {
                    h4 { (lang.msg(Msg::DesiredOutcome)) } p class="text" { (o) }
                }
                @if let Some(r) = &t.resolution {
                    h4 { (lang.msg(Msg::Resolution)) " (" (lang.msg(resolution_label(r.code))) ")" }
                    p class="text" { (r.summary) }
                }
            }
            (actions_html(lang, view, config))
            section {
                h3 { (lang.msg(Msg::History)) }
                ol class="history" {
                    @for e in view.history.iter().flatten() {
                        li {
                            time { (time(lang, zone, &e.at)) } " "
                            strong { (e.action) } " — " (e.actor.id) " (" (e.actor.role) ") · "
                            @if let Some(from) = e.from_status { (lang.pick(&from.label())) " → " }
                            (lang.pick(&e.to_status.label()))
                            small { (e.detail) }
                        }
                    }
                }
            }
        }
    }
}

/// The next step of the work, shown as the primary button when it is offered.
fn is_next_step(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Acknowledge
            | ActionKind::StartAnalysis
            | ActionKind::Resolve
            | ActionKind::Close
    )
}

/// One form per action the lifecycle allows (the view's `allowed_actions`), in the
/// lifecycle's order: the next step first.
fn actions_html(lang: Lang, view: &TicketView, config: &DomainConfig) -> Markup {
    let t = &view.ticket;
    let primary = view
        .allowed_actions
        .iter()
        .copied()
        .find(|k| is_next_step(*k));
    let reason =
        |name: &str, m: Msg| html! { label { (lang.msg(m)) textarea name=(name) rows="2" {} } };
    html! {
        section class="actions-panel" {
            h3 { (lang.msg(Msg::Actions)) }
            div id="action-message" role="alert" hidden {}
            @if view.allowed_actions.is_empty() { p class="empty" { (lang.msg(Msg::NoActions)) } }
            @for kind in &view.allowed_actions {
                form class="act" data-action=(kind.name()) {
                    input type="hidden" name="expected_version" value=(t.version);
                    @match kind {
                        ActionKind::Acknowledge | ActionKind::StartAnalysis | ActionKind::Resume => {}
                        ActionKind::Resolve => {
                            label { (lang.msg(Msg::Outcome)) select name="code" {
                                @for code in [ResolutionCode::Upheld, ResolutionCode::PartlyUpheld, ResolutionCode::NotUpheld, ResolutionCode::Withdrawn] {
                                    option value=(code.as_str()) { (lang.msg(resolution_label(code))) }
                                }
                            } }
                            (reason("summary", Msg::SummaryForBorrower))
                        }
                        ActionKind::AddNote => { (reason("text", Msg::InternalNote)) }
                        ActionKind::Transfer => {
                            label { (lang.msg(Msg::ToTeam)) select name="to_team" {
                                @for x in config.routing.teams().iter().filter(|x| x.id != t.team) {
                                    option value=(x.id) { (lang.pick(&x.name)) }
                                }
                            } }
                            (reason("reason", Msg::Reason))
                        }
                        ActionKind::Pause => { (reason("reason", Msg::PauseReason)) }
                        ActionKind::Extend => { (reason("reason", Msg::ExtensionReason)) }
                        ActionKind::Reopen | ActionKind::Close => { (reason("reason", Msg::Reason)) }
                    }
                    @let class = if primary == Some(*kind) { "button primary" } else { "button" };
                    button type="submit" class=(class) {
                        (lang.msg(action_label(*kind)))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Principal;
    use chrono::Duration;
    use redress_domain::lifecycle::{apply, Action, ActionContext};
    use redress_domain::ticket::{Actor, Ticket};

    fn member() -> Principal {
        Principal {
            user: "alice".into(),
            teams: vec!["billing".into()],
            manager: false,
            contact_access: false,
        }
    }

    /// A billing ticket as intake writes it, with a complaint text that is markup.
    fn ticket(config: &DomainConfig, now: DateTime<Utc>) -> Ticket {
        let json = serde_json::json!({
            "reference": "RD-261123-7KQ2M9XA", "status": "received", "received_at": now,
            "channel": "web", "product": "personal_loan", "language": "en",
            "category": "fees_interest", "category_source": "borrower",
            "classification_reason": "chosen on the form", "signals": ["repeat"],
            "team": "billing", "priority": "normal", "routing_rule": "fees",
            "routing_reason": "fees → billing",
            "deadlines": config.sla.get("cn-2020").unwrap().deadlines(now, Priority::Normal),
            "repeat": {"earlier_in_window": 0}, "contact": {"phone": "+8613812345678"},
            "consent_to_contact": true,
            "text": "<script>alert(1)</script>", "version": 1,
        });
        serde_json::from_value(json).expect("a ticket")
    }

    fn act(config: &DomainConfig, t: &Ticket, action: Action, now: DateTime<Utc>) -> Ticket {
        let actor = Actor {
            id: "alice".into(),
            role: "team_member".into(),
        };
        let ctx = ActionContext {
            actor: &actor,
            now,
            config,
        };
        apply(t, &action, &ctx).expect("the action applies").0
    }

    fn offered(html: &str) -> Vec<String> {
        html.split("data-action=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn an_acknowledged_ticket_offers_start_analysis_and_not_resolve() {
        let config = DomainConfig::bundled().unwrap();
        let now = "2026-11-23T02:00:00Z".parse().unwrap();
        let t = act(&config, &ticket(&config, now), Action::Acknowledge, now);
        let view = TicketView::new(&t, &member(), &config, now);
        let html = ticket_html(Lang::En, &view, &config, now).into_string();
        let offered = offered(&html);
        assert!(
            offered.contains(&"start_analysis".to_string()),
            "{offered:?}"
        );
        assert!(!offered.contains(&"resolve".to_string()), "{offered:?}");
        assert!(!offered.contains(&"acknowledge".to_string()), "{offered:?}");
        // Exactly the lifecycle's list, in its order.
        let names: Vec<_> = view.allowed_actions.iter().map(|k| k.name()).collect();
        assert_eq!(offered, names);
        assert!(html.contains("class=\"button primary\">Start analysis"));
    }

    #[test]
    fn complaint_text_is_shown_as_text_and_contact_details_masked() {
        let config = DomainConfig::bundled().unwrap();
        let now = "2026-11-23T02:00:00Z".parse().unwrap();
        let view = TicketView::new(&ticket(&config, now), &member(), &config, now);
        let html = ticket_html(Lang::Zh, &view, &config, now).into_string();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("13812345678"), "the phone is masked");
        assert!(html.contains("确认受理"));
    }

    #[test]
    fn the_model_candidates_and_evidence_are_shown_on_a_ticket() {
        let config = DomainConfig::bundled().unwrap();
        let now = "2026-11-23T02:00:00Z".parse().unwrap();
        let mut t = ticket(&config, now);
        let without = TicketView::new(&t, &member(), &config, now);
        assert!(!ticket_html(Lang::En, &without, &config, now)
            .into_string()
            .contains("model-candidates"));
        t.model = Some(
            serde_json::from_value(serde_json::json!({
                "top": {"category": "fees_interest", "permille": 612},
                "candidates": [
                    {"category": "fees_interest", "permille": 612},
                    {"category": "payments", "permille": 254}
                ],
                "evidence": ["late fee", "<b>charged</b>"],
                "disagrees": false
            }))
            .expect("a model opinion"),
        );
        let view = TicketView::new(&t, &member(), &config, now);
        let html = ticket_html(Lang::En, &view, &config, now).into_string();
        assert!(html.contains("Fees and interest 61%"), "{html}");
        assert!(html.contains(" · Payments and deductions 25%"), "{html}");
        assert!(
            html.contains("evidence: late fee · &lt;b&gt;charged&lt;/b&gt;"),
            "{html}"
        );
        let zh = ticket_html(Lang::Zh, &view, &config, now).into_string();
        assert!(zh.contains("模型候选类别"));
    }

    #[test]
    fn a_reopened_ticket_is_labelled_by_its_resolution_deadline_like_the_queue() {
        let config = DomainConfig::bundled().unwrap();
        let now: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
        let mut t = ticket(&config, now);
        for action in [
            Action::Acknowledge,
            Action::StartAnalysis,
            Action::Resolve {
                code: ResolutionCode::Upheld,
                summary: "refund".into(),
            },
            Action::Reopen {
                reason: "disputed".into(),
            },
        ] {
            t = act(&config, &t, action, now);
        }
        let later = now + Duration::days(1);
        let view = TicketView::new(&t, &member(), &config, later);
        assert_eq!(view.next.at, t.deadlines.resolve_by);
        let html = ticket_html(Lang::En, &view, &config, later).into_string();
        assert!(html.contains("data-kind=\"resolve\""), "{html}");
        // A reopened ticket is acknowledged again first.
        assert_eq!(offered(&html)[0], "acknowledge");
    }

    #[test]
    fn urgency_marks_overdue_and_due_soon() {
        let now: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
        assert_eq!(Urgency::of(now + Duration::hours(23), now), Urgency::Soon);
        assert_eq!(Urgency::of(now + Duration::hours(25), now), Urgency::Ok);
        assert_eq!(Urgency::of(now, now), Urgency::Overdue);
    }
}
