//! `GET /reports/{satisfaction|repeat-complaints|deadlines|overview}` for managers.
//!
//! Query: `from`, `to` (YYYY-MM-DD, inclusive), `by` (team, category, channel, priority;
//! default team), `tz` (must be the reporting time zone the counters are kept in, or
//! absent), `format=csv` or `Accept: text/csv`. Every report carries the same figures for
//! the previous period of equal length and the change, the counts behind every rate, and
//! the definitions. Reports read the daily counters, never the tickets: the cost does not
//! grow with the number of complaints.

use crate::auth::Principal;
use crate::http_error::{json_response, ApiError};
use crate::views::{DashboardCost, DashboardView};
use crate::ApiDeps;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use redress_domain::config::DomainConfig;
use redress_domain::metrics::Dimension;
use redress_domain::ports::MetricsReader;
use redress_domain::ports::ReadCost;
use redress_domain::report::{self, Period, ReportKind};
use redress_domain::Bilingual;
use serde_json::json;
use std::collections::BTreeMap;

fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
}

/// What a report request asks for, checked: a manager, a known kind, a period, a
/// grouping and (if given) the reporting time zone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportQuery {
    pub kind: ReportKind,
    pub period: Period,
    pub by: Dimension,
}

/// Reads and checks a report request (`from`, `to`, `by`, `tz` from the query).
pub(crate) fn report_query<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    kind: &str,
) -> Result<ReportQuery, ApiError> {
    let who = Principal::from_request(&deps.auth, request).ok_or(ApiError::Unauthorized)?;
    if !who.manager {
        return Err(ApiError::Forbidden);
    }
    let kind = ReportKind::parse(kind).ok_or(ApiError::NotFound)?;
    let period = Period::parse(query(request, "from"), query(request, "to"))
        .map_err(|e| ApiError::Validation(e.0))?;
    let by = match query(request, "by") {
        None => Dimension::Team,
        Some(b) => Dimension::parse(b)
            .filter(|d| !matches!(d, Dimension::All | Dimension::Signal))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_group_by",
                    "by must be one of team, category, channel, priority",
                    "by 必须是 team、category、channel、priority 之一",
                )
            })?,
    };
    let tz = deps.config.sla.reporting_time_zone();
    if let Some(asked) = query(request, "tz") {
        if asked != tz.name() {
            return Err(ApiError::bad_request(
                "unsupported_time_zone",
                format!(
                    "reports are kept by day in {}; ask with tz={} or leave tz out",
                    tz.name(),
                    tz.name()
                ),
                format!(
                    "报表按 {} 的自然日统计；请使用 tz={} 或不传 tz",
                    tz.name(),
                    tz.name()
                ),
            ));
        }
    }
    Ok(ReportQuery { kind, period, by })
}

/// Names a group: teams and categories from the configuration; other keys are their
/// own label.
fn group_labels(config: &DomainConfig) -> impl Fn(Dimension, &str) -> Option<Bilingual> + '_ {
    move |dimension: Dimension, key: &str| match dimension {
        Dimension::Team => config.routing.team(key).map(|t| t.name.clone()),
        Dimension::Category => config.classifier.category(key).map(|c| c.label.clone()),
        _ => None,
    }
}

/// The live "overdue now" figure by `by`, for the reports that show it (deadlines,
/// overview): one queue-index entry per overdue ticket (it grows with the backlog, not
/// with the complaints stored).
async fn overdue_now<S, Q>(
    deps: &ApiDeps<S, Q>,
    kind: ReportKind,
    by: Dimension,
) -> Result<(Option<BTreeMap<String, i64>>, ReadCost), ApiError>
where
    S: MetricsReader + Sync,
{
    if !matches!(kind, ReportKind::Deadlines | ReportKind::Overview) {
        return Ok((None, ReadCost::default()));
    }
    let teams: Vec<String> = deps
        .config
        .routing
        .teams()
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    let (counts, cost) = deps.store.overdue_now(&teams, by, deps.clock.now()).await?;
    Ok((Some(counts), cost))
}

pub(crate) async fn get<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    kind: &str,
) -> Result<Response<Body>, ApiError>
where
    S: MetricsReader + Sync,
{
    let ReportQuery { kind, period, by } = report_query(deps, request, kind)?;
    let tz = deps.config.sla.reporting_time_zone();
    let (current, cost_now) = deps.store.metric_rows(&period).await?;
    let (previous, cost_before) = deps.store.metric_rows(&period.previous()).await?;
    let (overdue, overdue_cost) = overdue_now(deps, kind, by).await?;
    let overdue_items = overdue_cost.items;
    let labels = group_labels(&deps.config);
    let built = report::build(
        kind,
        by,
        &period,
        &current,
        &previous,
        &labels,
        overdue.as_ref(),
    );
    let wants_csv = query(request, "format") == Some("csv")
        || request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        return Ok(Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .header(
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"redress-{}-{}-{}.csv\"",
                    kind.as_str(),
                    period.from,
                    period.to
                ),
            )
            .header(header::CACHE_CONTROL, "no-store")
            .body(Body::from(report::to_csv(&built)))
            .expect("static headers are valid"));
    }
    let mut body = json!(built);
    body["time_zone"] = json!(tz.name());
    body["items_read"] = json!({
        "counters": cost_now.items + cost_before.items,
        "overdue_now": overdue_items,
    });
    if kind == ReportKind::Overview {
        body["root_causes"] = json!(report::root_causes(&current, &previous, 5));
    }
    Ok(json_response(StatusCode::OK, &body))
}

/// Points on the dashboard's trend chart, at most.
pub const TREND_POINTS: i64 = 8;

/// Builds every report of the dashboard from ONE read of the counters: the rows of the
/// asked period and its previous period ([`Period::with_previous`]), which hold every
/// trend bucket and its previous period too; `report::build` keeps the rows of the
/// period it is asked for. Only the main report reads the live overdue figure (the
/// charts do not show it). Costs about what the report alone costs.
pub(crate) async fn dashboard<S, Q>(
    deps: &ApiDeps<S, Q>,
    q: &ReportQuery,
) -> Result<DashboardView, ApiError>
where
    S: MetricsReader + Sync,
{
    let (rows, counters) = deps.store.metric_rows(&q.period.with_previous()).await?;
    let (overdue, overdue_cost) = overdue_now(deps, q.kind, q.by).await?;
    let labels = group_labels(&deps.config);
    let build = |kind: ReportKind,
                 by: Dimension,
                 period: &Period,
                 overdue: Option<&BTreeMap<String, i64>>| {
        report::build(kind, by, period, &rows, &rows, &labels, overdue)
    };
    Ok(DashboardView {
        main: build(q.kind, q.by, &q.period, overdue.as_ref()),
        by_team: build(ReportKind::Deadlines, Dimension::Team, &q.period, None),
        by_category: build(ReportKind::Overview, Dimension::Category, &q.period, None),
        trend: q
            .period
            .buckets(TREND_POINTS)
            .iter()
            .map(|b| build(ReportKind::Overview, Dimension::Team, b, None))
            .collect(),
        query: *q,
        cost: DashboardCost {
            queries: counters.queries + overdue_cost.queries,
            items: counters.items + overdue_cost.items,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use redress_domain::metrics::RECEIVED;
    use redress_domain::ports::{StoreError, TestClock};
    use redress_domain::reference::StatusSecrets;
    use redress_domain::report::MetricRow;
    use redress_domain::survey::SurveyTokens;
    use std::sync::{Arc, Mutex};

    /// Counter rows in memory, recording every read the dashboard makes.
    #[derive(Default)]
    struct CountingReader {
        rows: Vec<MetricRow>,
        reads: Mutex<Vec<String>>,
    }

    impl MetricsReader for CountingReader {
        async fn metric_rows(
            &self,
            period: &Period,
        ) -> Result<(Vec<MetricRow>, ReadCost), StoreError> {
            self.reads
                .lock()
                .unwrap()
                .push(format!("counters {}..{}", period.from, period.to));
            let rows: Vec<MetricRow> = self
                .rows
                .iter()
                .filter(|r| period.contains(r.day))
                .cloned()
                .collect();
            let cost = ReadCost {
                queries: 1,
                items: rows.len() as u64,
            };
            Ok((rows, cost))
        }

        async fn overdue_now(
            &self,
            _teams: &[String],
            by: Dimension,
            _now: chrono::DateTime<Utc>,
        ) -> Result<(BTreeMap<String, i64>, ReadCost), StoreError> {
            self.reads
                .lock()
                .unwrap()
                .push(format!("overdue by {}", by.as_str()));
            Ok((BTreeMap::new(), ReadCost::default()))
        }
    }

    fn row(day: NaiveDate, dimension: Dimension, value: &str, received: i64) -> MetricRow {
        MetricRow {
            day,
            dimension,
            value: value.into(),
            counters: [(RECEIVED.to_string(), received)].into_iter().collect(),
        }
    }

    #[tokio::test]
    async fn the_dashboard_reads_the_counters_once_and_agrees_with_the_report() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let mut rows = Vec::new();
        // Complaints on every day of November and the last days of October (the
        // previous period of the trend's first bucket).
        for d in 1..=30 {
            rows.push(row(day(d), Dimension::All, "all", 2));
            rows.push(row(day(d), Dimension::Team, "billing", 2));
            rows.push(row(day(d), Dimension::Category, "fees_interest", 2));
        }
        rows.push(row(
            NaiveDate::from_ymd_opt(2026, 10, 30).unwrap(),
            Dimension::All,
            "all",
            5,
        ));
        let deps = ApiDeps {
            config: Arc::new(DomainConfig::bundled().unwrap()),
            store: CountingReader {
                rows,
                ..Default::default()
            },
            queue: (),
            secrets: StatusSecrets::new(b"k"),
            survey_tokens: SurveyTokens::new(b"k"),
            auth: crate::auth::StaffAuth::for_tests(),
            clock: Arc::new(TestClock::at(
                Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
            )),
        };
        let period = Period {
            from: day(1),
            to: day(30),
        };
        let q = ReportQuery {
            kind: ReportKind::Overview,
            period,
            by: Dimension::Team,
        };
        let view = dashboard(&deps, &q).await.unwrap();
        let reads = deps.store.reads.lock().unwrap().clone();
        assert_eq!(
            reads,
            ["counters 2026-10-02..2026-11-30", "overdue by team"],
            "one counter read for the widest period, one live read"
        );
        // The figures are the ones the report builds from its own two reads.
        let (current, _) = deps.store.metric_rows(&period).await.unwrap();
        let (previous, _) = deps.store.metric_rows(&period.previous()).await.unwrap();
        let labels = group_labels(&deps.config);
        let report = report::build(
            q.kind,
            q.by,
            &period,
            &current,
            &previous,
            &labels,
            Some(&BTreeMap::new()),
        );
        assert_eq!(view.main.totals, report.totals);
        assert_eq!(view.main.groups, report.groups);
        assert_eq!(view.trend.len(), 8);
        let received = |r: &report::Report| {
            r.totals
                .figures
                .iter()
                .find(|f| f.name == "received")
                .and_then(|f| f.value)
        };
        // The first trend bucket (Nov 1–4) is compared with Oct 28–31, inside the read.
        assert_eq!(received(&view.trend[0]), Some(8.0));
        assert_eq!(
            view.trend[0]
                .totals
                .figures
                .iter()
                .find(|f| f.name == "received")
                .and_then(|f| f.previous),
            Some(5.0)
        );
        assert_eq!(received(&view.by_category), Some(60.0));
    }
}
