//! The borrower's pages: landing, complaint form, status look-up, survey.
//!
//! The form works without JavaScript: a plain url-encoded POST, answered with the form
//! again (values kept, each field's error beside it) or with the reference and status
//! secret. The rules are the API's own: the form becomes the JSON body of
//! `POST /complaints` and goes through [`Complaint::parse`](redress_domain::complaint::Complaint::parse)
//! and the same submit path ([`crate::complaints::accept`]).

use super::csrf::{self, CsrfKey};
use super::html::{esc, html_response, Lang, Page};
use super::{cookie, is_https, message_page, query, Form};
use crate::complaints::{accept, lookup};
use crate::http_error::ApiError;
use crate::views::ComplaintStatusView;
use crate::ApiDeps;
use chrono::{DateTime, FixedOffset, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use redress_domain::complaint::{FieldError, MAX_OUTCOME_CHARS, MAX_TEXT_CHARS};
use redress_domain::ports::{
    ComplaintLookup, ComplaintQueue, ComplaintState, SubmissionLog, SurveyLookup, SurveyQueue,
    TicketStore,
};
use redress_domain::reference::Reference;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// The borrower's contact fields, in form order: (field, English label, Chinese label,
/// input type, autocomplete).
const CONTACT_FIELDS: [(&str, &str, &str, &str, &str); 6] = [
    ("name", "Your name", "您的姓名", "text", "name"),
    ("phone", "Mobile phone", "手机号码", "tel", "tel"),
    ("email", "Email", "电子邮箱", "email", "email"),
    ("customer_id", "Customer number", "客户号", "text", "off"),
    (
        "loan_number",
        "Loan contract number",
        "借款合同号",
        "text",
        "off",
    ),
    (
        "national_id",
        "ID card number (18 characters)",
        "身份证号（18 位）",
        "text",
        "off",
    ),
];

/// Beijing time (China has no daylight saving, so a fixed offset is exact).
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// A time as a borrower reads it: Beijing time.
pub(crate) fn show_time(lang: Lang, at: &DateTime<Utc>) -> String {
    format!(
        "{} {}",
        at.with_timezone(&beijing()).format("%Y-%m-%d %H:%M"),
        lang.t("(Beijing time)", "（北京时间）")
    )
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

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        esc(name),
        esc(value)
    )
}

// ------------------------------------------------------------------------ landing

pub(crate) fn landing(request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    let l = lang.code();
    let main = format!(
        "<h1>{h}</h1><p class=\"lead\">{intro}</p>\
<ul class=\"cards\">\
<li><a href=\"/complain?lang={l}\"><strong>{c1}</strong><span>{c1d}</span></a></li>\
<li><a href=\"/status?lang={l}\"><strong>{c2}</strong><span>{c2d}</span></a></li>\
</ul>\
<h2>{staff}</h2><ul class=\"links\"><li><a href=\"/console?lang={l}\">{console}</a></li>\
<li><a href=\"/dashboard?lang={l}\">{dash}</a></li></ul>",
        h = esc(lang.t("Complaints about your loan", "借款投诉")),
        intro = esc(lang.t(
            "Tell us what went wrong. We give you a reference at once, route your complaint to the team responsible, and answer within the regulatory deadline.",
            "请告诉我们发生了什么。提交后您会立即获得投诉编号，我们会把投诉分派给负责的团队，并在监管规定的期限内答复。"
        )),
        c1 = esc(lang.t("Make a complaint", "提交投诉")),
        c1d = esc(lang.t("About collection, fees, payments, your credit report, privacy or service.", "关于催收、费用、还款扣款、征信、隐私或服务等问题。")),
        c2 = esc(lang.t("Check a complaint", "查询投诉进度")),
        c2d = esc(lang.t("With your reference and status secret.", "使用投诉编号和查询码。")),
        staff = esc(lang.t("Staff", "员工入口")),
        console = esc(lang.t("Team console", "团队工作台")),
        dash = esc(lang.t("Management dashboard", "管理报表")),
    );
    let page = Page {
        lang,
        title: lang.t("Complaints", "投诉服务"),
        name: "home",
        path: "/",
        main,
    };
    html_response(StatusCode::OK, page.render(), &[])
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
    banner: Option<&'a str>,
}

impl FormView<'_> {
    fn error_for(&self, slot: &str) -> Option<String> {
        let messages: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| error_slot(&e.field) == slot)
            .map(|e| self.lang.pick(&e.message))
            .collect();
        (!messages.is_empty()).then(|| messages.join(" "))
    }

    /// `aria` attributes and the error paragraph for a slot.
    fn error_parts(&self, slot: &str) -> (String, String) {
        match self.error_for(slot) {
            Some(m) => (
                format!(
                    " aria-invalid=\"true\" aria-describedby=\"err-{}\"",
                    esc(slot)
                ),
                format!(
                    "<p class=\"field-error\" id=\"err-{}\">{}</p>",
                    esc(slot),
                    esc(&m)
                ),
            ),
            None => (String::new(), String::new()),
        }
    }

    fn render<S, Q>(&self, deps: &ApiDeps<S, Q>) -> String {
        let lang = self.lang;
        let v = self.values;
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            "<h1>{}</h1><p class=\"lead\">{}</p>",
            esc(lang.t("Make a complaint", "提交投诉")),
            esc(lang.t(
                "Fields marked * are needed. We use your contact details only to handle this complaint.",
                "带 * 的为必填项。您的联系方式仅用于处理本次投诉。"
            ))
        );
        if let Some(b) = self.banner {
            let _ = write!(out, "<p class=\"alert\" role=\"alert\">{}</p>", esc(b));
        }
        if !self.errors.is_empty() {
            let _ = write!(
                out,
                "<div class=\"alert\" role=\"alert\" id=\"error-summary\"><p>{}</p><ul>",
                esc(lang.t("Please correct the following:", "请修改以下内容："))
            );
            for e in self.errors {
                let _ = write!(
                    out,
                    "<li><a href=\"#f-{}\">{}</a></li>",
                    esc(error_slot(&e.field)),
                    esc(lang.pick(&e.message))
                );
            }
            out.push_str("</ul></div>");
        }
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/complain\" class=\"stack\" novalidate>{}{}{}",
            hidden("csrf_token", self.token),
            hidden("submission_id", self.submission_id),
            hidden("lang", lang.code())
        );

        // Category: radio buttons with the plain-language descriptions from config.
        let (aria, err) = self.error_parts("category");
        let _ = write!(
            out,
            "<fieldset id=\"f-category\"{aria}><legend>{}</legend>{err}<div class=\"choices\">",
            esc(lang.t("What is your complaint about?", "您的投诉是关于什么的？"))
        );
        let chosen = v.get("category").unwrap_or("");
        for c in deps.config.classifier.categories() {
            let label = if c.id == "other" {
                lang.t("Something else, or not sure", "其他 / 不确定")
                    .to_string()
            } else {
                lang.pick(&c.label).to_string()
            };
            let _ = write!(
                out,
                "<label class=\"choice\"><input type=\"radio\" name=\"category\" value=\"{id}\"{checked}>\
<span><strong>{label}</strong><small>{desc}</small></span></label>",
                id = esc(c.id.as_str()),
                checked = if chosen == c.id { " checked" } else { "" },
                label = esc(&label),
                desc = esc(lang.pick(&c.description)),
            );
        }
        out.push_str("</div></fieldset>");

        // Product.
        let (aria, err) = self.error_parts("product");
        let _ = write!(
            out,
            "<div class=\"field\" id=\"f-product\"><label for=\"product\">{} *</label>{err}<select id=\"product\" name=\"product\"{aria}><option value=\"\">{}</option>",
            esc(lang.t("Which product?", "涉及哪种产品？")),
            esc(lang.t("— choose —", "— 请选择 —"))
        );
        let product = v.get("product").unwrap_or("");
        for p in deps.config.routing.products() {
            let _ = write!(
                out,
                "<option value=\"{}\"{}>{}</option>",
                esc(&p.id),
                if product == p.id { " selected" } else { "" },
                esc(lang.pick(&p.label))
            );
        }
        out.push_str("</select></div>");

        // The complaint text, with its limit shown (the script turns it into a counter).
        let (aria, err) = self.error_parts("text");
        let _ = write!(
            out,
            "<div class=\"field\" id=\"f-text\"><label for=\"text\">{} *</label><p class=\"hint\">{}</p>{err}\
<textarea id=\"text\" name=\"text\" rows=\"8\" maxlength=\"{max}\" data-counter=\"text-count\"{aria}>{}</textarea>\
<p class=\"counter\" id=\"text-count\" aria-live=\"polite\">{}</p></div>",
            esc(lang.t("What happened?", "发生了什么？")),
            esc(lang.t(
                "Say what happened, when, and who was involved. At least 10 characters.",
                "请说明发生了什么、什么时间、涉及谁。至少 10 个字。"
            )),
            esc(v.raw("text")),
            esc(&match lang {
                Lang::En => format!("Up to {MAX_TEXT_CHARS} characters"),
                Lang::Zh => format!("最多 {MAX_TEXT_CHARS} 字"),
            }),
            max = MAX_TEXT_CHARS,
        );

        let (aria, err) = self.error_parts("desired_outcome");
        let _ = write!(
            out,
            "<div class=\"field\" id=\"f-desired_outcome\"><label for=\"desired_outcome\">{}</label>{err}\
<textarea id=\"desired_outcome\" name=\"desired_outcome\" rows=\"3\" maxlength=\"{max}\"{aria}>{}</textarea></div>",
            esc(lang.t("What would you like us to do? (optional)", "您希望我们怎么处理？（选填）")),
            esc(v.raw("desired_outcome")),
            max = MAX_OUTCOME_CHARS,
        );

        // Contact details.
        let (aria, err) = self.error_parts("contact");
        let _ = write!(
            out,
            "<fieldset id=\"f-contact\"{aria}><legend>{}</legend><p class=\"hint\">{}</p>{err}",
            esc(lang.t("Your details", "您的信息")),
            esc(lang.t(
                "Give at least one of: phone, email, customer number, loan contract number or ID card number.",
                "请至少填写手机号、邮箱、客户号、借款合同号或身份证号中的一项。"
            ))
        );
        for (name, en, zh, kind, auto) in CONTACT_FIELDS {
            let (aria, err) = self.error_parts(name);
            let _ = write!(
                out,
                "<div class=\"field\" id=\"f-{name}\"><label for=\"{name}\">{}</label>{err}\
<input id=\"{name}\" name=\"{name}\" type=\"{kind}\" autocomplete=\"{auto}\" value=\"{}\"{aria}></div>",
                esc(lang.t(en, zh)),
                esc(v.raw(name)),
            );
        }
        out.push_str("</fieldset>");

        let (aria, err) = self.error_parts("consent");
        let consent = v.get("consent").unwrap_or("");
        let _ = write!(
            out,
            "<fieldset id=\"f-consent\"{aria}><legend>{} *</legend>{err}\
<label class=\"inline\"><input type=\"radio\" name=\"consent\" value=\"yes\"{}> {}</label>\
<label class=\"inline\"><input type=\"radio\" name=\"consent\" value=\"no\"{}> {}</label></fieldset>",
            esc(lang.t("May we contact you about this complaint?", "我们可以就本投诉联系您吗？")),
            if consent == "yes" { " checked" } else { "" },
            esc(lang.t("Yes", "可以")),
            if consent == "no" { " checked" } else { "" },
            esc(lang.t("No, reply only through the status page", "不可以，仅通过查询页面答复")),
        );
        if let Some(general) = self.error_for("") {
            let _ = write!(out, "<p class=\"field-error\">{}</p>", esc(&general));
        }
        let _ = write!(
            out,
            "<p><button type=\"submit\" class=\"button primary\">{}</button></p></form>",
            esc(lang.t("Send complaint", "提交投诉"))
        );
        out
    }
}

fn form_page<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    lang: Lang,
    status: StatusCode,
    values: &Form,
    errors: &[FieldError],
    banner: Option<&str>,
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
    let page = Page {
        lang,
        title: lang.t("Make a complaint", "提交投诉"),
        name: "complain",
        path: "/complain",
        main: view.render(deps),
    };
    html_response(status, page.render(), &cookies)
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
            lang.t("Something went wrong", "出错了"),
            lang.t(
                "The form could not be read. Please fill it in again.",
                "无法读取表单，请重新填写。",
            ),
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
            Some(lang.t(
                "This form had expired. Please check your answers and send it again.",
                "表单已过期。请检查填写内容后再次提交。",
            )),
        );
    }
    let body = complaint_json(&form, lang);
    // One rendered form is one complaint: pressing "send" twice gives the same reference.
    let key = form
        .get("submission_id")
        .filter(|k| k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    match accept(deps, &body, key).await {
        Ok(accepted) => {
            let reference = accepted.reference.as_str();
            let main = format!(
                "<h1>{h}</h1><p class=\"lead\">{intro}</p>\
<section class=\"keep\" aria-labelledby=\"keep-title\"><h2 id=\"keep-title\">{keep}</h2>\
<dl><dt>{ref_label}</dt><dd class=\"big\" id=\"reference\">{reference}</dd>\
<dt>{secret_label}</dt><dd class=\"big\" id=\"status-secret\">{secret}</dd>\
<dt>{received_label}</dt><dd>{received}</dd></dl><p>{why}</p></section>\
<p class=\"actions\"><button type=\"button\" class=\"button\" data-print>{print}</button> \
<a class=\"button primary\" id=\"status-link\" href=\"/status?reference={reference_q}&amp;lang={l}\">{check}</a></p>",
                h = esc(lang.t("Thank you — we have your complaint", "谢谢，我们已收到您的投诉")),
                intro = esc(lang.t(
                    "It goes to the team responsible now. We will acknowledge it and answer within the regulatory deadline.",
                    "投诉已转交负责的团队。我们会在监管规定的期限内确认并答复。"
                )),
                keep = esc(lang.t("Keep these two codes", "请保存以下两个号码")),
                ref_label = esc(lang.t("Reference", "投诉编号")),
                reference = esc(reference),
                secret_label = esc(lang.t("Status secret", "查询码")),
                secret = esc(&accepted.status_secret),
                received_label = esc(lang.t("Received", "收到时间")),
                received = esc(&show_time(lang, &accepted.received_at)),
                why = esc(lang.t(
                    "You need both to check progress. We cannot show the status secret again: print this page, save it as a PDF, or write the codes down.",
                    "查询进度需要两者。查询码不会再次显示：请打印本页、保存为 PDF，或抄下这两个号码。"
                )),
                print = esc(lang.t("Print or save", "打印或保存")),
                reference_q = esc(reference),
                l = lang.code(),
                check = esc(lang.t("Check its status", "查询进度")),
            );
            let page = Page {
                lang,
                title: lang.t("Complaint received", "投诉已收到"),
                name: "received",
                path: "/complain",
                main,
            };
            html_response(StatusCode::OK, page.render(), &[])
        }
        Err(ApiError::Validation(errors)) => {
            form_page(deps, request, lang, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None)
        }
        Err(ApiError::IdempotencyConflict) => form_page(
            deps,
            request,
            lang,
            StatusCode::CONFLICT,
            &form,
            &[],
            Some(lang.t(
                "This form was already sent with different answers. Check your answers and send again if this is a new complaint.",
                "此表单已用不同内容提交过。如果这是一项新的投诉，请检查后再次提交。",
            )),
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
                Some(lang.t(
                    "We could not take your complaint just now. Nothing was lost: please press send again in a minute.",
                    "暂时无法受理您的投诉，您填写的内容仍在。请稍后再次点击提交。",
                )),
            )
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
    problem: Option<&str>,
) -> Response<Body> {
    let (token, cookies) = page_token(deps, request);
    let mut main = format!(
        "<h1>{}</h1><p class=\"lead\">{}</p>",
        esc(lang.t("Check a complaint", "查询投诉进度")),
        esc(lang.t(
            "Enter the reference and the status secret you were given when you sent the complaint.",
            "请输入提交投诉时获得的投诉编号和查询码。"
        ))
    );
    if let Some(p) = problem {
        let _ = write!(main, "<p class=\"alert\" role=\"alert\">{}</p>", esc(p));
    }
    let _ = write!(
        main,
        "<form method=\"post\" action=\"/status\" class=\"stack\" novalidate>{}{}\
<div class=\"field\"><label for=\"reference\">{}</label><input id=\"reference\" name=\"reference\" autocomplete=\"off\" placeholder=\"RD-261123-7KQ2M9XA\" value=\"{}\"></div>\
<div class=\"field\"><label for=\"secret\">{}</label><input id=\"secret\" name=\"secret\" autocomplete=\"off\" placeholder=\"XXXX-XXXX-XXXX-XXXX\"></div>\
<p><button type=\"submit\" class=\"button primary\">{}</button></p></form>",
        hidden("csrf_token", &token),
        hidden("lang", lang.code()),
        esc(lang.t("Reference", "投诉编号")),
        esc(reference),
        esc(lang.t("Status secret", "查询码")),
        esc(lang.t("Show status", "查询")),
    );
    let page = Page {
        lang,
        title: lang.t("Check a complaint", "查询投诉进度"),
        name: "status",
        path: "/status",
        main,
    };
    html_response(status, page.render(), &cookies)
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
    if !csrf_ok(deps, request, &form) {
        return status_form_page(
            deps,
            request,
            lang,
            StatusCode::FORBIDDEN,
            raw_reference,
            Some(lang.t(
                "This page had expired. Please try again.",
                "页面已过期，请重试。",
            )),
        );
    }
    let not_found = lang.t(
        "No complaint matches this reference and status secret. Check both and try again.",
        "找不到与该投诉编号和查询码匹配的投诉。请核对后重试。",
    );
    let Ok(reference) = Reference::parse(raw_reference) else {
        return status_form_page(
            deps,
            request,
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            raw_reference,
            Some(lang.t(
                "A reference looks like RD-261123-7KQ2M9XA.",
                "投诉编号格式应类似 RD-261123-7KQ2M9XA。",
            )),
        );
    };
    let secret = form.get("secret").unwrap_or("");
    let view = match lookup(deps, &reference, secret).await {
        Ok(view) => view,
        Err(ApiError::ComplaintNotFound) => {
            return status_form_page(
                deps,
                request,
                lang,
                StatusCode::NOT_FOUND,
                raw_reference,
                Some(not_found),
            )
        }
        Err(e) => {
            drop(e.into_response());
            return status_form_page(
                deps,
                request,
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                raw_reference,
                Some(lang.t(
                    "We could not look this up just now. Please try again shortly.",
                    "暂时无法查询，请稍后重试。",
                )),
            );
        }
    };
    // The secret matched: the borrower may also read back their own complaint and our
    // answer (never the team's notes).
    let ticket = match deps.store.complaint_state(reference.as_str()).await {
        Ok(Some(ComplaintState::Ticketed(t))) => Some(t),
        _ => None,
    };
    let main = status_html(lang, &view, ticket.as_deref());
    let meta = super::layout::PageMeta {
        lang,
        title: lang.t("Your complaint", "您的投诉"),
        name: "status-result",
        path: "/status",
    };
    super::layout::page_response(StatusCode::OK, &meta, main)
}

/// The status page of a [`ComplaintStatusView`], with the complaint and our answer when
/// the secret let the borrower read them.
fn status_html(
    lang: Lang,
    view: &ComplaintStatusView,
    ticket: Option<&redress_domain::ticket::Ticket>,
) -> maud::Markup {
    maud::html! {
        h1 { (lang.t("Your complaint", "您的投诉")) }
        dl class="facts" {
            dt { (lang.t("Reference", "投诉编号")) } dd id="reference" { (view.reference) }
            dt { (lang.t("Status", "状态")) }
            dd { span class={ "badge status-" (view.status.as_str()) } id="status" { (lang.pick(&view.status_label)) } }
            dt { (lang.t("Received", "收到时间")) } dd { (show_time(lang, &view.received_at)) }
            @if let Some(team) = &view.team {
                dt { (lang.t("Handled by", "负责团队")) } dd id="team" { (lang.pick(team)) }
            }
            @if let Some(d) = &view.deadlines {
                dt { (lang.t("We acknowledge it by", "确认受理期限")) } dd { (show_time(lang, &d.acknowledge_by)) }
                dt { (lang.t("We answer it by", "答复期限")) } dd { (show_time(lang, &d.resolve_by)) }
            }
        }
        @if let Some(note) = &view.note { p class="note" { (lang.pick(note)) } }
        @if let Some(r) = ticket.and_then(|t| t.resolution.as_ref()) {
            section class="answer" {
                h2 { (lang.t("Our answer", "我们的答复")) }
                p class="text" id="resolution" { (r.summary) }
            }
        }
        @if let Some(t) = ticket {
            section {
                h2 { (lang.t("What you told us", "您的投诉内容")) }
                p class="text" id="complaint-text" { (t.text) }
            }
        }
        p { a href={ "/status?lang=" (lang.code()) } { (lang.t("Look up another complaint", "查询其他投诉")) } }
    }
}

// ------------------------------------------------------------------------- survey

fn as_refs(v: &[(String, String)]) -> Vec<(&str, String)> {
    v.iter().map(|(a, b)| (a.as_str(), b.clone())).collect()
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
    let error = |slots: &[&str]| -> String {
        errors
            .iter()
            .filter(|e| slots.contains(&e.field.as_str()))
            .map(|e| {
                format!(
                    "<p class=\"field-error\" id=\"err-{}\">{}</p>",
                    esc(&e.field),
                    esc(lang.pick(&e.message))
                )
            })
            .collect()
    };
    let radios = |name: &str, range: &[(&str, String)]| -> String {
        range
            .iter()
            .map(|(v, label)| {
                format!(
                    "<label class=\"inline\"><input type=\"radio\" name=\"{}\" value=\"{}\"{}> {}</label>",
                    esc(name),
                    esc(v),
                    if values.raw(name) == *v { " checked" } else { "" },
                    esc(label)
                )
            })
            .collect()
    };
    let scale = |n: std::ops::RangeInclusive<u8>| -> Vec<(String, String)> {
        n.map(|i| (i.to_string(), i.to_string())).collect()
    };
    let csat: Vec<(String, String)> = scale(1..=5);
    let nps: Vec<(String, String)> = scale(0..=10);
    let solved = [
        ("yes", lang.t("Yes", "是").to_string()),
        ("partly", lang.t("Partly", "部分解决").to_string()),
        ("no", lang.t("No", "否").to_string()),
    ];
    let mut main = format!(
        "<h1>{}</h1><p class=\"lead\">{}</p>",
        esc(lang.t("How did we do?", "您对处理结果满意吗？")),
        esc(lang.t(
            "Three quick questions about how we handled your complaint.",
            "关于投诉处理的三个简短问题。"
        ))
    );
    if !errors.is_empty() {
        let _ = write!(
            main,
            "<p class=\"alert\" role=\"alert\">{}</p>",
            esc(lang.t(
                "Please correct the answers marked below.",
                "请修改下方标出的回答。"
            ))
        );
    }
    let _ = write!(
        main,
        "<form method=\"post\" action=\"/survey\" class=\"stack\" novalidate>{}{}{}{}\
<fieldset id=\"f-csat\"><legend>{}</legend>{}<div>{}</div><p class=\"hint\">{}</p></fieldset>\
<fieldset id=\"f-nps\"><legend>{}</legend>{}<div>{}</div><p class=\"hint\">{}</p></fieldset>\
<fieldset id=\"f-solved\"><legend>{}</legend>{}{}</fieldset>\
<div class=\"field\"><label for=\"comment\">{}</label>{}<textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"2000\">{}</textarea></div>\
<p><button type=\"submit\" class=\"button primary\">{}</button></p></form>",
        hidden("csrf_token", &token),
        hidden("lang", lang.code()),
        hidden("token", values.raw("token")),
        error(&["token", ""]),
        esc(lang.t("How satisfied are you with how we handled your complaint?", "您对本次投诉的处理满意吗？")),
        error(&["csat"]),
        radios("csat", &as_refs(&csat)),
        esc(lang.t("1 = very dissatisfied, 5 = very satisfied", "1 = 非常不满意，5 = 非常满意")),
        esc(lang.t("How likely are you to recommend us to a friend?", "您向朋友推荐我们的可能性有多大？")),
        error(&["nps"]),
        radios("nps", &as_refs(&nps)),
        esc(lang.t("0 = not at all likely, 10 = extremely likely", "0 = 完全不可能，10 = 非常可能")),
        esc(lang.t("Was your problem solved?", "您的问题解决了吗？")),
        error(&["solved"]),
        radios("solved", &solved.iter().map(|(a, b)| (*a, b.clone())).collect::<Vec<_>>()),
        esc(lang.t("Anything else you want to tell us? (optional)", "还有什么想告诉我们的吗？（选填）")),
        error(&["comment"]),
        esc(values.raw("comment")),
        esc(lang.t("Send answers", "提交")),
    );
    let page = Page {
        lang,
        title: lang.t("Survey", "满意度调查"),
        name: "survey",
        path: "/survey",
        main,
    };
    html_response(status, page.render(), &cookies)
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
            lang.t("Survey", "满意度调查"),
            lang.t(
                "This page had expired. Please open the survey link again.",
                "页面已过期，请重新打开调查链接。",
            ),
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
            lang.t("Thank you", "谢谢"),
            lang.t(
                "Your answers are recorded. Thank you for helping us improve.",
                "您的回答已记录。感谢您帮助我们改进。",
            ),
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
            message_page(lang, status, lang.t("Survey", "满意度调查"), &text, "/")
        }
    }
}
