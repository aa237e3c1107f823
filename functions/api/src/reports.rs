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
use crate::ApiDeps;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use redress_domain::metrics::Dimension;
use redress_domain::ports::MetricsReader;
use redress_domain::report::{self, Period, ReportKind};
use redress_domain::Bilingual;
use serde_json::json;

fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
}

pub(crate) async fn get<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    kind: &str,
) -> Result<Response<Body>, ApiError>
where
    S: MetricsReader + Sync,
{
    let who = Principal::from_request(request).ok_or(ApiError::Unauthorized)?;
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
    let (current, cost_now) = deps.store.metric_rows(&period).await?;
    let (previous, cost_before) = deps.store.metric_rows(&period.previous()).await?;
    let (overdue, overdue_items) = if matches!(kind, ReportKind::Deadlines | ReportKind::Overview) {
        let teams: Vec<String> = deps
            .config
            .routing
            .teams()
            .iter()
            .map(|t| t.id.to_string())
            .collect();
        // A live figure: one queue-index entry per overdue ticket (it grows with the
        // backlog, not with the complaints stored).
        let (counts, cost) = deps.store.overdue_now(&teams, by, deps.clock.now()).await?;
        (Some(counts), cost.items)
    } else {
        (None, 0)
    };
    let config = &deps.config;
    let labels = |dimension: Dimension, key: &str| -> Option<Bilingual> {
        match dimension {
            Dimension::Team => config.routing.team(key).map(|t| t.name.clone()),
            Dimension::Category => config.classifier.category(key).map(|c| c.label.clone()),
            _ => None,
        }
    };
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
