//! `redress report`: the management reports as terminal tables, read from the same
//! counters as the api's `/reports` routes.

use anyhow::{Context, Result};
use redress_aws::DynamoStore;
use redress_domain::config::DomainConfig;
use redress_domain::metrics::Dimension;
use redress_domain::ports::MetricsReader;
use redress_domain::report::{self, Figure, Group, Period, Report, ReportKind};
use redress_domain::Bilingual;
use std::fmt::Write as _;

/// Builds one report as the api does (period and previous period, overdue now).
pub async fn build(
    store: &DynamoStore,
    config: &DomainConfig,
    kind: ReportKind,
    by: Dimension,
    period: &Period,
) -> Result<Report> {
    let (current, _) = store
        .metric_rows(period)
        .await
        .context("reading the counters")?;
    let (previous, _) = store
        .metric_rows(&period.previous())
        .await
        .context("reading the previous period's counters")?;
    let overdue = if matches!(kind, ReportKind::Deadlines | ReportKind::Overview) {
        let teams: Vec<String> = config
            .routing
            .teams()
            .iter()
            .map(|t| t.id.to_string())
            .collect();
        Some(store.overdue_now(&teams, by, chrono::Utc::now()).await?.0)
    } else {
        None
    };
    let labels = |dimension: Dimension, key: &str| -> Option<Bilingual> {
        match dimension {
            Dimension::Team => config.routing.team(key).map(|t| t.name.clone()),
            Dimension::Category => config.classifier.category(key).map(|c| c.label.clone()),
            _ => None,
        }
    };
    Ok(report::build(
        kind,
        by,
        period,
        &current,
        &previous,
        &labels,
        overdue.as_ref(),
    ))
}

fn cell(f: &Figure) -> String {
    let value = match f.value {
        None => "—".to_string(),
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
    };
    match f.change {
        Some(c) if c != 0.0 => format!("{value} ({c:+.1})"),
        _ => value,
    }
}

/// The report as a fixed-width table: one row per group and a total row; each cell is
/// the value and, in brackets, the change against the previous period.
pub fn table(report: &Report) -> String {
    let names: Vec<&str> = report
        .totals
        .figures
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let rows: Vec<(&Group, String)> = report
        .groups
        .iter()
        .map(|g| {
            (
                g,
                if g.label.en.is_empty() {
                    g.key.clone()
                } else {
                    g.label.en.clone()
                },
            )
        })
        .chain(std::iter::once((&report.totals, "TOTAL".to_string())))
        .collect();
    let first = rows
        .iter()
        .map(|(_, l)| l.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let widths: Vec<usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            rows.iter()
                .map(|(g, _)| {
                    g.figures
                        .get(i)
                        .map(|f| cell(f).chars().count())
                        .unwrap_or(1)
                })
                .max()
                .unwrap_or(1)
                .max(n.len())
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} report, {} to {} (previous: {} to {}), by {}",
        report.kind.as_str(),
        report.period.from,
        report.period.to,
        report.previous_period.from,
        report.previous_period.to,
        report.group_by.as_str()
    );
    let _ = write!(out, "{:first$}", "");
    for (n, w) in names.iter().zip(&widths) {
        let _ = write!(out, "  {n:>w$}");
    }
    out.push('\n');
    for (group, label) in rows {
        let _ = write!(out, "{label:first$}");
        for (f, w) in group.figures.iter().zip(&widths) {
            let _ = write!(out, "  {:>w$}", cell(f));
        }
        out.push('\n');
    }
    out.push_str("\nDefinitions:\n");
    for d in &report.definitions {
        let _ = writeln!(out, "  {}: {}", d.name, d.formula_en);
    }
    out
}
