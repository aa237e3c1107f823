//! The team console.
//!
//! `/console` is a public shell: a sign-in panel and empty areas. Its script keeps the
//! bearer token in sessionStorage (gone when the tab closes; never in a cookie, so no
//! request is authorised by ambient credentials and the JSON actions need no CSRF
//! token) and fetches `/console/queue` and `/console/tickets/{reference}` with it. Those
//! two routes sit behind the JWT authorizer and render HTML here, on the server, from
//! the very handlers of `GET /tickets` and `GET /tickets/{reference}` — so access
//! checks, masking and the deadline figures are the JSON API's, and every piece of text
//! goes through the one escaping function instead of being assembled in the browser.
//! Actions post JSON to `/tickets/{reference}/actions` with `expected_version`.

use super::html::{esc, html_response, secure_headers, Lang, Page};
use super::WebSettings;
use crate::ApiDeps;
use chrono::{DateTime, Utc};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use redress_domain::ports::{TeamQueue, TicketStore};
use redress_domain::ticket::TicketStatus;
use serde_json::Value;
use std::fmt::Write as _;

/// A deadline closer than this is marked "due soon".
pub const SOON_HOURS: i64 = 24;

/// Bilingual names of the signals.
pub(crate) fn signal_label(lang: Lang, id: &str) -> String {
    let (en, zh) = match id {
        "threat" => ("Threat", "威胁"),
        "vulnerability" => ("Vulnerable borrower", "弱势借款人"),
        "authority_mention" => ("Regulator / court / press", "提及监管、法院或媒体"),
        "third_party_harassment" => ("Third parties contacted", "骚扰第三方"),
        "fraud_in_progress" => ("Fraud in progress", "正在发生的欺诈"),
        "night_collection" => ("Night-time collection", "夜间催收"),
        "excessive_calls" => ("Excessive calls", "过度致电"),
        "repeat" => ("Repeat complaint", "重复投诉"),
        other => (other, other),
    };
    lang.t(en, zh).to_string()
}

fn priority_label(lang: Lang, p: &str) -> String {
    let (en, zh) = match p {
        "low" => ("Low", "低"),
        "normal" => ("Normal", "普通"),
        "high" => ("High", "高"),
        "critical" => ("Critical", "紧急"),
        other => (other, other),
    };
    lang.t(en, zh).to_string()
}

fn status_label(lang: Lang, s: &str) -> String {
    TicketStatus::parse(s)
        .map(|st| lang.pick(&st.label()).to_string())
        .unwrap_or_else(|| s.to_string())
}

/// "3 d 4 h left" / "overdue by 5 h" — the server's first rendering of the countdown
/// (the script keeps it ticking).
pub(crate) fn countdown(lang: Lang, deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (deadline - now).num_seconds();
    let a = secs.unsigned_abs();
    let (d, h, m) = (a / 86_400, (a % 86_400) / 3600, (a % 3600) / 60);
    let span = match lang {
        Lang::En if d > 0 => format!("{d} d {h} h"),
        Lang::En if h > 0 => format!("{h} h {m} min"),
        Lang::En => format!("{m} min"),
        Lang::Zh if d > 0 => format!("{d} 天 {h} 小时"),
        Lang::Zh if h > 0 => format!("{h} 小时 {m} 分"),
        Lang::Zh => format!("{m} 分钟"),
    };
    match (lang, secs < 0) {
        (Lang::En, true) => format!("overdue by {span}"),
        (Lang::En, false) => format!("{span} left"),
        (Lang::Zh, true) => format!("已逾期 {span}"),
        (Lang::Zh, false) => format!("剩余 {span}"),
    }
}

/// `overdue`, `soon` (under [`SOON_HOURS`]) or `ok`.
pub(crate) fn urgency(deadline: DateTime<Utc>, now: DateTime<Utc>) -> &'static str {
    if deadline <= now {
        "overdue"
    } else if deadline - now < chrono::Duration::hours(SOON_HOURS) {
        "soon"
    } else {
        "ok"
    }
}

fn time_of(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str).and_then(|s| s.parse().ok())
}

fn countdown_html(lang: Lang, deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "<span class=\"countdown {u}\" data-deadline=\"{iso}\">{text}</span>",
        u = urgency(deadline, now),
        iso = esc(&deadline.to_rfc3339()),
        text = esc(&countdown(lang, deadline, now))
    )
}

// -------------------------------------------------------------------------- shell

pub(crate) fn shell<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    let settings = WebSettings::get();
    let sso = match (&settings.auth_domain, &settings.client_id) {
        (Some(domain), Some(client)) => format!(
            "<p><button type=\"button\" class=\"button primary\" id=\"sso\" data-auth-domain=\"{}\" data-client-id=\"{}\">{}</button></p><p class=\"hint\">{}</p>",
            esc(domain),
            esc(client),
            esc(lang.t("Sign in with your staff account", "使用员工账号登录")),
            esc(lang.t("Or paste a token:", "或粘贴令牌："))
        ),
        _ => String::new(),
    };
    let mut teams = String::new();
    // The config's teams; the script preselects the signed-in member's own.
    let config = &deps.config;
    for t in config.routing.teams() {
        let _ = write!(
            teams,
            "<option value=\"{}\">{}</option>",
            esc(t.id.as_str()),
            esc(lang.pick(&t.name))
        );
    }
    let mut categories = String::new();
    for c in config.classifier.categories() {
        let _ = write!(
            categories,
            "<option value=\"{}\">{}</option>",
            esc(c.id.as_str()),
            esc(lang.pick(&c.label))
        );
    }
    let mut statuses = String::new();
    for s in ["received", "acknowledged", "under_analysis", "reopened"] {
        let _ = write!(
            statuses,
            "<option value=\"{s}\">{}</option>",
            esc(&status_label(lang, s))
        );
    }
    let mut priorities = String::new();
    for p in ["critical", "high", "normal", "low"] {
        let _ = write!(
            priorities,
            "<option value=\"{p}\">{}</option>",
            esc(&priority_label(lang, p))
        );
    }
    let any = esc(lang.t("any", "全部"));
    let main = format!(
        "<h1>{title}</h1>\
<section id=\"signin\" class=\"panel\"><h2>{signin}</h2>{sso}\
<form id=\"token-form\" class=\"stack\"><div class=\"field\"><label for=\"token\">{paste}</label>\
<textarea id=\"token\" rows=\"3\" autocomplete=\"off\" spellcheck=\"false\"></textarea>\
<p class=\"hint\">{hint}</p></div><p><button type=\"submit\" class=\"button primary\">{go}</button></p></form></section>\
<section id=\"workspace\" hidden><p class=\"who\"><span id=\"who\"></span> <button type=\"button\" class=\"button small\" id=\"signout\">{out}</button></p>\
<form id=\"filters\" class=\"filters\">\
<label>{team}<select name=\"team\">{teams}</select></label>\
<label>{status}<select name=\"status\"><option value=\"\">{any}</option>{statuses}</select></label>\
<label>{priority}<select name=\"priority\"><option value=\"\">{any}</option>{priorities}</select></label>\
<label>{category}<select name=\"category\"><option value=\"\">{any}</option>{categories}</select></label>\
<label class=\"inline\"><input type=\"checkbox\" name=\"overdue\" value=\"true\"> {overdue}</label>\
<button type=\"submit\" class=\"button\">{apply}</button></form>\
<p id=\"console-message\" class=\"flash\" role=\"status\" hidden></p>\
<div id=\"queue\" aria-live=\"polite\"></div><div id=\"ticket\"></div></section>",
        title = esc(lang.t("Team console", "团队工作台")),
        signin = esc(lang.t("Sign in", "登录")),
        paste = esc(lang.t("Sign-in token", "登录令牌")),
        hint = esc(lang.t(
            "Locally: target/debug/redress token --user alice --team billing. The token is kept in this tab only.",
            "本地开发：target/debug/redress token --user alice --team billing。令牌只保存在当前标签页。"
        )),
        go = esc(lang.t("Sign in", "登录")),
        out = esc(lang.t("Sign out", "退出")),
        team = esc(lang.t("Team", "团队")),
        status = esc(lang.t("Status", "状态")),
        priority = esc(lang.t("Priority", "优先级")),
        category = esc(lang.t("Category", "类别")),
        overdue = esc(lang.t("Overdue only", "仅显示逾期")),
        apply = esc(lang.t("Show", "筛选")),
    );
    let page = Page {
        lang,
        title: lang.t("Team console", "团队工作台"),
        name: "console",
        path: "/console",
        main,
    };
    let mut response = html_response(StatusCode::OK, page.render(), &[]);
    // The hosted UI's token endpoint is the one other origin the script may call.
    if let Some(domain) = &settings.auth_domain {
        response
            .headers_mut()
            .remove(header::CONTENT_SECURITY_POLICY);
        secure_headers(&mut response, Some(domain));
    }
    response
}

// ---------------------------------------------------------------------- fragments

/// Runs a JSON route's handler and reads its answer back: (status, body).
pub(crate) fn read_json(response: Response<Body>) -> (StatusCode, Value) {
    let status = response.status();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

/// An HTML fragment (inserted into the console page by its script).
fn fragment(status: StatusCode, html: String) -> Response<Body> {
    html_response(status, html, &[])
}

/// The error an API answer carried, as a fragment.
pub(crate) fn error_fragment(lang: Lang, status: StatusCode, body: &Value) -> Response<Body> {
    let message = body
        .get("message")
        .and_then(|m| m.get(lang.code()))
        .and_then(Value::as_str)
        .unwrap_or_else(|| lang.t("Something went wrong.", "出错了。"));
    let code = body.get("error").and_then(Value::as_str).unwrap_or("error");
    fragment(
        status,
        format!(
            "<p class=\"alert\" role=\"alert\" data-error=\"{}\">{}</p>",
            esc(code),
            esc(message)
        ),
    )
}

pub(crate) async fn queue<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body>
where
    S: TeamQueue + Sync,
{
    let lang = Lang::of(request, None);
    let now = deps.clock.now();
    let answer = crate::tickets::list(deps, request)
        .await
        .unwrap_or_else(|e| e.into_response());
    let (status, body) = read_json(answer);
    if !status.is_success() {
        return error_fragment(lang, status, &body);
    }
    let tickets = body
        .get("tickets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let team = body.get("team").and_then(Value::as_str).unwrap_or("");
    let team_name = deps
        .config
        .routing
        .team(team)
        .map(|t| lang.pick(&t.name).to_string())
        .unwrap_or_else(|| team.to_string());
    let mut out = format!(
        "<p class=\"queue-meta\">{}: <strong>{}</strong> · {} {}</p>",
        esc(lang.t("Queue", "队列")),
        esc(&team_name),
        tickets.len(),
        esc(lang.t(
            "open tickets, nearest deadline first",
            "个未结工单，按最近期限排序"
        ))
    );
    if tickets.is_empty() {
        let _ = write!(
            out,
            "<p class=\"empty\">{}</p>",
            esc(lang.t("Nothing here.", "没有工单。"))
        );
        return fragment(StatusCode::OK, out);
    }
    let _ = write!(
        out,
        "<table class=\"queue\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(lang.t("Reference", "编号")),
        esc(lang.t("Next deadline", "最近期限")),
        esc(lang.t("Status", "状态")),
        esc(lang.t("Priority", "优先级")),
        esc(lang.t("Category", "类别")),
        esc(lang.t("Signals", "信号")),
    );
    for t in &tickets {
        let reference = t.get("reference").and_then(Value::as_str).unwrap_or("");
        let deadline = time_of(t.get("next_deadline"));
        let row_class = deadline.map(|d| urgency(d, now)).unwrap_or("ok");
        let which = if t
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s == "received" || s == "reopened")
        {
            lang.t("acknowledge", "确认")
        } else {
            lang.t("resolve", "解决")
        };
        let deadline_html = deadline
            .map(|d| {
                format!(
                    "{}<small>{} · {}</small>",
                    countdown_html(lang, d, now),
                    esc(which),
                    esc(&super::borrower::show_time(lang, &d))
                )
            })
            .unwrap_or_default();
        let status = t.get("status").and_then(Value::as_str).unwrap_or("");
        let priority = t.get("priority").and_then(Value::as_str).unwrap_or("");
        let category = t
            .get("category_label")
            .and_then(|l| l.get(lang.code()))
            .and_then(Value::as_str)
            .or_else(|| t.get("category").and_then(Value::as_str))
            .unwrap_or("");
        let signals: Vec<String> = t
            .get("signals")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .map(|s| signal_label(lang, s))
                    .collect()
            })
            .unwrap_or_default();
        let mark = match row_class {
            "overdue" => format!(
                " <span class=\"badge overdue\">{}</span>",
                esc(lang.t("Overdue", "已逾期"))
            ),
            "soon" => format!(
                " <span class=\"badge soon\">{}</span>",
                esc(lang.t("Due < 24 h", "24 小时内到期"))
            ),
            _ => String::new(),
        };
        let paused = if t.get("paused").and_then(Value::as_bool).unwrap_or(false) {
            format!(
                " <span class=\"badge\">{}</span>",
                esc(lang.t("Paused", "已暂停"))
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr class=\"{row_class}\" data-reference=\"{r}\"><td data-label=\"{rl}\"><a href=\"/console?ticket={r}&amp;lang={l}\" data-ticket=\"{r}\">{r}</a>{mark}{paused}</td>\
<td data-label=\"{dl}\">{deadline_html}</td><td data-label=\"{sl}\">{status}</td><td data-label=\"{pl}\"><span class=\"badge priority-{p}\">{priority}</span></td>\
<td data-label=\"{cl}\">{category}</td><td data-label=\"{gl}\">{signals}</td></tr>",
            r = esc(reference),
            l = lang.code(),
            rl = esc(lang.t("Reference", "编号")),
            dl = esc(lang.t("Next deadline", "最近期限")),
            sl = esc(lang.t("Status", "状态")),
            pl = esc(lang.t("Priority", "优先级")),
            cl = esc(lang.t("Category", "类别")),
            gl = esc(lang.t("Signals", "信号")),
            status = esc(&status_label(lang, status)),
            p = esc(priority),
            priority = esc(&priority_label(lang, priority)),
            category = esc(category),
            signals = esc(&signals.join(", ")),
        );
    }
    out.push_str("</tbody></table>");
    if let Some(cursor) = body.get("next_cursor").and_then(Value::as_str) {
        let _ = write!(
            out,
            "<p><button type=\"button\" class=\"button\" data-cursor=\"{}\">{}</button></p>",
            esc(cursor),
            esc(lang.t("More", "更多"))
        );
    }
    fragment(StatusCode::OK, out)
}

fn action_form(action: &str, version: u64, label: &str, fields: &str, primary: bool) -> String {
    format!(
        "<form class=\"act\" data-action=\"{a}\"><input type=\"hidden\" name=\"expected_version\" value=\"{version}\">{fields}\
<button type=\"submit\" class=\"button{p}\">{label}</button></form>",
        a = esc(action),
        p = if primary { " primary" } else { "" },
        label = esc(label),
    )
}

fn reason_field(lang: Lang, name: &str, label_en: &str, label_zh: &str) -> String {
    format!(
        "<label>{}<textarea name=\"{}\" rows=\"2\"></textarea></label>",
        esc(lang.t(label_en, label_zh)),
        esc(name)
    )
}

pub(crate) async fn ticket<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    reference: &str,
) -> Response<Body>
where
    S: TicketStore + Sync,
{
    let lang = Lang::of(request, None);
    let now = deps.clock.now();
    let answer = crate::tickets::show(deps, request, reference)
        .await
        .unwrap_or_else(|e| e.into_response());
    let (status, t) = read_json(answer);
    if !status.is_success() {
        return error_fragment(lang, status, &t);
    }
    let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
    let version = t.get("version").and_then(Value::as_u64).unwrap_or(0);
    let reference = s("reference");
    let st = s("status");
    let mut out = format!(
        "<article class=\"ticket\" data-reference=\"{r}\" data-version=\"{version}\">\
<p><a href=\"/console?lang={l}\" data-back>{back}</a></p>\
<h2>{r} <span class=\"badge status-{st}\" id=\"ticket-status\">{stl}</span> <span class=\"badge priority-{p}\">{pl}</span></h2><dl class=\"facts\">",
        r = esc(reference),
        l = lang.code(),
        back = esc(lang.t("← Back to the queue", "← 返回队列")),
        st = esc(st),
        stl = esc(&status_label(lang, st)),
        p = esc(s("priority")),
        pl = esc(&priority_label(lang, s("priority"))),
    );
    let mut fact = |label: &str, value_html: String| {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(label), value_html);
    };
    let team_name = t
        .get("team_name")
        .and_then(|n| n.get(lang.code()))
        .and_then(Value::as_str)
        .unwrap_or(s("team"));
    fact(lang.t("Team", "团队"), esc(team_name));
    let cat = t
        .get("category_label")
        .and_then(|n| n.get(lang.code()))
        .and_then(Value::as_str)
        .unwrap_or(s("category"));
    fact(
        lang.t("Category", "类别"),
        format!(
            "{} <small>({})</small>",
            esc(cat),
            esc(s("classification_reason"))
        ),
    );
    let product = deps
        .config
        .routing
        .product(s("product"))
        .map(|p| lang.pick(&p.label).to_string())
        .unwrap_or_else(|| s("product").to_string());
    fact(lang.t("Product", "产品"), esc(&product));
    fact(lang.t("Channel", "渠道"), esc(s("channel")));
    if let Some(at) = time_of(t.get("received_at")) {
        fact(
            lang.t("Received", "收到时间"),
            esc(&super::borrower::show_time(lang, &at)),
        );
    }
    let deadlines = t.get("deadlines").cloned().unwrap_or(Value::Null);
    for (key, en, zh) in [
        ("acknowledge_by", "Acknowledge by", "确认期限"),
        ("resolve_by", "Resolve by", "解决期限"),
    ] {
        if let Some(d) = time_of(deadlines.get(key)) {
            fact(
                lang.t(en, zh),
                format!(
                    "{} {}",
                    esc(&super::borrower::show_time(lang, &d)),
                    countdown_html(lang, d, now)
                ),
            );
        }
    }
    fact(
        lang.t("SLA policy", "时限政策"),
        esc(deadlines
            .get("policy")
            .and_then(Value::as_str)
            .unwrap_or("")),
    );
    let signals: Vec<String> = t
        .get("signals")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(|x| signal_label(lang, x))
                .collect()
        })
        .unwrap_or_default();
    fact(
        lang.t("Signals", "信号"),
        if signals.is_empty() {
            esc(lang.t("none", "无"))
        } else {
            signals
                .iter()
                .map(|x| format!("<span class=\"badge signal\">{}</span>", esc(x)))
                .collect::<Vec<_>>()
                .join(" ")
        },
    );
    if let Some(prev) = t
        .get("repeat")
        .and_then(|r| r.get("previous_any"))
        .and_then(Value::as_str)
    {
        fact(lang.t("Repeat of", "重复投诉，之前的编号"), esc(prev));
    }
    let contact = t.get("contact").cloned().unwrap_or(Value::Null);
    let contact_text: Vec<String> = [
        "name",
        "phone",
        "email",
        "customer_id",
        "loan_number",
        "national_id_masked",
    ]
    .iter()
    .filter_map(|k| contact.get(*k).and_then(Value::as_str))
    .map(str::to_string)
    .collect();
    fact(
        lang.t("Contact", "联系方式"),
        esc(&contact_text.join(" · ")),
    );
    fact(lang.t("Routing", "分派"), esc(s("routing_reason")));
    fact(lang.t("Version", "版本"), version.to_string());
    out.push_str("</dl>");

    let _ = write!(
        out,
        "<section><h3>{}</h3><p class=\"text\" id=\"ticket-text\">{}</p>",
        esc(lang.t("Complaint", "投诉内容")),
        esc(s("text"))
    );
    if let Some(o) = t.get("desired_outcome").and_then(Value::as_str) {
        let _ = write!(
            out,
            "<h4>{}</h4><p class=\"text\">{}</p>",
            esc(lang.t("Desired outcome", "期望结果")),
            esc(o)
        );
    }
    if let Some(r) = t.get("resolution").filter(|r| !r.is_null()) {
        let _ = write!(
            out,
            "<h4>{} ({})</h4><p class=\"text\">{}</p>",
            esc(lang.t("Resolution", "处理结果")),
            esc(r.get("code").and_then(Value::as_str).unwrap_or("")),
            esc(r.get("summary").and_then(Value::as_str).unwrap_or(""))
        );
    }
    out.push_str("</section>");

    // Actions: the next step first, then the rest this stage allows.
    let _ = write!(out, "<section class=\"actions-panel\"><h3>{}</h3><div id=\"action-message\" role=\"alert\" hidden></div>", esc(lang.t("Actions", "操作")));
    let open = TicketStatus::parse(st).is_some_and(TicketStatus::is_open);
    let paused = t.get("paused").and_then(Value::as_bool).unwrap_or(false);
    match st {
        "received" | "reopened" => out.push_str(&action_form(
            "acknowledge",
            version,
            lang.t("Acknowledge", "确认受理"),
            "",
            true,
        )),
        "acknowledged" => out.push_str(&action_form(
            "start_analysis",
            version,
            lang.t("Start analysis", "开始调查"),
            "",
            true,
        )),
        _ => {}
    }
    if matches!(st, "acknowledged" | "under_analysis") {
        let codes = [
            ("upheld", "Upheld", "投诉成立"),
            ("partly_upheld", "Partly upheld", "部分成立"),
            ("not_upheld", "Not upheld", "不成立"),
            ("withdrawn", "Withdrawn", "撤回"),
        ];
        let options: String = codes
            .iter()
            .map(|(v, en, zh)| format!("<option value=\"{v}\">{}</option>", esc(lang.t(en, zh))))
            .collect();
        let fields = format!(
            "<label>{}<select name=\"code\">{options}</select></label>{}",
            esc(lang.t("Outcome", "结论")),
            reason_field(
                lang,
                "summary",
                "Summary for the borrower",
                "给借款人的答复"
            )
        );
        out.push_str(&action_form(
            "resolve",
            version,
            lang.t("Resolve", "解决"),
            &fields,
            st == "under_analysis",
        ));
    }
    if open {
        out.push_str(&action_form(
            "add_note",
            version,
            lang.t("Add note", "添加备注"),
            &reason_field(lang, "text", "Internal note", "内部备注"),
            false,
        ));
        let teams: String = deps
            .config
            .routing
            .teams()
            .iter()
            .filter(|x| x.id != s("team"))
            .map(|x| {
                format!(
                    "<option value=\"{}\">{}</option>",
                    esc(x.id.as_str()),
                    esc(lang.pick(&x.name))
                )
            })
            .collect();
        let fields = format!(
            "<label>{}<select name=\"to_team\">{teams}</select></label>{}",
            esc(lang.t("To team", "转至团队")),
            reason_field(lang, "reason", "Reason", "原因")
        );
        out.push_str(&action_form(
            "transfer",
            version,
            lang.t("Transfer", "转派"),
            &fields,
            false,
        ));
        if paused {
            out.push_str(&action_form(
                "resume",
                version,
                lang.t("Resume the clock", "恢复计时"),
                "",
                false,
            ));
        } else {
            out.push_str(&action_form(
                "pause",
                version,
                lang.t("Pause the clock", "暂停计时"),
                &reason_field(
                    lang,
                    "reason",
                    "Waiting for the borrower because…",
                    "等待借款人的原因",
                ),
                false,
            ));
        }
        if t.get("extension").is_none_or(Value::is_null) {
            out.push_str(&action_form(
                "extend",
                version,
                lang.t("Extend the deadline", "延长期限"),
                &reason_field(lang, "reason", "Reason for the extension", "延期原因"),
                false,
            ));
        }
    } else {
        out.push_str(&action_form(
            "reopen",
            version,
            lang.t("Reopen", "重新打开"),
            &reason_field(lang, "reason", "Reason", "原因"),
            false,
        ));
        if st == "resolved" {
            out.push_str(&action_form(
                "close",
                version,
                lang.t("Close", "结案"),
                &reason_field(lang, "reason", "Reason", "原因"),
                false,
            ));
        }
    }
    out.push_str("</section>");

    let _ = write!(
        out,
        "<section><h3>{}</h3><ol class=\"history\">",
        esc(lang.t("History", "处理记录"))
    );
    for e in t
        .get("history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let at = time_of(e.get("at"))
            .map(|a| super::borrower::show_time(lang, &a))
            .unwrap_or_default();
        let actor = e.get("actor").cloned().unwrap_or(Value::Null);
        let from = e
            .get("from_status")
            .and_then(Value::as_str)
            .map(|x| status_label(lang, x));
        let to = e
            .get("to_status")
            .and_then(Value::as_str)
            .map(|x| status_label(lang, x))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<li><time>{}</time> <strong>{}</strong> — {} ({}) · {}{}<small>{}</small></li>",
            esc(&at),
            esc(e.get("action").and_then(Value::as_str).unwrap_or("")),
            esc(actor.get("id").and_then(Value::as_str).unwrap_or("")),
            esc(actor.get("role").and_then(Value::as_str).unwrap_or("")),
            from.map(|f| format!("{} → ", esc(&f))).unwrap_or_default(),
            esc(&to),
            esc(e.get("detail").and_then(Value::as_str).unwrap_or("")),
        );
    }
    out.push_str("</ol></section></article>");
    fragment(StatusCode::OK, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn countdowns_say_how_long_is_left_or_how_late_it_is() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        assert_eq!(
            countdown(Lang::En, now + Duration::hours(50), now),
            "2 d 2 h left"
        );
        assert_eq!(
            countdown(Lang::En, now - Duration::minutes(90), now),
            "overdue by 1 h 30 min"
        );
        assert_eq!(
            countdown(Lang::Zh, now + Duration::minutes(5), now),
            "剩余 5 分钟"
        );
        assert_eq!(urgency(now + Duration::hours(23), now), "soon");
        assert_eq!(urgency(now + Duration::hours(25), now), "ok");
        assert_eq!(urgency(now, now), "overdue");
    }
}
