//! From the stored counter rows to the figures management reads. Pure.
//!
//! A report reads only the per-day counter rows of [`crate::metrics`] (never tickets),
//! so its cost depends on the number of days and groups, not on complaint volume.
//!
//! Definitions (also sent with every report, in both languages, with the counts behind
//! every rate as `numerator` and `denominator`):
//! - rates are percentages; `change` is `value − previous`, so for a rate it is in
//!   percentage points. A value is `None` (JSON `null`) when its denominator is 0 —
//!   never NaN.
//! - counts have `numerator` = the count and `denominator` = 1.
//! - on-time rates count deadlines *falling in the period* (due) and, of those, the ones
//!   met. A deadline in the period that is still open counts as due and not met, so read
//!   on-time rates for periods that have ended.
//! - response rate = answers recorded in the period ÷ invitations sent in the period (two
//!   different sets of tickets; over a short period it can exceed 100%).
//! - medians and p90 of times are read from the histogram by nearest rank (the value
//!   below which at least half, or 90%, of the times fall) and reported as the upper
//!   bound of the bucket they fall in, so they are upper bounds at the resolution of
//!   [`MINUTE_BUCKETS`]. `numerator` is how many times fall at or under that bound,
//!   `denominator` how many there are. Past the last bound (60 days) the value is `None`.

use crate::complaint::{FieldError, ValidationErrors};
use crate::dates;
use crate::metrics::{
    bucket_counter, Dimension, ACKNOWLEDGED, ACK_DUE, ACK_MINUTES, ACK_ON_TIME, ALL_VALUE, CSAT,
    MINUTE_BUCKETS, NPS, RECEIVED, REOPENED, REPEAT_ANY, REPEAT_SAME_CATEGORY, RESOLVED,
    RESOLVE_DUE, RESOLVE_MINUTES, RESOLVE_ON_TIME, SOLVED_NO, SOLVED_PARTLY, SOLVED_YES,
    SURVEYS_ANSWERED, SURVEYS_SENT,
};
use crate::taxonomy::Bilingual;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Longest period a report covers, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// One stored counter row: the counts of one (day, dimension, value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricRow {
    pub day: NaiveDate,
    pub dimension: Dimension,
    pub value: String,
    pub counters: BTreeMap<String, i64>,
}

/// A run of whole days, both ends included, in the reporting time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

impl Period {
    /// How many days the period covers (at least 1).
    pub fn len_days(&self) -> i64 {
        ((self.to - self.from).num_days() + 1).max(1)
    }

    /// The period of the same length that ends the day before this one starts.
    pub fn previous(&self) -> Period {
        let to = self.from - Duration::days(1);
        Period {
            from: to - Duration::days(self.len_days() - 1),
            to,
        }
    }

    /// Every day of the period, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.from
            .iter_days()
            .take_while(|d| *d <= self.to)
            .collect()
    }

    /// Whether `day` falls in the period.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// This period and its previous one, as one period: everything a report of this
    /// period reads, and everything a trend of it ([`Period::buckets`]) reads too.
    pub fn with_previous(&self) -> Period {
        Period {
            from: self.previous().from,
            to: self.to,
        }
    }

    /// The period cut into at most `points` consecutive buckets of equal length (the
    /// last may be shorter), covering it exactly. Each bucket's previous period lies in
    /// [`Period::with_previous`], so one read of that serves a whole trend.
    pub fn buckets(&self, points: i64) -> Vec<Period> {
        let size = (self.len_days() + points.max(1) - 1) / points.max(1);
        let mut out = Vec::new();
        let mut start = self.from;
        while start <= self.to {
            let end = (start + Duration::days(size - 1)).min(self.to);
            out.push(Period {
                from: start,
                to: end,
            });
            start = end + Duration::days(1);
        }
        out
    }

    /// Reads `from` and `to` (`YYYY-MM-DD`, both required) as given in a query,
    /// checking that both lie in [`dates`]'s range, `from ≤ to` and at most
    /// [`MAX_PERIOD_DAYS`] days.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Period, ValidationErrors> {
        let mut errors = Vec::new();
        let mut date = |field: &str, raw: Option<&str>| -> Option<NaiveDate> {
            let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
                errors.push(FieldError::new(
                    field,
                    "required",
                    format!("{field} is required (YYYY-MM-DD)"),
                    format!("请填写{field}（格式 YYYY-MM-DD）"),
                ));
                return None;
            };
            let parsed = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok();
            match parsed {
                None => errors.push(FieldError::new(
                    field,
                    "invalid_date",
                    format!("{field} must be a date such as 2026-03-01"),
                    format!("{field} 必须是日期，例如 2026-03-01"),
                )),
                // The previous period and the trend are computed from these dates:
                // bounded, they never leave chrono's range.
                Some(day) if !dates::date_in_range(day) => {
                    errors.push(FieldError::new(
                        field,
                        "out_of_range",
                        format!(
                            "{field} must lie between {} and {}",
                            dates::EARLIEST,
                            dates::LATEST
                        ),
                        format!(
                            "{field} 必须在 {} 与 {} 之间",
                            dates::EARLIEST,
                            dates::LATEST
                        ),
                    ));
                    return None;
                }
                Some(_) => {}
            }
            parsed
        };
        let (from, to) = (date("from", from), date("to", to));
        if let (Some(from), Some(to)) = (from, to) {
            let period = Period { from, to };
            if from > to {
                errors.push(FieldError::new(
                    "to",
                    "before_from",
                    "to must not be before from",
                    "结束日期不能早于开始日期",
                ));
            } else if period.len_days() > MAX_PERIOD_DAYS {
                errors.push(FieldError::new(
                    "to",
                    "period_too_long",
                    format!("a report covers at most {MAX_PERIOD_DAYS} days"),
                    format!("报表期间最长 {MAX_PERIOD_DAYS} 天"),
                ));
            } else if errors.is_empty() {
                return Ok(period);
            }
        }
        Err(ValidationErrors(errors))
    }
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    Satisfaction,
    RepeatComplaints,
    Deadlines,
    Overview,
}

impl ReportKind {
    /// Every report, in a stable order.
    pub const ALL: [ReportKind; 4] = [
        ReportKind::Satisfaction,
        ReportKind::RepeatComplaints,
        ReportKind::Deadlines,
        ReportKind::Overview,
    ];

    /// The identifier used in the API path (`repeat-complaints` …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Satisfaction => "satisfaction",
            ReportKind::RepeatComplaints => "repeat-complaints",
            ReportKind::Deadlines => "deadlines",
            ReportKind::Overview => "overview",
        }
    }

    /// Parses the identifier written by [`ReportKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        ReportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The figures the report shows, in order.
    pub fn figures(self) -> &'static [&'static str] {
        match self {
            ReportKind::Satisfaction => &[
                "csat",
                "average_csat",
                "nps",
                "response_rate",
                "answers",
                "promoters",
                "passives",
                "detractors",
                "sent",
                "solved_yes",
                "solved_partly",
                "solved_no",
            ],
            ReportKind::RepeatComplaints => &[
                "repeat_rate_any",
                "repeat_rate_same_category",
                "received",
                "reopened",
            ],
            ReportKind::Deadlines => &[
                "acknowledged_on_time_rate",
                "resolved_on_time_rate",
                "median_minutes_to_acknowledge",
                "p90_minutes_to_acknowledge",
                "median_minutes_to_resolve",
                "p90_minutes_to_resolve",
                "acknowledged",
                "resolved",
                "overdue_now",
            ],
            ReportKind::Overview => &[
                "received",
                "resolved",
                "csat",
                "nps",
                "response_rate",
                "repeat_rate_any",
                "acknowledged_on_time_rate",
                "resolved_on_time_rate",
                "median_minutes_to_resolve",
                "overdue_now",
            ],
        }
    }
}

/// How a figure is computed, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    /// `percent`, `score`, `count` or `minutes`.
    pub unit: String,
    pub formula_en: String,
    pub formula_zh: String,
}

/// One figure of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    /// `None` when the denominator is 0 (or a time falls past the last bucket).
    pub value: Option<f64>,
    /// The same figure for the previous period.
    pub previous: Option<f64>,
    /// `value − previous` (percentage points for a rate); `None` unless both are known.
    pub change: Option<f64>,
    pub numerator: i64,
    pub denominator: i64,
}

/// The figures of one group (a team, a category …), or of everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub key: String,
    pub label: Bilingual,
    pub figures: Vec<Figure>,
}

/// A management report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub kind: ReportKind,
    pub period: Period,
    pub previous_period: Period,
    pub group_by: Dimension,
    pub definitions: Vec<Definition>,
    pub totals: Group,
    pub groups: Vec<Group>,
}

/// The summed counters of one group over a period.
type Counts = BTreeMap<String, i64>;

fn get(c: &Counts, counter: &str) -> i64 {
    c.get(counter).copied().unwrap_or(0)
}

/// Sums, per value, the counters of `dimension`'s rows that fall in `period`.
fn sum_by_value(
    rows: &[MetricRow],
    dimension: Dimension,
    period: &Period,
) -> BTreeMap<String, Counts> {
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| r.dimension == dimension && period.contains(r.day))
    {
        let counts = out.entry(row.value.clone()).or_default();
        for (k, v) in &row.counters {
            *counts.entry(k.clone()).or_default() += v;
        }
    }
    out
}

/// (value, numerator, denominator) of a figure from summed counts.
type Computed = (Option<f64>, i64, i64);

fn ratio(numerator: i64, denominator: i64, scale: f64) -> Computed {
    let value = (denominator > 0).then(|| scale * numerator as f64 / denominator as f64);
    (value, numerator, denominator)
}

fn count(n: i64) -> Computed {
    (Some(n as f64), n, 1)
}

fn sum(c: &Counts, counters: &[&str]) -> i64 {
    counters.iter().map(|k| get(c, k)).sum()
}

/// Nearest-rank quantile `num/den` of a histogram: the upper bound of the bucket holding
/// the observation of rank ⌈q·n⌉.
fn quantile(c: &Counts, prefix: &str, num: i64, den: i64) -> Computed {
    let bounds: Vec<Option<u32>> = MINUTE_BUCKETS
        .iter()
        .map(|b| Some(*b))
        .chain(std::iter::once(None))
        .collect();
    let counts: Vec<i64> = bounds
        .iter()
        .map(|b| get(c, &bucket_counter(prefix, *b)).max(0))
        .collect();
    let n: i64 = counts.iter().sum();
    if n == 0 {
        return (None, 0, 0);
    }
    let rank = ((num * n + den - 1) / den).max(1);
    let mut cumulative = 0;
    for (bound, k) in bounds.iter().zip(&counts) {
        cumulative += k;
        if cumulative >= rank {
            return (bound.map(f64::from), cumulative, n);
        }
    }
    (None, n, n)
}

fn compute(name: &str, c: &Counts) -> Computed {
    let answers = || sum(c, &CSAT);
    let nps_n = || sum(c, &NPS);
    let promoters = || sum(c, &NPS[9..]);
    let passives = || sum(c, &NPS[7..9]);
    let detractors = || sum(c, &NPS[..7]);
    match name {
        "csat" => ratio(sum(c, &CSAT[3..]), answers(), 100.0),
        "average_csat" => {
            let total: i64 = CSAT
                .iter()
                .zip(1..)
                .map(|(k, score)| score * get(c, k))
                .sum();
            ratio(total, answers(), 1.0)
        }
        "nps" => ratio(promoters() - detractors(), nps_n(), 100.0),
        "response_rate" => ratio(get(c, SURVEYS_ANSWERED), get(c, SURVEYS_SENT), 100.0),
        "answers" => count(get(c, SURVEYS_ANSWERED)),
        "promoters" => count(promoters()),
        "passives" => count(passives()),
        "detractors" => count(detractors()),
        "sent" => count(get(c, SURVEYS_SENT)),
        "solved_yes" => count(get(c, SOLVED_YES)),
        "solved_partly" => count(get(c, SOLVED_PARTLY)),
        "solved_no" => count(get(c, SOLVED_NO)),
        "repeat_rate_any" => ratio(get(c, REPEAT_ANY), get(c, RECEIVED), 100.0),
        "repeat_rate_same_category" => ratio(get(c, REPEAT_SAME_CATEGORY), get(c, RECEIVED), 100.0),
        "received" => count(get(c, RECEIVED)),
        "reopened" => count(get(c, REOPENED)),
        "acknowledged" => count(get(c, ACKNOWLEDGED)),
        "resolved" => count(get(c, RESOLVED)),
        "acknowledged_on_time_rate" => ratio(get(c, ACK_ON_TIME), get(c, ACK_DUE), 100.0),
        "resolved_on_time_rate" => ratio(get(c, RESOLVE_ON_TIME), get(c, RESOLVE_DUE), 100.0),
        "median_minutes_to_acknowledge" => quantile(c, ACK_MINUTES, 1, 2),
        "p90_minutes_to_acknowledge" => quantile(c, ACK_MINUTES, 9, 10),
        "median_minutes_to_resolve" => quantile(c, RESOLVE_MINUTES, 1, 2),
        "p90_minutes_to_resolve" => quantile(c, RESOLVE_MINUTES, 9, 10),
        _ => (None, 0, 0),
    }
}

/// The figure "overdue now" is a snapshot: no previous period, no change.
const OVERDUE_NOW: &str = "overdue_now";

fn figures(
    kind: ReportKind,
    key: &str,
    current: &Counts,
    previous: &Counts,
    overdue_now: Option<&BTreeMap<String, i64>>,
) -> Vec<Figure> {
    kind.figures()
        .iter()
        .map(|name| {
            if *name == OVERDUE_NOW {
                let (value, numerator, denominator) = match overdue_now {
                    Some(map) => count(map.get(key).copied().unwrap_or(0)),
                    None => (None, 0, 0),
                };
                return Figure {
                    name: (*name).to_string(),
                    value,
                    previous: None,
                    change: None,
                    numerator,
                    denominator,
                };
            }
            let (value, numerator, denominator) = compute(name, current);
            let (previous, _, _) = compute(name, previous);
            Figure {
                name: (*name).to_string(),
                value,
                previous,
                change: value.zip(previous).map(|(v, p)| v - p),
                numerator,
                denominator,
            }
        })
        .collect()
}

/// Builds a report: totals from the [`Dimension::All`] rows, one group per value of
/// `by` (ordered by key), each with the previous period's figures and the change.
/// Rows outside `period` (for `current`) or its previous period (for `previous`) are
/// ignored. `labels` names a group; without one the key is its label. `overdue_now`
/// holds the tickets overdue at this moment by group key, plus `all` for the totals;
/// `None` leaves that figure empty.
pub fn build(
    kind: ReportKind,
    by: Dimension,
    period: &Period,
    current: &[MetricRow],
    previous: &[MetricRow],
    labels: &dyn Fn(Dimension, &str) -> Option<Bilingual>,
    overdue_now: Option<&BTreeMap<String, i64>>,
) -> Report {
    let previous_period = period.previous();
    let empty = Counts::new();
    let group = |dimension: Dimension,
                 cur: &BTreeMap<String, Counts>,
                 prev: &BTreeMap<String, Counts>|
     -> Vec<Group> {
        let keys: BTreeSet<&String> = cur.keys().chain(prev.keys()).collect();
        keys.into_iter()
            .map(|key| Group {
                key: key.clone(),
                label: if dimension == Dimension::All {
                    all_label()
                } else {
                    labels(dimension, key).unwrap_or_else(|| Bilingual {
                        en: key.clone(),
                        zh: key.clone(),
                    })
                },
                figures: figures(
                    kind,
                    key,
                    cur.get(key).unwrap_or(&empty),
                    prev.get(key).unwrap_or(&empty),
                    overdue_now,
                ),
            })
            .collect()
    };
    let totals_cur = sum_by_value(current, Dimension::All, period);
    let totals_prev = sum_by_value(previous, Dimension::All, &previous_period);
    let totals = Group {
        key: ALL_VALUE.to_string(),
        label: all_label(),
        figures: figures(
            kind,
            ALL_VALUE,
            totals_cur.get(ALL_VALUE).unwrap_or(&empty),
            totals_prev.get(ALL_VALUE).unwrap_or(&empty),
            overdue_now,
        ),
    };
    let groups = group(
        by,
        &sum_by_value(current, by, period),
        &sum_by_value(previous, by, &previous_period),
    );
    Report {
        kind,
        period: *period,
        previous_period,
        group_by: by,
        definitions: kind.figures().iter().map(|n| definition(n)).collect(),
        totals,
        groups,
    }
}

fn all_label() -> Bilingual {
    Bilingual {
        en: "All".into(),
        zh: "全部".into(),
    }
}

/// The definition of a figure, as sent with every report.
pub fn definition(name: &str) -> Definition {
    let (unit, en, zh) = match name {
        "csat" => ("percent", "CSAT = answers scoring 4 or 5 on the 1–5 scale ÷ all answers × 100", "满意度（CSAT）= 评分为 4 或 5 的答卷数 ÷ 全部答卷数 × 100"),
        "average_csat" => ("score", "average CSAT score (1–5) = sum of scores ÷ answers", "平均满意度评分（1–5）= 评分总和 ÷ 答卷数"),
        "nps" => ("percent", "NPS = % promoters (9–10) − % detractors (0–6) among answers on the 0–10 scale; from −100 to 100", "净推荐值（NPS）= 推荐者（9–10 分）占比 − 贬损者（0–6 分）占比，取值 −100 至 100"),
        "response_rate" => ("percent", "survey response rate = answers recorded in the period ÷ invitations sent in the period × 100", "调查回复率 = 期内收到的答卷数 ÷ 期内发出的邀请数 × 100"),
        "answers" => ("count", "survey answers recorded in the period", "期内收到的调查答卷数"),
        "promoters" => ("count", "answers scoring 9 or 10 for likelihood to recommend", "推荐意愿评分为 9 或 10 的答卷数"),
        "passives" => ("count", "answers scoring 7 or 8 for likelihood to recommend", "推荐意愿评分为 7 或 8 的答卷数"),
        "detractors" => ("count", "answers scoring 0 to 6 for likelihood to recommend", "推荐意愿评分为 0 至 6 的答卷数"),
        "sent" => ("count", "survey invitations sent (one per complaint, at its first resolution)", "发出的调查邀请数（每件投诉首次办结时发出一次）"),
        "solved_yes" => ("count", "answers saying the problem was solved", "回答“问题已解决”的答卷数"),
        "solved_partly" => ("count", "answers saying the problem was partly solved", "回答“问题部分解决”的答卷数"),
        "solved_no" => ("count", "answers saying the problem was not solved", "回答“问题未解决”的答卷数"),
        "repeat_rate_any" => ("percent", "repeat rate = repeat complaints (same borrower within the repeat window, any category, plus reopens after a \"not solved\" survey answer) ÷ complaints received × 100", "重复投诉率 = 重复投诉数（同一借款人在重复投诉时间窗内再次投诉，不限类别；含调查回答“未解决”而重新处理的投诉）÷ 受理投诉数 × 100"),
        "repeat_rate_same_category" => ("percent", "repeat rate, same category = repeat complaints of the same category as the earlier one ÷ complaints received × 100", "同类重复投诉率 = 与前次投诉类别相同的重复投诉数 ÷ 受理投诉数 × 100"),
        "received" => ("count", "complaints received in the period", "期内受理的投诉数"),
        "reopened" => ("count", "tickets reopened in the period (by a team, or by a \"not solved\" survey answer)", "期内重新处理的工单数（由处理团队重新处理，或调查回答“未解决”）"),
        "acknowledged" => ("count", "complaints first acknowledged in the period", "期内首次确认的投诉数"),
        "resolved" => ("count", "complaints first resolved in the period (a resolution after a reopen is not counted again)", "期内首次办结的投诉数（重新处理后再次办结不重复计算）"),
        "acknowledged_on_time_rate" => ("percent", "acknowledged on time = acknowledgement deadlines falling in the period that were met ÷ acknowledgement deadlines falling in the period × 100", "按时确认率 = 期内到期且按时确认的确认时限数 ÷ 期内到期的确认时限数 × 100"),
        "resolved_on_time_rate" => ("percent", "resolved on time = resolution deadlines falling in the period met by the first resolution ÷ resolution deadlines falling in the period × 100", "按时办结率 = 期内到期且按时首次办结的办结时限数 ÷ 期内到期的办结时限数 × 100"),
        "median_minutes_to_acknowledge" => ("minutes", "median time from receipt to first acknowledgement, for acknowledgements in the period; an upper bound: the bound of the histogram bucket it falls in", "从受理到首次确认的时间中位数（期内确认的投诉）；为所在统计区间的上限值"),
        "p90_minutes_to_acknowledge" => ("minutes", "90th percentile of the time from receipt to first acknowledgement; an upper bound: the bound of the histogram bucket it falls in", "从受理到首次确认的时间第 90 百分位数；为所在统计区间的上限值"),
        "median_minutes_to_resolve" => ("minutes", "median time from receipt to first resolution (paused time included), for resolutions in the period; an upper bound: the bound of the histogram bucket it falls in", "从受理到首次办结的时间中位数（含暂停时间，期内办结的投诉）；为所在统计区间的上限值"),
        "p90_minutes_to_resolve" => ("minutes", "90th percentile of the time from receipt to first resolution (paused time included); an upper bound: the bound of the histogram bucket it falls in", "从受理到首次办结的时间第 90 百分位数（含暂停时间）；为所在统计区间的上限值"),
        "overdue_now" => ("count", "open tickets past their next deadline at the time of the report: the acknowledgement target until acknowledged, then the resolution target (no previous period)", "报表生成时已超过下一时限（未确认前为确认时限，之后为办结时限）的未结工单数（无上期对比）"),
        other => ("", other, other),
    };
    Definition {
        name: name.to_string(),
        unit: unit.to_string(),
        formula_en: en.to_string(),
        formula_zh: zh.to_string(),
    }
}

/// One category or signal in the root-cause view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    pub key: String,
    /// Complaints received in the period.
    pub received: i64,
    /// In the previous period.
    pub previous: i64,
    /// `received − previous`.
    pub change: i64,
    /// `change ÷ previous × 100`; `None` when there were none before.
    pub change_percent: Option<f64>,
}

/// The root-cause view: what borrowers complain about most, and what is rising.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCauses {
    /// Top categories by complaints received, most first.
    pub categories: Vec<Cause>,
    /// Top signals by complaints received, most first.
    pub signals: Vec<Cause>,
    /// Categories that rose most against the previous period (rises only).
    pub rising_categories: Vec<Cause>,
    /// Signals that rose most against the previous period (rises only).
    pub rising_signals: Vec<Cause>,
}

fn causes(current: &[MetricRow], previous: &[MetricRow], dimension: Dimension) -> Vec<Cause> {
    let received = |rows: &[MetricRow]| {
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.dimension == dimension) {
            *out.entry(r.value.clone()).or_default() += get(&r.counters, RECEIVED);
        }
        out
    };
    let (cur, prev) = (received(current), received(previous));
    let keys: BTreeSet<&String> = cur.keys().chain(prev.keys()).collect();
    keys.into_iter()
        .map(|key| {
            let received = cur.get(key).copied().unwrap_or(0);
            let previous = prev.get(key).copied().unwrap_or(0);
            let change = received - previous;
            Cause {
                key: key.clone(),
                received,
                previous,
                change,
                change_percent: (previous > 0).then(|| 100.0 * change as f64 / previous as f64),
            }
        })
        .filter(|c| c.received != 0 || c.previous != 0)
        .collect()
}

/// The top `limit` categories and signals by volume (RECEIVED) and by rise, with the
/// change against the previous period. Rows are taken as given: pass the rows of the
/// period and of the previous one.
pub fn root_causes(current: &[MetricRow], previous: &[MetricRow], limit: usize) -> RootCauses {
    let top = |mut list: Vec<Cause>| {
        list.sort_by(|a, b| b.received.cmp(&a.received).then_with(|| a.key.cmp(&b.key)));
        list.truncate(limit);
        list
    };
    let rising = |list: &[Cause]| {
        let mut list: Vec<Cause> = list.iter().filter(|c| c.change > 0).cloned().collect();
        list.sort_by(|a, b| b.change.cmp(&a.change).then_with(|| a.key.cmp(&b.key)));
        list.truncate(limit);
        list
    };
    let categories = causes(current, previous, Dimension::Category);
    let signals = causes(current, previous, Dimension::Signal);
    RootCauses {
        rising_categories: rising(&categories),
        rising_signals: rising(&signals),
        categories: top(categories),
        signals: top(signals),
    }
}

/// One CSV cell: quoted when it holds a comma, quote or line break; a text cell that a
/// spreadsheet would read as a formula gets a leading `'`.
fn csv_text(out: &mut String, s: &str) {
    let guarded;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn csv_number(out: &mut String, v: Option<f64>) {
    if let Some(v) = v {
        let _ = write!(out, "{v}");
    }
}

/// The report as CSV (RFC 4180, CRLF line ends): a header, one row per group, then a
/// `TOTAL` row. Columns: group key, English label, then for each figure its value,
/// previous value, change, numerator and denominator. An unknown value is an empty cell.
pub fn to_csv(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("group_key,label_en");
    for f in &report.totals.figures {
        for suffix in ["", "_previous", "_change", "_numerator", "_denominator"] {
            out.push(',');
            csv_text(&mut out, &format!("{}{suffix}", f.name));
        }
    }
    out.push_str("\r\n");
    let row = |out: &mut String, key: &str, group: &Group| {
        csv_text(out, key);
        out.push(',');
        csv_text(out, &group.label.en);
        for f in &group.figures {
            out.push(',');
            csv_number(out, f.value);
            out.push(',');
            csv_number(out, f.previous);
            out.push(',');
            csv_number(out, f.change);
            let _ = write!(out, ",{},{}", f.numerator, f.denominator);
        }
        out.push_str("\r\n");
    };
    for g in &report.groups {
        row(&mut out, &g.key, g);
    }
    row(&mut out, "TOTAL", &report.totals);
    out
}

#[cfg(test)]
mod period_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn buckets_cover_the_period_and_their_previous_periods_lie_in_one_read(
            start in 0i64..2000, len in 1i64..=MAX_PERIOD_DAYS, points in 1i64..12,
        ) {
            let from = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Duration::days(start);
            let period = Period { from, to: from + Duration::days(len - 1) };
            let read = period.with_previous();
            let buckets = period.buckets(points);
            prop_assert!(!buckets.is_empty() && buckets.len() as i64 <= points);
            prop_assert_eq!(buckets[0].from, period.from);
            prop_assert_eq!(buckets.last().unwrap().to, period.to);
            for w in buckets.windows(2) {
                prop_assert_eq!(w[0].to + Duration::days(1), w[1].from);
            }
            for b in &buckets {
                prop_assert!(read.contains(b.previous().from) && read.contains(b.to));
            }
            prop_assert!(read.contains(period.previous().from));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ACK_MINUTES, RESOLVE_MINUTES};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn row(d: &str, dimension: Dimension, value: &str, counts: &[(&str, i64)]) -> MetricRow {
        MetricRow {
            day: day(d),
            dimension,
            value: value.into(),
            counters: counts.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn march() -> Period {
        Period {
            from: day("2026-03-01"),
            to: day("2026-03-07"),
        }
    }

    /// The scenario, counted by hand:
    /// - 10 complaints received, 2 repeats (1 of the same category);
    /// - 8 surveys sent, 5 answered: CSAT 5, 5, 4, 3, 1; NPS 10, 9, 9, 5, 0;
    /// - 4 acknowledgement deadlines due, 3 met; 5 resolution deadlines due, 4 met;
    /// - times to acknowledge (minutes): ≤15, ≤60, ≤60, ≤480;
    ///   times to resolve: ≤1440 ×3, ≤4320, ≤20160.
    fn current() -> Vec<MetricRow> {
        use Dimension::*;
        vec![
            row(
                "2026-03-02",
                All,
                "all",
                &[
                    (RECEIVED, 6),
                    (REPEAT_ANY, 2),
                    (SURVEYS_SENT, 5),
                    (SURVEYS_ANSWERED, 3),
                    ("csat_5", 2),
                    ("csat_4", 1),
                    ("nps_10", 1),
                    ("nps_9", 2),
                    (ACK_DUE, 4),
                    (ACK_ON_TIME, 3),
                    ("ack_minutes_le_15", 1),
                    ("ack_minutes_le_60", 2),
                    ("resolve_minutes_le_1440", 3),
                ],
            ),
            row(
                "2026-03-07",
                All,
                "all",
                &[
                    (RECEIVED, 4),
                    (REPEAT_SAME_CATEGORY, 1),
                    (SURVEYS_SENT, 3),
                    (SURVEYS_ANSWERED, 2),
                    ("csat_3", 1),
                    ("csat_1", 1),
                    ("nps_5", 1),
                    ("nps_0", 1),
                    (RESOLVE_DUE, 5),
                    (RESOLVE_ON_TIME, 4),
                    ("ack_minutes_le_480", 1),
                    ("resolve_minutes_le_4320", 1),
                    ("resolve_minutes_le_20160", 1),
                    (REOPENED, 1),
                ],
            ),
            // Outside the period: ignored.
            row("2026-03-08", All, "all", &[(RECEIVED, 100)]),
            row("2026-02-28", All, "all", &[(RECEIVED, 100)]),
            row(
                "2026-03-03",
                Team,
                "billing",
                &[
                    (RECEIVED, 7),
                    (REPEAT_ANY, 2),
                    (SURVEYS_SENT, 4),
                    (SURVEYS_ANSWERED, 1),
                    ("csat_4", 1),
                    ("nps_9", 1),
                ],
            ),
            row("2026-03-04", Team, "hardship", &[(RECEIVED, 3)]),
        ]
    }

    /// The previous period (22–28 February): 5 received, no repeat; 4 sent, 2 answered,
    /// CSAT 5 and 2, NPS 10 and 6; 2 acknowledgement deadlines, both met.
    fn previous() -> Vec<MetricRow> {
        use Dimension::*;
        vec![
            row(
                "2026-02-25",
                All,
                "all",
                &[
                    (RECEIVED, 5),
                    (SURVEYS_SENT, 4),
                    (SURVEYS_ANSWERED, 2),
                    ("csat_5", 1),
                    ("csat_2", 1),
                    ("nps_10", 1),
                    ("nps_6", 1),
                    (ACK_DUE, 2),
                    (ACK_ON_TIME, 2),
                ],
            ),
            row("2026-02-26", Team, "fraud", &[(RECEIVED, 2)]),
            row(
                "2026-02-26",
                Team,
                "billing",
                &[(RECEIVED, 3), (REPEAT_ANY, 3)],
            ),
        ]
    }

    fn labels(dimension: Dimension, key: &str) -> Option<Bilingual> {
        (dimension == Dimension::Team && key == "billing").then(|| Bilingual {
            en: "Billing, Fees & Payments".into(),
            zh: "账务、费用与支付".into(),
        })
    }

    fn report(kind: ReportKind) -> Report {
        build(
            kind,
            Dimension::Team,
            &march(),
            &current(),
            &previous(),
            &labels,
            None,
        )
    }

    fn figure<'a>(group: &'a Group, name: &str) -> &'a Figure {
        group
            .figures
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no figure {name}"))
    }

    /// (value, previous, change, numerator, denominator)
    fn parts(f: &Figure) -> (Option<f64>, Option<f64>, Option<f64>, i64, i64) {
        (f.value, f.previous, f.change, f.numerator, f.denominator)
    }

    #[test]
    fn satisfaction_figures_match_the_hand_count() {
        let r = report(ReportKind::Satisfaction);
        let t = &r.totals;
        // CSAT: 3 of 5 answers score 4–5 (now); 1 of 2 (before).
        assert_eq!(
            parts(figure(t, "csat")),
            (Some(60.0), Some(50.0), Some(10.0), 3, 5)
        );
        // Average: (5 + 5 + 4 + 3 + 1) / 5; before (5 + 2) / 2.
        assert_eq!(
            parts(figure(t, "average_csat")),
            (Some(3.6), Some(3.5), Some(3.6 - 3.5), 18, 5)
        );
        // NPS: promoters 10, 9, 9 (60%) − detractors 5, 0 (40%); before 1 − 1 of 2.
        assert_eq!(
            parts(figure(t, "nps")),
            (Some(20.0), Some(0.0), Some(20.0), 1, 5)
        );
        // Response rate: 5 answers ÷ 8 sent; before 2 ÷ 4.
        assert_eq!(
            parts(figure(t, "response_rate")),
            (Some(62.5), Some(50.0), Some(12.5), 5, 8)
        );
        for (name, n) in [
            ("answers", 5),
            ("promoters", 3),
            ("passives", 0),
            ("detractors", 2),
            ("sent", 8),
        ] {
            assert_eq!(figure(t, name).value, Some(n as f64), "{name}");
            assert_eq!(figure(t, name).numerator, n, "{name}");
        }
        assert_eq!(t.key, "all");
        assert_eq!(r.previous_period.from, day("2026-02-22"));
        assert_eq!(r.previous_period.to, day("2026-02-28"));
        assert_eq!(r.definitions.len(), t.figures.len());
        assert!(r
            .definitions
            .iter()
            .all(|d| !d.formula_zh.is_empty() && d.formula_en != d.name && !d.unit.is_empty()));
    }

    #[test]
    fn groups_come_from_the_chosen_dimension_with_their_labels() {
        let r = report(ReportKind::Satisfaction);
        let keys: Vec<&str> = r.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["billing", "fraud", "hardship"]);
        let billing = &r.groups[0];
        assert_eq!(billing.label.en, "Billing, Fees & Payments");
        assert_eq!(
            parts(figure(billing, "response_rate")),
            (Some(25.0), None, None, 1, 4)
        );
        // Fraud had complaints only before: its rates are unknown now, never NaN.
        let fraud = &r.groups[1];
        assert_eq!(fraud.label.en, "fraud");
        assert_eq!(parts(figure(fraud, "csat")), (None, None, None, 0, 0));
    }

    #[test]
    fn repeat_rates_are_repeats_over_complaints_received() {
        let r = report(ReportKind::RepeatComplaints);
        let t = &r.totals;
        assert_eq!(
            parts(figure(t, "repeat_rate_any")),
            (Some(20.0), Some(0.0), Some(20.0), 2, 10)
        );
        assert_eq!(
            parts(figure(t, "repeat_rate_same_category")),
            (Some(10.0), Some(0.0), Some(10.0), 1, 10)
        );
        assert_eq!(figure(t, "received").value, Some(10.0));
        assert_eq!(figure(t, "reopened").value, Some(1.0));
        let billing = &r.groups[0];
        // 2 of 7 now, 3 of 3 before: −71.43 points.
        let f = figure(billing, "repeat_rate_any");
        assert_eq!((f.numerator, f.denominator), (2, 7));
        assert_eq!(f.previous, Some(100.0));
        assert!((f.change.unwrap() - (200.0 / 7.0 - 100.0)).abs() < 1e-9);
    }

    #[test]
    fn deadline_figures_read_rates_and_quantiles_from_the_counts() {
        let overdue: BTreeMap<String, i64> =
            [("all".to_string(), 3), ("billing".to_string(), 2)].into();
        let r = build(
            ReportKind::Deadlines,
            Dimension::Team,
            &march(),
            &current(),
            &previous(),
            &labels,
            Some(&overdue),
        );
        let t = &r.totals;
        assert_eq!(
            parts(figure(t, "acknowledged_on_time_rate")),
            (Some(75.0), Some(100.0), Some(-25.0), 3, 4)
        );
        assert_eq!(
            parts(figure(t, "resolved_on_time_rate")),
            (Some(80.0), None, None, 4, 5)
        );
        // Acknowledged in ≤15, ≤60, ≤60, ≤480 minutes: the 2nd of 4 is in the 60 bucket,
        // the 4th (⌈0.9 × 4⌉) in the 480 one.
        assert_eq!(
            parts(figure(t, "median_minutes_to_acknowledge")),
            (Some(60.0), None, None, 3, 4)
        );
        assert_eq!(
            parts(figure(t, "p90_minutes_to_acknowledge")),
            (Some(480.0), None, None, 4, 4)
        );
        // Resolved in ≤1440 ×3, ≤4320, ≤20160: the 3rd of 5 and the 5th.
        assert_eq!(
            parts(figure(t, "median_minutes_to_resolve")),
            (Some(1440.0), None, None, 3, 5)
        );
        assert_eq!(
            parts(figure(t, "p90_minutes_to_resolve")),
            (Some(20160.0), None, None, 5, 5)
        );
        assert_eq!(
            parts(figure(t, "overdue_now")),
            (Some(3.0), None, None, 3, 1)
        );
        assert_eq!(figure(&r.groups[0], "overdue_now").value, Some(2.0));
        assert_eq!(figure(&r.groups[2], "overdue_now").value, Some(0.0));
    }

    #[test]
    fn a_quantile_past_the_last_bucket_is_unknown_and_one_time_is_its_own_median() {
        let c: Counts = [(bucket_counter(RESOLVE_MINUTES, None), 1)].into();
        assert_eq!(quantile(&c, RESOLVE_MINUTES, 1, 2), (None, 1, 1));
        let c: Counts = [(bucket_counter(ACK_MINUTES, Some(30)), 1)].into();
        assert_eq!(quantile(&c, ACK_MINUTES, 9, 10), (Some(30.0), 1, 1));
        assert_eq!(quantile(&Counts::new(), ACK_MINUTES, 1, 2), (None, 0, 0));
    }

    #[test]
    fn overview_shows_the_main_figures_of_every_report() {
        let r = report(ReportKind::Overview);
        let names: Vec<&str> = r.totals.figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ReportKind::Overview.figures());
        assert_eq!(figure(&r.totals, "csat").value, Some(60.0));
        assert_eq!(figure(&r.totals, "repeat_rate_any").value, Some(20.0));
        assert_eq!(figure(&r.totals, "resolved_on_time_rate").value, Some(80.0));
        assert_eq!(figure(&r.totals, "overdue_now").value, None);
    }

    #[test]
    fn an_empty_period_gives_unknown_rates_not_nan() {
        for kind in ReportKind::ALL {
            let r = build(kind, Dimension::Category, &march(), &[], &[], &labels, None);
            assert!(r.groups.is_empty());
            for f in &r.totals.figures {
                assert!(f.value.is_none_or(|v| v == 0.0), "{} {:?}", f.name, f.value);
                assert!(f.change.is_none_or(|v| v == 0.0));
            }
            let json = serde_json::to_string(&r).unwrap();
            assert!(!json.contains("NaN") && json.contains("\"csat\"") == kind_has_csat(kind));
            assert!(
                json.contains(&format!("\"kind\":\"{}\"", kind.as_str())),
                "{json}"
            );
            assert!(json.contains("\"group_by\":\"category\""));
            assert!(json.contains("\"from\":\"2026-03-01\""));
            let csv = to_csv(&r);
            assert!(!csv.contains("NaN"));
            assert_eq!(csv.lines().count(), 2);
        }
    }

    fn kind_has_csat(kind: ReportKind) -> bool {
        matches!(kind, ReportKind::Satisfaction | ReportKind::Overview)
    }

    #[test]
    fn csv_has_a_header_a_row_per_group_and_a_total_and_quotes_labels() {
        let r = report(ReportKind::RepeatComplaints);
        let csv = to_csv(&r);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 6, "{csv}"); // header, 3 groups, TOTAL, trailing empty
        assert!(lines[0].starts_with(
            "group_key,label_en,repeat_rate_any,repeat_rate_any_previous,repeat_rate_any_change,repeat_rate_any_numerator,repeat_rate_any_denominator,"
        ));
        assert_eq!(lines[0].split(',').count(), 2 + 5 * 4);
        assert!(
            lines[1].starts_with("billing,\"Billing, Fees & Payments\",28.57"),
            "{}",
            lines[1]
        );
        // Fraud: nothing now (rate unknown, 0 of 0), 0% before.
        assert!(lines[2].starts_with("fraud,fraud,,0,,0,0,"), "{}", lines[2]);
        assert_eq!(
            lines[4],
            "TOTAL,All,20,0,20,2,10,10,0,10,1,10,10,5,5,10,1,1,0,1,1,1"
        );
        assert_eq!(lines[5], "");
    }

    #[test]
    fn csv_cells_are_quoted_and_guarded() {
        let mut out = String::new();
        csv_text(&mut out, "say \"hi\"\nthere");
        assert_eq!(out, "\"say \"\"hi\"\"\nthere\"");
        let mut out = String::new();
        csv_text(&mut out, "=SUM(A1)");
        assert_eq!(out, "'=SUM(A1)");
    }

    #[test]
    fn root_causes_rank_by_volume_and_by_rise() {
        use Dimension::*;
        let cur = vec![
            row("2026-03-02", Category, "fees_interest", &[(RECEIVED, 4)]),
            row("2026-03-03", Category, "fees_interest", &[(RECEIVED, 2)]),
            row(
                "2026-03-02",
                Category,
                "collection_conduct",
                &[(RECEIVED, 4)],
            ),
            row("2026-03-02", Signal, "threat", &[(RECEIVED, 3)]),
            row("2026-03-02", Team, "billing", &[(RECEIVED, 99)]),
        ];
        let prev = vec![
            row("2026-02-24", Category, "fees_interest", &[(RECEIVED, 2)]),
            row(
                "2026-02-24",
                Category,
                "collection_conduct",
                &[(RECEIVED, 5)],
            ),
            row("2026-02-24", Category, "privacy", &[(RECEIVED, 1)]),
        ];
        let rc = root_causes(&cur, &prev, 2);
        let top: Vec<(&str, i64, i64, Option<f64>)> = rc
            .categories
            .iter()
            .map(|c| (c.key.as_str(), c.received, c.change, c.change_percent))
            .collect();
        assert_eq!(
            top,
            [
                ("fees_interest", 6, 4, Some(200.0)),
                ("collection_conduct", 4, -1, Some(-20.0)),
            ]
        );
        assert_eq!(rc.rising_categories.len(), 1);
        assert_eq!(rc.rising_categories[0].key, "fees_interest");
        assert_eq!(rc.signals.len(), 1);
        assert_eq!(
            (rc.signals[0].key.as_str(), rc.signals[0].change_percent),
            ("threat", None)
        );
        assert_eq!(rc.rising_signals[0].change, 3);
    }

    #[test]
    fn periods_know_their_days_and_the_one_before() {
        let p = march();
        assert_eq!(p.len_days(), 7);
        assert_eq!(p.days().len(), 7);
        assert_eq!(p.days()[6], day("2026-03-07"));
        let one = Period {
            from: day("2026-03-01"),
            to: day("2026-03-01"),
        };
        assert_eq!(
            one.previous(),
            Period {
                from: day("2026-02-28"),
                to: day("2026-02-28")
            }
        );
        assert_eq!(Period::parse(Some("2026-03-01"), Some("2026-03-07")), Ok(p));
        let codes = |e: ValidationErrors| -> Vec<(String, String)> {
            e.0.into_iter().map(|f| (f.field, f.code)).collect()
        };
        assert_eq!(
            codes(Period::parse(None, Some("07/03/2026")).unwrap_err()),
            [
                ("from".to_string(), "required".to_string()),
                ("to".to_string(), "invalid_date".to_string())
            ]
        );
        assert_eq!(
            codes(Period::parse(Some("2026-03-07"), Some("2026-03-01")).unwrap_err()),
            [("to".to_string(), "before_from".to_string())]
        );
        assert_eq!(
            codes(Period::parse(Some("2025-01-01"), Some("2026-03-01")).unwrap_err()),
            [("to".to_string(), "period_too_long".to_string())]
        );
        // chrono's first day has no day before it: bounded dates never reach it.
        assert_eq!(
            codes(Period::parse(Some("-262143-01-01"), Some("2026-03-01")).unwrap_err()),
            [("from".to_string(), "out_of_range".to_string())]
        );
        assert_eq!(
            codes(Period::parse(Some("2100-12-01"), Some("+262142-12-31")).unwrap_err()),
            [("to".to_string(), "out_of_range".to_string())]
        );
        assert_eq!(
            codes(Period::parse(Some("1999-12-31"), Some("2101-01-01")).unwrap_err()),
            [
                ("from".to_string(), "out_of_range".to_string()),
                ("to".to_string(), "out_of_range".to_string())
            ]
        );
        let edges = Period::parse(Some("2000-01-01"), Some("2000-01-02")).unwrap();
        assert_eq!(edges.with_previous().from, day("1999-12-30"));
        assert!(Period::parse(Some("2100-12-31"), Some("2100-12-31")).is_ok());
        for kind in ReportKind::ALL {
            assert_eq!(ReportKind::parse(kind.as_str()), Some(kind));
        }
    }
}
