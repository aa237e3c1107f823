//! The management dashboard.
//!
//! Reports need a manager's bearer token, which a plain page load cannot carry (the
//! token lives in sessionStorage, never in a cookie). So `/dashboard` is a public
//! shell, and its script fetches `/dashboard/view` with the token; that route (behind
//! the JWT authorizer) builds a [`DashboardView`] — every report and chart of the page
//! from ONE read of the counters ([`crate::reports::dashboard`]) — and renders the whole
//! report area here, tables and SVG charts, as one fragment. One authorised request,
//! every label escaped by the templates, no chart code in the browser. CSV comes from
//! `GET /reports/{kind}?format=csv`, fetched by the script with the same token.

use super::console::error_fragment;
use super::html::Lang;
use super::layout::{fragment, page_response, token_sign_in, who_bar, PageMeta};
use super::messages::{figure_label, Msg};
use super::svg::{bar_chart, line_chart, Bar, Series};
use crate::views::DashboardView;
use crate::ApiDeps;
use chrono::Duration;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use maud::{html, Markup};
use redress_domain::metrics::Dimension;
use redress_domain::ports::MetricsReader;
use redress_domain::report::{Group, Report, ReportKind};

/// The reports, in the order the dashboard offers them.
pub const REPORTS: [ReportKind; 4] = [
    ReportKind::Overview,
    ReportKind::Satisfaction,
    ReportKind::RepeatComplaints,
    ReportKind::Deadlines,
];

/// Groupings the reports accept.
pub const GROUPINGS: [Dimension; 4] = [
    Dimension::Team,
    Dimension::Category,
    Dimension::Channel,
    Dimension::Priority,
];

fn report_name(kind: ReportKind) -> Msg {
    match kind {
        ReportKind::Overview => Msg::ReportOverview,
        ReportKind::Satisfaction => Msg::ReportSatisfaction,
        ReportKind::RepeatComplaints => Msg::ReportRepeat,
        ReportKind::Deadlines => Msg::ReportDeadlines,
    }
}

fn grouping_name(by: Dimension) -> Msg {
    match by {
        Dimension::Category => Msg::Category,
        Dimension::Channel => Msg::Channel,
        Dimension::Priority => Msg::Priority,
        _ => Msg::Team,
    }
}

/// The unit of a figure, from the report's definitions.
fn unit_of<'a>(report: &'a Report, name: &str) -> &'a str {
    report
        .definitions
        .iter()
        .find(|d| d.name == name)
        .map_or("", |d| d.unit.as_str())
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
                (0, m) => format!("{m} {}", lang.msg(Msg::UnitMin)),
                (h, m) if h < 48 => format!(
                    "{h} {} {m} {}",
                    lang.msg(Msg::UnitHour),
                    lang.msg(Msg::UnitMinShort)
                ),
                (h, _) => format!("{:.1} {}", h as f64 / 24.0, lang.msg(Msg::UnitDays)),
            }
        }
        _ => format!("{}", v.round() as i64),
    }
}

/// A change as shown, and its direction (CSS class): `+3.5 pt` for rates, `+4` for counts.
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
        "percent" => format!("{c:+.1} {}", lang.msg(Msg::UnitPoints)),
        "score" => format!("{c:+.2}"),
        "minutes" => format!("{c:+.0} {}", lang.msg(Msg::UnitMin)),
        _ => format!("{:+}", c.round() as i64),
    };
    (text, dir)
}

fn value_of(group: &Group, name: &str) -> Option<f64> {
    group.figures.iter().find(|f| f.name == name)?.value
}

fn previous_of(group: &Group, name: &str) -> Option<f64> {
    group.figures.iter().find(|f| f.name == name)?.previous
}

// --------------------------------------------------------------------------- shell

pub(crate) fn shell<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body> {
    let lang = Lang::of(request, None);
    // Today where the reports count days (the reporting time zone), not in UTC: from
    // 16:00 UTC a Shanghai-day report's newest day is already tomorrow's UTC date.
    let today = deps
        .clock
        .now()
        .with_timezone(&deps.config.sla.reporting_time_zone())
        .date_naive();
    let from = today - Duration::days(29);
    let intro = html! {
        p { (lang.msg(Msg::ManagersOnly)) " " a href={ "/console?lang=" (lang.code()) } { (lang.msg(Msg::TeamConsoleShared)) } }
    };
    let main = html! {
        h1 { (lang.msg(Msg::ManagementDashboard)) }
        (token_sign_in(lang, "/dashboard", intro, Msg::DashboardTokenHint))
        section id="workspace" hidden {
            (who_bar(lang))
            form id="report-filters" class="filters" {
                label { (lang.msg(Msg::From)) input type="date" name="from" value=(from.format("%Y-%m-%d")); }
                label { (lang.msg(Msg::To)) input type="date" name="to" value=(today.format("%Y-%m-%d")); }
                label { (lang.msg(Msg::Report)) select name="report" {
                    @for kind in REPORTS { option value=(kind.as_str()) { (lang.msg(report_name(kind))) } }
                } }
                label { (lang.msg(Msg::GroupBy)) select name="by" {
                    @for by in GROUPINGS { option value=(by.as_str()) { (lang.msg(grouping_name(by))) } }
                } }
                button type="submit" class="button" { (lang.msg(Msg::ReportShow)) }
            }
            p id="console-message" class="flash" role="status" hidden {}
            div id="report" aria-live="polite" {}
        }
    };
    let meta = PageMeta {
        lang,
        title: lang.msg(Msg::ManagementDashboard),
        name: "dashboard",
        path: "/dashboard",
    };
    page_response(StatusCode::OK, &meta, main)
}

// ----------------------------------------------------------------------- rendering

/// The period-over-period table of a report's totals.
pub(crate) fn totals_table(lang: Lang, report: &Report) -> Markup {
    html! {
        table class="figures" id="totals" {
            thead { tr { @for m in [Msg::Figure, Msg::ThisPeriod, Msg::Previous, Msg::Change, Msg::Counts] { th { (lang.msg(m)) } } } }
            tbody {
                @for f in &report.totals.figures {
                    @let unit = unit_of(report, &f.name);
                    @let (change, dir) = show_change(lang, unit, f.change);
                    tr data-figure=(f.name) {
                        th scope="row" { (figure_label(lang, &f.name)) }
                        td class="num" { (show_value(lang, unit, f.value)) }
                        td class="num" { (show_value(lang, unit, f.previous)) }
                        td class={ "num change " (dir) } { (change) }
                        td class="num" {
                            @if unit == "percent" || unit == "score" { (f.numerator) " / " (f.denominator) }
                        }
                    }
                }
            }
        }
    }
}

/// A report's groups as a table (one row per group, one column per figure).
pub(crate) fn groups_table(lang: Lang, report: &Report) -> Markup {
    let names: Vec<&str> = report
        .totals
        .figures
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    html! {
        div class="scroll" {
            table class="figures" id="groups" {
                thead { tr { th {} @for n in &names { th { (figure_label(lang, n)) } } } }
                tbody {
                    @for g in &report.groups {
                        tr {
                            th scope="row" { (lang.pick(&g.label)) }
                            @for n in &names { td class="num" { (show_value(lang, unit_of(report, n), value_of(g, n))) } }
                        }
                    }
                }
            }
        }
    }
}

/// Bars of one figure across a report's groups, with last period's value as a tick.
pub(crate) fn bars_of(
    lang: Lang,
    report: &Report,
    name: &str,
    title: &str,
    max: Option<f64>,
) -> Markup {
    let unit = unit_of(report, name);
    let bars: Vec<Bar> = report
        .groups
        .iter()
        .filter_map(|g| {
            let value = value_of(g, name)?;
            Some(Bar {
                label: lang.pick(&g.label).to_string(),
                value,
                shown: show_value(lang, unit, Some(value)),
                previous: previous_of(g, name),
            })
        })
        .collect();
    bar_chart(title, &bars, max)
}

/// The trend chart from one overview report per bucket: CSAT and repeat rate.
pub(crate) fn trend_chart(lang: Lang, points: &[Report]) -> Markup {
    let labels: Vec<String> = points
        .iter()
        .map(|r| r.period.from.format("%m-%d").to_string())
        .collect();
    let totals = |name: &str| -> Vec<Option<f64>> {
        points.iter().map(|r| value_of(&r.totals, name)).collect()
    };
    line_chart(
        lang.msg(Msg::ChartTrend),
        &labels,
        &[
            Series {
                name: figure_label(lang, "csat"),
                values: totals("csat"),
            },
            Series {
                name: figure_label(lang, "repeat_rate_any"),
                values: totals("repeat_rate_any"),
            },
        ],
        100.0,
        "%",
    )
}

// ----------------------------------------------------------------------- the view

/// `GET /dashboard/view?from=&to=&by=&report=` (JWT, managers): the report area.
pub(crate) async fn view<S, Q>(deps: &ApiDeps<S, Q>, request: &Request) -> Response<Body>
where
    S: MetricsReader + Sync,
{
    let lang = Lang::of(request, None);
    let kind = super::query(request, "report")
        .filter(|k| REPORTS.iter().any(|r| r.as_str() == *k))
        .unwrap_or("overview");
    let query = match crate::reports::report_query(deps, request, kind) {
        Ok(q) => q,
        Err(e) => return error_fragment(lang, &e),
    };
    match crate::reports::dashboard(deps, &query).await {
        Ok(view) => fragment(StatusCode::OK, dashboard_html(lang, &view)),
        Err(e) => error_fragment(lang, &e),
    }
}

/// The report area of a [`DashboardView`]: charts, the report's tables, CSV downloads
/// and definitions. `data-items-read` tells what the view cost (counters and the live
/// overdue figure).
pub(crate) fn dashboard_html(lang: Lang, view: &DashboardView) -> Markup {
    let main = &view.main;
    let q = &view.query;
    let (on_time, ack, volume) = (
        lang.msg(Msg::ChartOnTime),
        lang.msg(Msg::ChartAck),
        lang.msg(Msg::ChartVolume),
    );
    html! {
        div class="dashboard-view" data-items-read=(view.cost.items) data-queries=(view.cost.queries) {
            p class="queue-meta" {
                (lang.msg(Msg::Period)) ": " strong { (main.period.from) " – " (main.period.to) }
                " · " (lang.msg(Msg::ComparedWith)) ": " (main.previous_period.from) " – " (main.previous_period.to)
            }
            div class="charts" {
                figure id="chart-trend" { figcaption { (lang.msg(Msg::ChartTrend)) } (trend_chart(lang, &view.trend)) }
                figure id="chart-on-time" { figcaption { (on_time) } (bars_of(lang, &view.by_team, "resolved_on_time_rate", on_time, Some(100.0))) }
                figure id="chart-ack" { figcaption { (ack) } (bars_of(lang, &view.by_team, "acknowledged_on_time_rate", ack, Some(100.0))) }
                figure id="chart-volume" { figcaption { (volume) } (bars_of(lang, &view.by_category, "received", volume, None)) }
            }
            h2 { (lang.msg(report_name(main.kind))) }
            h3 { (lang.msg(Msg::ThisVsPrevious)) }
            (totals_table(lang, main))
            h3 { (lang.msg(Msg::ByGroup)) }
            (groups_table(lang, main))
            h3 { (lang.msg(Msg::DownloadCsv)) }
            p class="downloads" {
                @for kind in REPORTS {
                    @let (id, from, to) = (kind.as_str(), q.period.from, q.period.to);
                    button type="button" class="button small"
                        data-csv={ "/reports/" (id) "?from=" (from) "&to=" (to) "&by=" (q.by.as_str()) "&format=csv" }
                        data-filename={ "redress-" (id) "-" (from) "-" (to) ".csv" } { (lang.msg(report_name(kind))) }
                }
            }
            details {
                summary { (lang.msg(Msg::Definitions)) }
                dl class="facts" {
                    @for d in &main.definitions {
                        dt { (figure_label(lang, &d.name)) }
                        dd { (if lang == Lang::Zh { &d.formula_zh } else { &d.formula_en }) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redress_domain::report::{Definition, Figure, Period};
    use redress_domain::Bilingual;

    fn figure(name: &str, value: f64, previous: Option<f64>, n: i64, d: i64) -> Figure {
        Figure {
            name: name.into(),
            value: Some(value),
            previous,
            change: previous.map(|p| value - p),
            numerator: n,
            denominator: d,
        }
    }

    fn group(key: &str, en: &str, figures: Vec<Figure>) -> Group {
        Group {
            key: key.into(),
            label: Bilingual {
                en: en.into(),
                zh: key.into(),
            },
            figures,
        }
    }

    fn report() -> Report {
        let period = Period {
            from: "2026-11-01".parse().unwrap(),
            to: "2026-11-30".parse().unwrap(),
        };
        let definition = |name: &str, unit: &str| Definition {
            name: name.into(),
            unit: unit.into(),
            formula_en: "f".into(),
            formula_zh: "f".into(),
        };
        Report {
            kind: ReportKind::Deadlines,
            period,
            previous_period: period.previous(),
            group_by: Dimension::Team,
            definitions: vec![
                definition("resolved_on_time_rate", "percent"),
                definition("received", "count"),
            ],
            totals: group(
                "all",
                "All",
                vec![
                    figure("resolved_on_time_rate", 75.0, Some(50.0), 3, 4),
                    figure("received", 4.0, Some(2.0), 4, 0),
                ],
            ),
            groups: vec![
                group(
                    "billing",
                    "Billing <&>",
                    vec![figure("resolved_on_time_rate", 100.0, None, 2, 2)],
                ),
                group(
                    "care",
                    "Care",
                    vec![figure("resolved_on_time_rate", 50.0, Some(50.0), 1, 2)],
                ),
            ],
        }
    }

    #[test]
    fn the_totals_table_shows_value_previous_change_and_counts() {
        let html = totals_table(Lang::En, &report()).into_string();
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
        )
        .into_string();
        assert!(svg.contains("Billing &lt;&amp;&gt;"));
        assert!(svg.contains("100.0 %") && svg.contains("50.0 %"));
        // Only Care has a previous value: one tick.
        assert_eq!(svg.matches("<line").count(), 1);
    }

    #[test]
    fn values_read_in_their_units() {
        assert_eq!(show_value(Lang::En, "minutes", Some(185.0)), "3 h 5 min");
        assert_eq!(show_value(Lang::En, "percent", None), "—");
        assert_eq!(show_change(Lang::En, "count", Some(-2.0)).0, "-2");
    }
}
