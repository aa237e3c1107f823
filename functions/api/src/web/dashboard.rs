//! The management dashboard.
//!
//! Reports need a manager's bearer token, which a plain page load cannot carry (the
//! token lives in sessionStorage, never in a cookie). So `/dashboard` is a public
//! shell, and its script fetches `/dashboard/view` with the token; that route (behind
//! the JWT authorizer) builds the reports through the same code as `GET /reports/…`
//! and renders the whole report area here — tables and SVG charts — as one HTML
//! fragment. We render the whole fragment rather than separate SVG routes so a
//! dashboard is one authorised request, every label goes through the one escaping
//! function on the server, and the browser runs no chart code. CSV comes from
//! `GET /reports/{kind}?format=csv`, fetched by the script with the same token.

use super::html::{esc, html_response, Lang, Page};
use super::query;
use super::svg::{bar_chart, line_chart, Bar, Series};
use crate::ApiDeps;
use chrono::{Duration, NaiveDate};
use lambda_http::http::StatusCode;
use lambda_http::RequestExt;
use lambda_http::{Body, Request, Response};
use redress_domain::ports::MetricsReader;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;

/// The reports, in the order the dashboard offers them.
pub const REPORTS: [(&str, &str, &str); 4] = [
    ("overview", "Overview", "总览"),
    ("satisfaction", "Satisfaction", "满意度"),
    ("repeat-complaints", "Repeat complaints", "重复投诉"),
    ("deadlines", "Deadlines", "时限达标"),
];

/// Groupings the reports accept.
pub const GROUPINGS: [(&str, &str, &str); 4] = [
    ("team", "Team", "团队"),
    ("category", "Category", "类别"),
    ("channel", "Channel", "渠道"),
    ("priority", "Priority", "优先级"),
];

/// At most this many points on the trend chart.
pub const TREND_POINTS: i64 = 8;

pub(crate) fn figure_label(lang: Lang, name: &str) -> String {
    let (en, zh) = match name {
        "csat" => ("CSAT (4–5)", "满意度 CSAT"),
        "average_csat" => ("Average CSAT", "平均满意度"),
        "nps" => ("NPS", "净推荐值 NPS"),
        "response_rate" => ("Survey response rate", "调查回复率"),
        "answers" => ("Survey answers", "答卷数"),
        "promoters" => ("Promoters", "推荐者"),
        "passives" => ("Passives", "中立者"),
        "detractors" => ("Detractors", "贬损者"),
        "sent" => ("Surveys sent", "发出调查"),
        "solved_yes" => ("Solved", "已解决"),
        "solved_partly" => ("Partly solved", "部分解决"),
        "solved_no" => ("Not solved", "未解决"),
        "repeat_rate_any" => ("Repeat rate", "重复投诉率"),
        "repeat_rate_same_category" => ("Repeat rate, same category", "同类重复投诉率"),
        "received" => ("Received", "受理量"),
        "reopened" => ("Reopened", "重新处理"),
        "acknowledged" => ("Acknowledged", "已确认"),
        "resolved" => ("Resolved", "已办结"),
        "acknowledged_on_time_rate" => ("Acknowledged on time", "按时确认率"),
        "resolved_on_time_rate" => ("Resolved on time", "按时办结率"),
        "median_minutes_to_acknowledge" => ("Median time to acknowledge", "确认用时中位数"),
        "p90_minutes_to_acknowledge" => ("P90 time to acknowledge", "确认用时 P90"),
        "median_minutes_to_resolve" => ("Median time to resolve", "办结用时中位数"),
        "p90_minutes_to_resolve" => ("P90 time to resolve", "办结用时 P90"),
        "overdue_now" => ("Overdue now", "当前逾期"),
        other => (other, other),
    };
    lang.t(en, zh).to_string()
}

/// The unit of a figure, from the report's definitions.
fn unit_of(report: &Value, name: &str) -> String {
    report
        .get("definitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|d| d.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|d| d.get("unit").and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// A figure's value as shown: `87.5 %`, `4.2`, `12`, `3 h 5 min`.
pub(crate) fn show_value(lang: Lang, unit: &str, v: Option<f64>) -> String {
    let Some(v) = v else { return "—".into() };
    match unit {
        "percent" => format!("{v:.1} %"),
        "score" => format!("{v:.2}"),
        "minutes" => {
            let m = v.round() as i64;
            match (m / 60, m % 60) {
                (0, m) => format!("{m} {}", lang.t("min", "分钟")),
                (h, m) if h < 48 => {
                    format!("{h} {} {m} {}", lang.t("h", "小时"), lang.t("min", "分"))
                }
                (h, _) => format!("{:.1} {}", h as f64 / 24.0, lang.t("days", "天")),
            }
        }
        _ => format!("{}", v.round() as i64),
    }
}

/// A change as shown: `+3.5 pt` for rates, `+4` for counts.
pub(crate) fn show_change(lang: Lang, unit: &str, change: Option<f64>) -> (String, &'static str) {
    let Some(c) = change else {
        return ("—".into(), "flat");
    };
    let dir = if c > 0.0 {
        "up"
    } else if c < 0.0 {
        "down"
    } else {
        "flat"
    };
    let text = match unit {
        "percent" => format!("{c:+.1} {}", lang.t("pt", "个百分点")),
        "score" => format!("{c:+.2}"),
        "minutes" => format!("{c:+.0} {}", lang.t("min", "分钟")),
        _ => format!("{:+}", c.round() as i64),
    };
    (text, dir)
}

fn figure<'a>(group: &'a Value, name: &str) -> Option<&'a Value> {
    group
        .get("figures")
        .and_then(Value::as_array)?
        .iter()
        .find(|f| f.get("name").and_then(Value::as_str) == Some(name))
}

fn value_of(group: &Value, name: &str, key: &str) -> Option<f64> {
    figure(group, name)
        .and_then(|f| f.get(key))
        .and_then(Value::as_f64)
}

fn group_label(lang: Lang, group: &Value) -> String {
    group
        .get("label")
        .and_then(|l| l.get(lang.code()))
        .and_then(Value::as_str)
        .or_else(|| group.get("key").and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// The period of the trend chart cut into at most [`TREND_POINTS`] equal buckets.
pub(crate) fn buckets(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let days = (to - from).num_days() + 1;
    if days < 1 {
        return vec![];
    }
    let size = (days + TREND_POINTS - 1) / TREND_POINTS;
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = (start + Duration::days(size - 1)).min(to);
        out.push((start, end));
        start = end + Duration::days(1);
    }
    out
}

// --------------------------------------------------------------------------- shell

pub(crate) fn shell<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    let today = deps.clock.now().date_naive();
    let from = today - Duration::days(29);
    let mut reports = String::new();
    for (id, en, zh) in REPORTS {
        let _ = write!(
            reports,
            "<option value=\"{id}\">{}</option>",
            esc(lang.t(en, zh))
        );
    }
    let mut groupings = String::new();
    for (id, en, zh) in GROUPINGS {
        let _ = write!(
            groupings,
            "<option value=\"{id}\">{}</option>",
            esc(lang.t(en, zh))
        );
    }
    let main = format!(
        "<h1>{title}</h1>\
<section id=\"signin\" class=\"panel\"><h2>{signin}</h2><p>{signin_text} <a href=\"/console?lang={l}\">{console}</a></p>\
<form id=\"token-form\" class=\"stack\"><div class=\"field\"><label for=\"token\">{paste}</label>\
<textarea id=\"token\" rows=\"3\" autocomplete=\"off\" spellcheck=\"false\"></textarea>\
<p class=\"hint\">{hint}</p></div><p><button type=\"submit\" class=\"button primary\">{go}</button></p></form></section>\
<section id=\"workspace\" hidden><p class=\"who\"><span id=\"who\"></span> <button type=\"button\" class=\"button small\" id=\"signout\">{out}</button></p>\
<form id=\"report-filters\" class=\"filters\">\
<label>{from_l}<input type=\"date\" name=\"from\" value=\"{from}\"></label>\
<label>{to_l}<input type=\"date\" name=\"to\" value=\"{to}\"></label>\
<label>{report_l}<select name=\"report\">{reports}</select></label>\
<label>{by_l}<select name=\"by\">{groupings}</select></label>\
<button type=\"submit\" class=\"button\">{show}</button></form>\
<p id=\"console-message\" class=\"flash\" role=\"status\" hidden></p><div id=\"report\" aria-live=\"polite\"></div></section>",
        title = esc(lang.t("Management dashboard", "管理报表")),
        signin = esc(lang.t("Sign in", "登录")),
        signin_text = esc(lang.t("Managers only. The sign-in is shared with the", "仅限管理人员。登录状态与")),
        console = esc(lang.t("team console", "团队工作台共用")),
        l = lang.code(),
        paste = esc(lang.t("Sign-in token", "登录令牌")),
        hint = esc(lang.t(
            "Locally: target/debug/redress token --user demo-manager --manager",
            "本地开发：target/debug/redress token --user demo-manager --manager"
        )),
        go = esc(lang.t("Sign in", "登录")),
        out = esc(lang.t("Sign out", "退出")),
        from_l = esc(lang.t("From", "开始")),
        to_l = esc(lang.t("To", "结束")),
        from = from.format("%Y-%m-%d"),
        to = today.format("%Y-%m-%d"),
        report_l = esc(lang.t("Report", "报表")),
        by_l = esc(lang.t("Group by", "分组")),
        show = esc(lang.t("Show", "查看")),
    );
    let page = Page {
        lang,
        title: lang.t("Management dashboard", "管理报表"),
        name: "dashboard",
        path: "/dashboard",
        main,
    };
    html_response(StatusCode::OK, page.render(), &[])
}

// ----------------------------------------------------------------------- rendering

/// The period-over-period table of a report's totals.
pub(crate) fn totals_table(lang: Lang, report: &Value) -> String {
    let mut out = format!(
        "<table class=\"figures\" id=\"totals\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(lang.t("Figure", "指标")),
        esc(lang.t("This period", "本期")),
        esc(lang.t("Previous", "上期")),
        esc(lang.t("Change", "变化")),
        esc(lang.t("Counts", "计数")),
    );
    let totals = report.get("totals").cloned().unwrap_or(Value::Null);
    for f in totals
        .get("figures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = f.get("name").and_then(Value::as_str).unwrap_or("");
        let unit = unit_of(report, name);
        let (change, dir) = show_change(lang, &unit, f.get("change").and_then(Value::as_f64));
        let counts = match (
            f.get("numerator").and_then(Value::as_i64),
            f.get("denominator").and_then(Value::as_i64),
        ) {
            (Some(n), Some(d)) if unit == "percent" || unit == "score" => format!("{n} / {d}"),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<tr data-figure=\"{n}\"><th scope=\"row\">{label}</th><td class=\"num\">{v}</td><td class=\"num\">{p}</td><td class=\"num change {dir}\">{change}</td><td class=\"num\">{counts}</td></tr>",
            n = esc(name),
            label = esc(&figure_label(lang, name)),
            v = esc(&show_value(lang, &unit, f.get("value").and_then(Value::as_f64))),
            p = esc(&show_value(lang, &unit, f.get("previous").and_then(Value::as_f64))),
            change = esc(&change),
            counts = esc(&counts),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// A report's groups as a table (one row per group, one column per figure).
pub(crate) fn groups_table(lang: Lang, report: &Value) -> String {
    let groups: Vec<&Value> = report
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let names: Vec<String> = report
        .get("totals")
        .and_then(|t| t.get("figures"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut out = String::from(
        "<div class=\"scroll\"><table class=\"figures\" id=\"groups\"><thead><tr><th></th>",
    );
    for n in &names {
        let _ = write!(out, "<th>{}</th>", esc(&figure_label(lang, n)));
    }
    out.push_str("</tr></thead><tbody>");
    for g in groups {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th>",
            esc(&group_label(lang, g))
        );
        for n in &names {
            let unit = unit_of(report, n);
            let _ = write!(
                out,
                "<td class=\"num\">{}</td>",
                esc(&show_value(lang, &unit, value_of(g, n, "value")))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// Bars of one figure across a report's groups, with last period's value as a tick.
pub(crate) fn bars_of(
    lang: Lang,
    report: &Value,
    name: &str,
    title: &str,
    max: Option<f64>,
) -> String {
    let unit = unit_of(report, name);
    let bars: Vec<Bar> = report
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| {
            let value = value_of(g, name, "value")?;
            Some(Bar {
                label: group_label(lang, g),
                value,
                shown: show_value(lang, &unit, Some(value)),
                previous: value_of(g, name, "previous"),
            })
        })
        .collect();
    bar_chart(title, &bars, max)
}

/// The trend chart from one overview report per bucket: CSAT and repeat rate.
pub(crate) fn trend_chart(lang: Lang, points: &[(String, Value)]) -> String {
    let labels: Vec<String> = points.iter().map(|(l, _)| l.clone()).collect();
    let totals = |name: &str| -> Vec<Option<f64>> {
        points
            .iter()
            .map(|(_, r)| r.get("totals").and_then(|t| value_of(t, name, "value")))
            .collect()
    };
    let csat_name = figure_label(lang, "csat");
    let repeat_name = figure_label(lang, "repeat_rate_any");
    line_chart(
        lang.t("CSAT and repeat rate over time", "满意度与重复投诉率趋势"),
        &labels,
        &[
            Series {
                name: &csat_name,
                values: totals("csat"),
            },
            Series {
                name: &repeat_name,
                values: totals("repeat_rate_any"),
            },
        ],
        100.0,
        "%",
    )
}

// ----------------------------------------------------------------------- the view

/// Runs `GET /reports/{kind}` in-process for the caller (same claims), for one period.
async fn fetch<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    kind: &str,
    from: &str,
    to: &str,
    by: &str,
) -> (StatusCode, Value)
where
    S: MetricsReader + Sync,
{
    let mut params = HashMap::new();
    params.insert("from".to_string(), from.to_string());
    params.insert("to".to_string(), to.to_string());
    params.insert("by".to_string(), by.to_string());
    let mut sub = Request::new(Body::Empty);
    if let Some(ctx) = request.request_context_ref() {
        sub = sub.with_request_context(ctx.clone());
    }
    let sub = sub.with_query_string_parameters(params);
    let answer = crate::reports::get(deps, &sub, kind)
        .await
        .unwrap_or_else(|e| e.into_response());
    super::console::read_json(answer)
}

/// `GET /dashboard/view?from=&to=&by=&report=` (JWT, managers): the report area.
pub(crate) async fn view<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body>
where
    S: MetricsReader + Sync,
{
    let lang = Lang::of(request, None);
    let today = deps.clock.now().date_naive();
    let default_from = (today - Duration::days(29)).format("%Y-%m-%d").to_string();
    let default_to = today.format("%Y-%m-%d").to_string();
    let from = query(request, "from").unwrap_or(&default_from).to_string();
    let to = query(request, "to").unwrap_or(&default_to).to_string();
    let by = query(request, "by")
        .filter(|b| GROUPINGS.iter().any(|g| g.0 == *b))
        .unwrap_or("team");
    let kind = query(request, "report")
        .filter(|k| REPORTS.iter().any(|r| r.0 == *k))
        .unwrap_or("overview");

    let (status, main) = fetch(deps, request, kind, &from, &to, by).await;
    if !status.is_success() {
        return super::console::error_fragment(lang, status, &main);
    }
    let (_, by_team) = fetch(deps, request, "deadlines", &from, &to, "team").await;
    let (_, by_category) = fetch(deps, request, "overview", &from, &to, "category").await;
    let mut trend = Vec::new();
    if let (Ok(f), Ok(t)) = (
        NaiveDate::parse_from_str(&from, "%Y-%m-%d"),
        NaiveDate::parse_from_str(&to, "%Y-%m-%d"),
    ) {
        for (a, b) in buckets(f, t) {
            let (s, r) = fetch(
                deps,
                request,
                "overview",
                &a.to_string(),
                &b.to_string(),
                "team",
            )
            .await;
            if s.is_success() {
                trend.push((a.format("%m-%d").to_string(), r));
            }
        }
    }
    let period = |r: &Value, key: &str| -> String {
        let p = r.get(key).cloned().unwrap_or(Value::Null);
        format!(
            "{} – {}",
            p.get("from").and_then(Value::as_str).unwrap_or(""),
            p.get("to").and_then(Value::as_str).unwrap_or("")
        )
    };
    let mut out = format!(
        "<p class=\"queue-meta\">{}: <strong>{}</strong> · {}: {}</p>",
        esc(lang.t("Period", "期间")),
        esc(&period(&main, "period")),
        esc(lang.t("compared with", "对比上期")),
        esc(&period(&main, "previous_period")),
    );
    let on_time = lang.t(
        "Resolved on time, by team (tick: previous period)",
        "各团队按时办结率（竖线：上期）",
    );
    let ack = lang.t("Acknowledged on time, by team", "各团队按时确认率");
    let volume = lang.t(
        "Complaints received, by category (tick: previous period)",
        "各类别投诉量（竖线：上期）",
    );
    let _ =
        write!(
        out,
        "<div class=\"charts\"><figure id=\"chart-trend\"><figcaption>{}</figcaption>{}</figure>\
<figure id=\"chart-on-time\"><figcaption>{}</figcaption>{}</figure>\
<figure id=\"chart-ack\"><figcaption>{}</figcaption>{}</figure>\
<figure id=\"chart-volume\"><figcaption>{}</figcaption>{}</figure></div>",
        esc(lang.t("CSAT and repeat rate over time", "满意度与重复投诉率趋势")),
        trend_chart(lang, &trend),
        esc(on_time),
        bars_of(lang, &by_team, "resolved_on_time_rate", on_time, Some(100.0)),
        esc(ack),
        bars_of(lang, &by_team, "acknowledged_on_time_rate", ack, Some(100.0)),
        esc(volume),
        bars_of(lang, &by_category, "received", volume, None),
    );
    let title = REPORTS
        .iter()
        .find(|r| r.0 == kind)
        .map(|r| lang.t(r.1, r.2))
        .unwrap_or(kind);
    let _ = write!(
        out,
        "<h2>{}</h2><h3>{}</h3>{}<h3>{}</h3>{}<h3>{}</h3><p class=\"downloads\">",
        esc(title),
        esc(lang.t("This period against the previous one", "本期与上期对比")),
        totals_table(lang, &main),
        esc(lang.t("By group", "分组")),
        groups_table(lang, &main),
        esc(lang.t("Download CSV", "下载 CSV")),
    );
    for (id, en, zh) in REPORTS {
        let url = format!("/reports/{id}?from={from}&to={to}&by={by}&format=csv");
        let _ = write!(
            out,
            "<button type=\"button\" class=\"button small\" data-csv=\"{}\" data-filename=\"{}\">{}</button>",
            esc(&url),
            esc(&format!("redress-{id}-{from}-{to}.csv")),
            esc(lang.t(en, zh))
        );
    }
    out.push_str("</p>");
    if let Some(defs) = main.get("definitions").and_then(Value::as_array) {
        let _ = write!(
            out,
            "<details><summary>{}</summary><dl class=\"facts\">",
            esc(lang.t("Definitions", "指标定义"))
        );
        for d in defs {
            let name = d.get("name").and_then(Value::as_str).unwrap_or("");
            let text = d
                .get(if lang == Lang::Zh {
                    "formula_zh"
                } else {
                    "formula_en"
                })
                .and_then(Value::as_str)
                .unwrap_or("");
            let _ = write!(
                out,
                "<dt>{}</dt><dd>{}</dd>",
                esc(&figure_label(lang, name)),
                esc(text)
            );
        }
        out.push_str("</dl></details>");
    }
    html_response(StatusCode::OK, out, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({
            "kind": "deadlines",
            "definitions": [{"name": "resolved_on_time_rate", "unit": "percent"}, {"name": "received", "unit": "count"}],
            "totals": {"key": "all", "label": {"en": "All", "zh": "全部"}, "figures": [
                {"name": "resolved_on_time_rate", "value": 75.0, "previous": 50.0, "change": 25.0, "numerator": 3, "denominator": 4},
                {"name": "received", "value": 4.0, "previous": 2.0, "change": 2.0, "numerator": 4, "denominator": 0}
            ]},
            "groups": [
                {"key": "billing", "label": {"en": "Billing <&>", "zh": "账务"}, "figures": [
                    {"name": "resolved_on_time_rate", "value": 100.0, "previous": null, "change": null, "numerator": 2, "denominator": 2}]},
                {"key": "care", "label": {"en": "Care", "zh": "客服"}, "figures": [
                    {"name": "resolved_on_time_rate", "value": 50.0, "previous": 50.0, "change": 0.0, "numerator": 1, "denominator": 2}]}
            ]
        })
    }

    #[test]
    fn the_totals_table_shows_value_previous_change_and_counts() {
        let html = totals_table(Lang::En, &report());
        assert!(html.contains("75.0 %") && html.contains("50.0 %") && html.contains("+25.0 pt"));
        assert!(html.contains("3 / 4"));
        assert!(html.contains("change up"));
    }

    #[test]
    fn bars_come_from_the_groups_with_escaped_labels() {
        let svg = bars_of(
            Lang::En,
            &report(),
            "resolved_on_time_rate",
            "On time",
            Some(100.0),
        );
        assert!(svg.contains("Billing &lt;&amp;&gt;"));
        assert!(svg.contains("100.0 %") && svg.contains("50.0 %"));
        // Only Care has a previous value: one tick.
        assert_eq!(svg.matches("<line").count(), 1);
    }

    #[test]
    fn a_period_is_cut_into_at_most_eight_buckets_covering_it() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let b = buckets(d("2026-11-01"), d("2026-11-30"));
        assert!(b.len() <= 8);
        assert_eq!(b.first().unwrap().0, d("2026-11-01"));
        assert_eq!(b.last().unwrap().1, d("2026-11-30"));
        for w in b.windows(2) {
            assert_eq!(w[0].1 + Duration::days(1), w[1].0);
        }
        assert_eq!(buckets(d("2026-11-05"), d("2026-11-05")).len(), 1);
    }

    #[test]
    fn values_read_in_their_units() {
        assert_eq!(show_value(Lang::En, "minutes", Some(185.0)), "3 h 5 min");
        assert_eq!(show_value(Lang::En, "percent", None), "—");
        assert_eq!(show_change(Lang::En, "count", Some(-2.0)).0, "-2");
    }
}
