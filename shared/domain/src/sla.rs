//! SLA policies: the acknowledgement and resolution deadlines a complaint gets at intake.
//!
//! A policy (from `config/sla.toml`) names a real rule, a time zone, a holiday calendar,
//! an acknowledgement and a resolution period in calendar or business days, whether the
//! clock may be paused and how far the resolution deadline may be extended. Priority
//! shortens the internal targets, never the regulatory deadlines.
//!
//! Deadline rule: a period of N days ends at 23:59:59 local time (the last whole second of
//! the day) of the Nth day after the day of receipt, in the policy's time zone. Business
//! days skip weekends and holidays; a listed extra workday always counts. N = 0 means the
//! end of the day of receipt, or of the next business day if that day is not one.

use crate::config::ConfigError;
use crate::taxonomy::{Bilingual, Priority};
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

const FILE: &str = "sla.toml";

/// Longest period, in days, a policy may configure (bounds the day-by-day counting).
pub const MAX_PERIOD_DAYS: u32 = 366;

/// Longest deadline warning window, in hours: a warning earlier than any period is noise.
pub const MAX_WARNING_HOURS: u32 = MAX_PERIOD_DAYS * 24;

/// The deadlines a ticket gets at intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// Id of the policy that produced them.
    pub policy: String,
    /// Internal acknowledgement target (shortened by priority).
    pub acknowledge_by: DateTime<Utc>,
    /// Internal resolution target (shortened by priority).
    pub resolve_by: DateTime<Utc>,
    /// The policy's own acknowledgement deadline.
    pub regulatory_acknowledge_by: DateTime<Utc>,
    /// The policy's own resolution deadline; an extension moves it (the ticket's
    /// `ExtensionGrant` keeps the deadline it had before).
    pub regulatory_resolve_by: DateTime<Utc>,
}

/// Which days a period counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayUnit {
    /// Every day.
    Calendar,
    /// Weekdays that are not holidays, plus listed extra workdays.
    Business,
}

impl DayUnit {
    /// The identifier used in configuration (`calendar`, `business`).
    pub fn as_str(self) -> &'static str {
        match self {
            DayUnit::Calendar => "calendar",
            DayUnit::Business => "business",
        }
    }

    /// Parses the identifier written by [`DayUnit::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "calendar" => Some(DayUnit::Calendar),
            "business" => Some(DayUnit::Business),
            _ => None,
        }
    }
}

/// A number of calendar or business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub days: u32,
    pub unit: DayUnit,
}

impl Period {
    /// `days` calendar days.
    pub fn calendar(days: u32) -> Self {
        Self {
            days,
            unit: DayUnit::Calendar,
        }
    }

    /// `days` business days.
    pub fn business(days: u32) -> Self {
        Self {
            days,
            unit: DayUnit::Business,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} days", self.days, self.unit.as_str())
    }
}

/// A time zone with its holidays and make-up workdays: what a "day" means for a policy.
// Ordered sets: a few dozen dates a year, and a stable Debug form (tests compare two
// loads of the same file by it).
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    time_zone: Tz,
    holidays: BTreeSet<NaiveDate>,
    extra_workdays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// A calendar; a date in both lists counts as a workday (the loader rejects that case).
    pub fn new(
        time_zone: Tz,
        holidays: impl IntoIterator<Item = NaiveDate>,
        extra_workdays: impl IntoIterator<Item = NaiveDate>,
    ) -> Self {
        Self {
            time_zone,
            holidays: holidays.into_iter().collect(),
            extra_workdays: extra_workdays.into_iter().collect(),
        }
    }

    /// The calendar's time zone.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// Whether `date` is a listed holiday.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// Whether `date` is a listed make-up workday (调休).
    pub fn is_extra_workday(&self, date: NaiveDate) -> bool {
        self.extra_workdays.contains(&date)
    }

    /// Whether `date` counts as a business day.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        if self.extra_workdays.contains(&date) {
            return true;
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&date)
    }

    /// The local date of an instant in this calendar's time zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone).date_naive()
    }

    /// The local date on which a period starting on `received` ends.
    pub fn due_date(&self, received: NaiveDate, period: Period) -> NaiveDate {
        match period.unit {
            DayUnit::Calendar => received + Duration::days(i64::from(period.days)),
            DayUnit::Business => {
                let mut date = received;
                if period.days == 0 {
                    while !self.is_business_day(date) {
                        date = date.succ_opt().unwrap_or(date);
                    }
                    return date;
                }
                // Terminates: the holiday list is finite, so business days keep coming.
                let mut counted = 0;
                while counted < period.days {
                    date = match date.succ_opt() {
                        Some(next) => next,
                        None => return date,
                    };
                    if self.is_business_day(date) {
                        counted += 1;
                    }
                }
                date
            }
        }
    }

    /// The deadline for a period starting at `from`: the end of its due date.
    pub fn add_period(&self, from: DateTime<Utc>, period: Period) -> DateTime<Utc> {
        self.end_of_day(self.due_date(self.local_date(from), period))
    }

    /// The last whole second (23:59:59) of `date` in this calendar's time zone, in UTC.
    pub fn end_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        let last = date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
        // Ambiguous (clocks going back): the later instant. Skipped (a zone whose clocks
        // jump over midnight): the latest existing local time before it, in 15-minute
        // steps, which errs early.
        for step in 0..=8 {
            let candidate = last - Duration::minutes(15 * step);
            match self.time_zone.from_local_datetime(&candidate) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(_, later) => return later.with_timezone(&Utc),
                LocalResult::None => {}
            }
        }
        // No zone has a gap over two hours at the end of a day; the UTC reading is a
        // defined fallback rather than a panic.
        Utc.from_utc_datetime(&last)
    }
}

/// Computes the deadline of `period` counted from `from` in `calendar`.
pub fn add_period(from: DateTime<Utc>, period: Period, calendar: &WorkCalendar) -> DateTime<Utc> {
    calendar.add_period(from, period)
}

/// One step of a policy's extension rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The whole resolution period after this step, counted from receipt (not the extra).
    pub resolve_within: Period,
    /// Whether a senior manager must approve this step.
    pub senior_approval: bool,
    /// Whether the borrower must be told of the extension.
    pub tell_borrower: bool,
}

/// How a priority shortens a policy's internal targets.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityTarget {
    /// Acknowledgement period in the policy's unit; `None` keeps the policy's own.
    pub acknowledge_days: Option<u32>,
    /// Share of the policy's base resolution period, in (0, 1], rounded down to whole days.
    pub resolve_fraction: f64,
    /// Why (shown to operators).
    pub reason: String,
}

/// Floors for the internal targets, in days of the unit of the period they shorten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minimums {
    pub acknowledge_days: u32,
    pub resolve_days: u32,
}

/// One named SLA policy.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    /// Identifier (`cn-2020`, `uk-fca` …).
    pub id: String,
    /// Display name.
    pub name: Bilingual,
    /// The rule the deadlines come from, with article or section.
    pub citation: String,
    /// The acknowledgement period.
    pub acknowledge: Period,
    /// True when the rule sets no acknowledgement deadline and `acknowledge` is our own.
    pub acknowledge_internal: bool,
    /// The base resolution period, before any extension.
    pub resolve: Period,
    /// Whether a team may pause the clock while waiting on the borrower.
    pub pause_allowed: bool,
    /// Whether a pause also stops the regulatory clock (no preset rule allows it).
    pub pause_stops_regulatory_clock: bool,
    /// The last date the holiday list is known to cover, if stated.
    pub holidays_through: Option<NaiveDate>,
    calendar: WorkCalendar,
    extensions: Vec<Extension>,
    targets: [PriorityTarget; 4],
    minimum: Minimums,
}

impl SlaPolicy {
    /// Regulatory deadlines and the internal targets for a complaint received at `received_at`.
    pub fn deadlines(&self, received_at: DateTime<Utc>, priority: Priority) -> Deadlines {
        let regulatory_acknowledge_by = self.add_period(received_at, self.acknowledge);
        let regulatory_resolve_by = self.add_period(received_at, self.resolve);
        let resolve_by = self
            .add_period(received_at, self.internal_resolve_period(priority))
            .min(regulatory_resolve_by);
        let acknowledge_by = self
            .add_period(received_at, self.internal_acknowledge_period(priority))
            .min(regulatory_acknowledge_by)
            .min(resolve_by);
        Deadlines {
            policy: self.id.clone(),
            acknowledge_by,
            resolve_by,
            regulatory_acknowledge_by,
            regulatory_resolve_by,
        }
    }

    /// The deadline of `period` counted from `from` in this policy's calendar.
    pub fn add_period(&self, from: DateTime<Utc>, period: Period) -> DateTime<Utc> {
        self.calendar.add_period(from, period)
    }

    /// The policy's time zone.
    pub fn time_zone(&self) -> Tz {
        self.calendar.time_zone()
    }

    /// The policy's holidays and make-up workdays.
    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    /// The extension steps, in order; empty when the rule allows none.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The longest resolution period any extension allows, counted from receipt.
    pub fn extension_limit(&self) -> Option<Period> {
        self.extensions.last().map(|e| e.resolve_within)
    }

    /// The regulatory resolution deadline after extension step `step` (0-based).
    pub fn extended_resolve_by(
        &self,
        received_at: DateTime<Utc>,
        step: usize,
    ) -> Option<DateTime<Utc>> {
        self.extensions
            .get(step)
            .map(|e| self.add_period(received_at, e.resolve_within))
    }

    /// How `priority` shortens this policy's internal targets.
    pub fn target(&self, priority: Priority) -> &PriorityTarget {
        &self.targets[priority_index(priority)]
    }

    /// The floors for the internal targets.
    pub fn minimums(&self) -> Minimums {
        self.minimum
    }

    /// The internal acknowledgement period for `priority`, before capping at the deadline.
    pub fn internal_acknowledge_period(&self, priority: Priority) -> Period {
        let days = self
            .target(priority)
            .acknowledge_days
            .unwrap_or(self.acknowledge.days)
            .max(self.minimum.acknowledge_days);
        Period {
            days,
            unit: self.acknowledge.unit,
        }
    }

    /// The internal resolution period for `priority`, before capping at the deadline.
    pub fn internal_resolve_period(&self, priority: Priority) -> Period {
        let scaled = f64::from(self.resolve.days) * self.target(priority).resolve_fraction;
        // The epsilon keeps 0.7 * 10 from flooring to 6 through binary rounding.
        let days = (scaled + 1e-9)
            .floor()
            .clamp(0.0, f64::from(MAX_PERIOD_DAYS)) as u32;
        Period {
            days: days.max(self.minimum.resolve_days),
            unit: self.resolve.unit,
        }
    }
}

const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Critical,
];

fn priority_index(priority: Priority) -> usize {
    match priority {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Critical => 3,
    }
}

/// How many days before a policy's holiday list runs out the functions warn at start-up.
pub const CALENDAR_WARNING_DAYS: i64 = 60;

/// A policy whose holiday list ends within the warning window (or has ended): after
/// `holidays_through`, business-day counting sees weekends only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRunningOut {
    pub policy: String,
    pub holidays_through: NaiveDate,
    /// Days from today to the last listed date; negative once it has passed.
    pub days_left: i64,
}

impl fmt::Display for CalendarRunningOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = if self.days_left < 0 {
            format!("ran out {} days ago", -self.days_left)
        } else {
            format!("runs out in {} days", self.days_left)
        };
        write!(
            f,
            "SLA policy {}: the holiday list (holidays_through = {}) {when}; add the next \
             year's holidays and make-up workdays to sla.toml, or business-day deadlines \
             after that date count weekends only",
            self.policy, self.holidays_through
        )
    }
}

/// All SLA policies from `config/sla.toml`.
#[derive(Debug)]
pub struct SlaPolicies {
    policies: Vec<SlaPolicy>,
    default: usize,
    warning_hours: u32,
    surveys: SurveySettings,
    reporting_time_zone: Tz,
}

/// Longest survey answer window or token validity, in days.
pub const MAX_SURVEY_DAYS: u32 = 366;

/// The `[surveys]` settings: how long after resolution a survey is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SurveySettings {
    answer_window_days: u32,
    token_valid_days: u32,
}

/// Defaults when `sla.toml` has no `[surveys]` table (the bundled file states them).
const DEFAULT_SURVEY_DAYS: u32 = 30;
/// Default reporting time zone when `sla.toml` has no `[reporting]` table.
const DEFAULT_REPORTING_TIME_ZONE: &str = "Asia/Shanghai";

impl SlaPolicies {
    /// Parses and validates the policies file.
    pub fn from_toml(src: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(src).map_err(|e| err(format!("cannot parse: {e}")))?;
        let minimum = Minimums {
            acknowledge_days: raw.minimum.acknowledge_days,
            resolve_days: raw.minimum.resolve_days,
        };
        check_days("minimum.acknowledge_days", minimum.acknowledge_days)?;
        check_days("minimum.resolve_days", minimum.resolve_days)?;
        if raw.warning_hours == 0 || raw.warning_hours > MAX_WARNING_HOURS {
            return Err(err(format!(
                "warning_hours: {} is outside 1..={MAX_WARNING_HOURS}",
                raw.warning_hours
            )));
        }
        let targets = parse_targets(raw.priority)?;
        let policies = raw
            .policies
            .into_iter()
            .map(|(id, p)| parse_policy(id, p, &targets, minimum))
            .collect::<Result<Vec<_>, _>>()?;
        if policies.is_empty() {
            return Err(err("no policies: add at least one [policies.<id>] table"));
        }
        let default = policies
            .iter()
            .position(|p| p.id == raw.default_policy)
            .ok_or_else(|| {
                let known: Vec<&str> = policies.iter().map(|p| p.id.as_str()).collect();
                err(format!(
                    "default_policy \"{}\" names no policy (known: {})",
                    raw.default_policy,
                    known.join(", ")
                ))
            })?;
        let surveys = parse_surveys(raw.surveys)?;
        let reporting_time_zone = parse_reporting(raw.reporting)?;
        Ok(Self {
            policies,
            default,
            warning_hours: raw.warning_hours,
            surveys,
            reporting_time_zone,
        })
    }

    /// The policy with this id.
    pub fn get(&self, id: &str) -> Option<&SlaPolicy> {
        self.policies.iter().find(|p| p.id == id)
    }

    /// The policy named by `default_policy`.
    pub fn default_policy(&self) -> &SlaPolicy {
        &self.policies[self.default]
    }

    /// Every policy, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &SlaPolicy> {
        self.policies.iter()
    }

    /// Every policy id, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|p| p.id.as_str())
    }

    /// How long before a deadline the sweeper warns (`warning_hours`, at least one hour).
    pub fn warning(&self) -> Duration {
        Duration::hours(i64::from(self.warning_hours))
    }

    /// How long after resolution a survey answer is accepted, and a "not solved" answer
    /// reopens the ticket (`[surveys] answer_window_days`).
    pub fn survey_window(&self) -> Duration {
        Duration::days(i64::from(self.surveys.answer_window_days))
    }

    /// How long a survey invitation's token stays valid (`[surveys] token_valid_days`).
    pub fn survey_token_validity(&self) -> Duration {
        Duration::days(i64::from(self.surveys.token_valid_days))
    }

    /// The policies whose holiday list ends within `within_days` of `today` (or already
    /// has): what the functions warn about at start-up.
    pub fn calendars_running_out(
        &self,
        today: NaiveDate,
        within_days: i64,
    ) -> Vec<CalendarRunningOut> {
        self.policies
            .iter()
            .filter_map(|p| {
                let through = p.holidays_through?;
                let days_left = (through - today).num_days();
                (days_left <= within_days).then(|| CalendarRunningOut {
                    policy: p.id.clone(),
                    holidays_through: through,
                    days_left,
                })
            })
            .collect()
    }

    /// The time zone whose calendar days the metrics and reports count in
    /// (`[reporting] time_zone`).
    pub fn reporting_time_zone(&self) -> Tz {
        self.reporting_time_zone
    }
}

fn parse_surveys(raw: Option<RawSurveys>) -> Result<SurveySettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(SurveySettings {
            answer_window_days: DEFAULT_SURVEY_DAYS,
            token_valid_days: DEFAULT_SURVEY_DAYS,
        });
    };
    for (what, days) in [
        ("surveys.answer_window_days", raw.answer_window_days),
        ("surveys.token_valid_days", raw.token_valid_days),
    ] {
        if days == 0 || days > MAX_SURVEY_DAYS {
            return Err(err(format!(
                "{what}: {days} is outside 1..={MAX_SURVEY_DAYS}"
            )));
        }
    }
    Ok(SurveySettings {
        answer_window_days: raw.answer_window_days,
        token_valid_days: raw.token_valid_days,
    })
}

fn parse_reporting(raw: Option<RawReporting>) -> Result<Tz, ConfigError> {
    let name = raw.map_or_else(|| DEFAULT_REPORTING_TIME_ZONE.to_string(), |r| r.time_zone);
    name.parse().map_err(|_| {
        err(format!(
            "reporting.time_zone: unknown time zone \"{name}\" (expected an IANA name such as Asia/Shanghai)"
        ))
    })
}

fn err(message: impl Into<String>) -> ConfigError {
    ConfigError::new(FILE, message)
}

fn check_days(what: &str, days: u32) -> Result<(), ConfigError> {
    if days > MAX_PERIOD_DAYS {
        return Err(err(format!(
            "{what}: {days} days is more than the maximum of {MAX_PERIOD_DAYS}"
        )));
    }
    Ok(())
}

fn parse_targets(raw: BTreeMap<String, RawPriority>) -> Result<[PriorityTarget; 4], ConfigError> {
    let mut slots: [Option<PriorityTarget>; 4] = [None, None, None, None];
    for (name, p) in raw {
        let priority = Priority::parse(&name).ok_or_else(|| {
            err(format!(
                "[priority.{name}]: unknown priority (expected low, normal, high or critical)"
            ))
        })?;
        if !(p.resolve_fraction > 0.0 && p.resolve_fraction <= 1.0) {
            return Err(err(format!(
                "priority.{name}.resolve_fraction {} is outside (0, 1]",
                p.resolve_fraction
            )));
        }
        if let Some(days) = p.acknowledge_days {
            check_days(&format!("priority.{name}.acknowledge_days"), days)?;
        }
        slots[priority_index(priority)] = Some(PriorityTarget {
            acknowledge_days: p.acknowledge_days,
            resolve_fraction: p.resolve_fraction,
            reason: p.reason,
        });
    }
    let [low, normal, high, critical] = slots;
    let need = |slot: Option<PriorityTarget>, p: Priority| {
        slot.ok_or_else(|| {
            err(format!(
                "missing [priority.{p}] table: every priority needs one"
            ))
        })
    };
    Ok([
        need(low, PRIORITIES[0])?,
        need(normal, PRIORITIES[1])?,
        need(high, PRIORITIES[2])?,
        need(critical, PRIORITIES[3])?,
    ])
}

fn parse_policy(
    id: String,
    raw: RawPolicy,
    targets: &[PriorityTarget; 4],
    minimum: Minimums,
) -> Result<SlaPolicy, ConfigError> {
    let here = |msg: String| err(format!("policy {id}: {msg}"));
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(here(
            "id must be non-empty lowercase letters, digits, '-' or '_'".into(),
        ));
    }
    if raw.citation.trim().is_empty() {
        return Err(here(
            "citation is empty: name the rule, article or section".into(),
        ));
    }
    let time_zone: Tz = raw.time_zone.parse().map_err(|_| {
        here(format!(
            "unknown time zone \"{}\" (expected an IANA name such as Asia/Shanghai)",
            raw.time_zone
        ))
    })?;
    let acknowledge = parse_period("acknowledge", &raw.acknowledge).map_err(&here)?;
    let resolve = parse_period("resolve", &raw.resolve).map_err(&here)?;
    if resolve.days < acknowledge.days {
        return Err(here(format!(
            "resolve period ({resolve}) is shorter than the acknowledge period ({acknowledge})"
        )));
    }
    let holidays = parse_dates("holidays", &raw.holidays).map_err(&here)?;
    let extra_workdays = parse_dates("extra_workdays", &raw.extra_workdays).map_err(&here)?;
    if let Some(date) = extra_workdays.iter().find(|d| holidays.contains(d)) {
        return Err(here(format!(
            "{date} is listed both as a holiday and as an extra workday"
        )));
    }
    if let Some(date) = extra_workdays
        .iter()
        .find(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
    {
        return Err(here(format!(
            "extra workday {date} is a {}: only a Saturday or Sunday can be a make-up workday",
            date.weekday()
        )));
    }
    let holidays_through = match &raw.holidays_through {
        None => None,
        Some(s) => Some(parse_date(s).ok_or_else(|| {
            here(format!(
                "holidays_through: \"{s}\" is not a date (YYYY-MM-DD)"
            ))
        })?),
    };
    if let Some(through) = holidays_through {
        if let Some(date) = holidays
            .iter()
            .chain(&extra_workdays)
            .find(|d| **d > through)
        {
            return Err(here(format!("{date} is after holidays_through {through}")));
        }
    }
    let mut extensions = Vec::with_capacity(raw.extensions.len());
    let mut longest = resolve;
    for (i, e) in raw.extensions.iter().enumerate() {
        let within =
            parse_period(&format!("extensions[{i}].resolve"), &e.resolve).map_err(&here)?;
        if within.days <= longest.days {
            return Err(here(format!(
                "extensions[{i}].resolve ({within}) must be longer than the period before it ({longest}); \
                 it is the whole period from receipt, not the extra days"
            )));
        }
        longest = within;
        extensions.push(Extension {
            resolve_within: within,
            senior_approval: e.senior_approval,
            tell_borrower: e.tell_borrower,
        });
    }
    Ok(SlaPolicy {
        name: raw.name,
        citation: raw.citation,
        acknowledge,
        acknowledge_internal: raw.acknowledge_internal,
        resolve,
        pause_allowed: raw.pause_allowed,
        pause_stops_regulatory_clock: raw.pause_stops_regulatory_clock,
        holidays_through,
        calendar: WorkCalendar::new(time_zone, holidays, extra_workdays),
        extensions,
        targets: targets.clone(),
        minimum,
        id,
    })
}

fn parse_period(field: &str, raw: &RawPeriod) -> Result<Period, String> {
    let unit = DayUnit::parse(&raw.unit).ok_or_else(|| {
        format!(
            "{field}.unit: unknown unit \"{}\" (expected \"calendar\" or \"business\")",
            raw.unit
        )
    })?;
    if raw.days > MAX_PERIOD_DAYS {
        return Err(format!(
            "{field}.days: {} is more than the maximum of {MAX_PERIOD_DAYS}",
            raw.days
        ));
    }
    Ok(Period {
        days: raw.days,
        unit,
    })
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn parse_dates(field: &str, raw: &[String]) -> Result<Vec<NaiveDate>, String> {
    let mut seen = HashSet::with_capacity(raw.len());
    raw.iter()
        .map(|s| {
            let date = parse_date(s)
                .ok_or_else(|| format!("{field}: \"{s}\" is not a date (YYYY-MM-DD)"))?;
            if !seen.insert(date) {
                return Err(format!("{field}: {date} is listed twice"));
            }
            Ok(date)
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    default_policy: String,
    warning_hours: u32,
    minimum: RawMinimum,
    priority: BTreeMap<String, RawPriority>,
    policies: BTreeMap<String, RawPolicy>,
    surveys: Option<RawSurveys>,
    reporting: Option<RawReporting>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurveys {
    answer_window_days: u32,
    token_valid_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReporting {
    time_zone: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMinimum {
    acknowledge_days: u32,
    resolve_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriority {
    acknowledge_days: Option<u32>,
    resolve_fraction: f64,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    days: u32,
    unit: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Bilingual,
    citation: String,
    time_zone: String,
    acknowledge: RawPeriod,
    #[serde(default)]
    acknowledge_internal: bool,
    resolve: RawPeriod,
    pause_allowed: bool,
    #[serde(default)]
    pause_stops_regulatory_clock: bool,
    holidays_through: Option<String>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    extra_workdays: Vec<String>,
    #[serde(default)]
    extensions: Vec<RawExtension>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtension {
    resolve: RawPeriod,
    senior_approval: bool,
    tell_borrower: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SLA_TOML;
    use chrono::NaiveDateTime;
    use proptest::prelude::*;

    fn policies() -> SlaPolicies {
        SlaPolicies::from_toml(SLA_TOML).expect("bundled sla.toml loads")
    }

    fn policy(id: &str) -> SlaPolicy {
        policies().get(id).expect("preset exists").clone()
    }

    /// A local wall-clock time in `tz` (must be unambiguous), as UTC.
    fn local(tz: &str, s: &str) -> DateTime<Utc> {
        let tz: Tz = tz.parse().unwrap();
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        tz.from_local_datetime(&naive)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
    }

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn a_holiday_list_that_runs_out_within_sixty_days_is_reported() {
        let sla = SlaPolicies::from_toml(crate::config::SLA_TOML).unwrap();
        let through = sla
            .iter()
            .filter_map(|p| p.holidays_through)
            .min()
            .expect("the bundled file states holidays_through");
        let date = |days: i64| through - Duration::days(days);
        assert!(sla
            .calendars_running_out(date(CALENDAR_WARNING_DAYS + 1), CALENDAR_WARNING_DAYS)
            .is_empty());
        let soon = sla.calendars_running_out(date(29), CALENDAR_WARNING_DAYS);
        assert_eq!(soon[0].days_left, 29);
        assert!(
            soon[0].to_string().contains("runs out in 29 days"),
            "{}",
            soon[0]
        );
        let past = sla.calendars_running_out(through + Duration::days(3), CALENDAR_WARNING_DAYS);
        assert!(past[0].to_string().contains("ran out 3 days ago"));
    }

    #[test]
    fn bundled_policies_load_with_cn_2020_as_default() {
        let all = policies();
        assert_eq!(all.default_policy().id, "cn-2020");
        assert_eq!(
            all.ids().collect::<Vec<_>>(),
            ["cn-2020", "uk-fca", "uk-fca-psd", "us-cfpb"]
        );
        for p in all.iter() {
            assert!(!p.citation.is_empty());
            assert!(!p.name.en.is_empty() && !p.name.zh.is_empty());
        }
    }

    #[test]
    fn cn_2020_received_before_national_day_runs_through_the_holiday_in_calendar_days() {
        let p = policy("cn-2020");
        let d = p.deadlines(local("Asia/Shanghai", "2026-09-30 14:00:00"), Priority::Low);
        // 2 calendar days: 2 October 23:59:59 CST = 15:59:59 UTC, holiday or not.
        assert_eq!(d.regulatory_acknowledge_by, utc("2026-10-02 15:59:59"));
        // 15 calendar days after 30 September: 15 October.
        assert_eq!(d.regulatory_resolve_by, utc("2026-10-15 15:59:59"));
        // Low priority keeps the whole period.
        assert_eq!(d.resolve_by, d.regulatory_resolve_by);
        assert_eq!(d.acknowledge_by, d.regulatory_acknowledge_by);
        assert_eq!(d.policy, "cn-2020");
    }

    #[test]
    fn cn_2020_business_days_skip_national_day_and_count_the_make_up_saturday() {
        let p = policy("cn-2020");
        let received = local("Asia/Shanghai", "2026-09-30 14:00:00");
        // 1 October–7 October are holidays; Thursday 8 October is the first business day.
        assert_eq!(
            p.add_period(received, Period::business(1)),
            local("Asia/Shanghai", "2026-10-08 23:59:59")
        );
        // Friday 9, then Saturday 10 October is a make-up workday (调休).
        assert_eq!(
            p.add_period(received, Period::business(3)),
            local("Asia/Shanghai", "2026-10-10 23:59:59")
        );
        // Sunday 11 is a weekend day again: the 4th business day is Monday 12.
        assert_eq!(
            p.add_period(received, Period::business(4)),
            local("Asia/Shanghai", "2026-10-12 23:59:59")
        );
        // N = 0 on a holiday: the end of the next business day.
        let on_holiday = local("Asia/Shanghai", "2026-10-03 09:00:00");
        assert_eq!(
            p.add_period(on_holiday, Period::business(0)),
            local("Asia/Shanghai", "2026-10-08 23:59:59")
        );
    }

    #[test]
    fn cn_2020_receipt_late_in_the_evening_counts_from_the_shanghai_date() {
        let p = policy("cn-2020");
        // 16:30 UTC on 30 September is 00:30 on 1 October in Shanghai.
        let d = p.deadlines(utc("2026-09-30 16:30:00"), Priority::Low);
        assert_eq!(
            d.regulatory_resolve_by,
            local("Asia/Shanghai", "2026-10-16 23:59:59")
        );
    }

    #[test]
    fn cn_2020_extensions_reach_30_then_60_days_with_approval_on_the_second() {
        let p = policy("cn-2020");
        let received = local("Asia/Shanghai", "2026-03-02 10:00:00");
        assert_eq!(p.extension_limit(), Some(Period::calendar(60)));
        assert_eq!(p.extensions().len(), 2);
        assert!(!p.extensions()[0].senior_approval);
        assert!(p.extensions()[1].senior_approval && p.extensions()[1].tell_borrower);
        assert_eq!(
            p.extended_resolve_by(received, 0),
            Some(local("Asia/Shanghai", "2026-04-01 23:59:59"))
        );
        assert_eq!(
            p.extended_resolve_by(received, 1),
            Some(local("Asia/Shanghai", "2026-05-01 23:59:59"))
        );
        assert_eq!(p.extended_resolve_by(received, 2), None);
    }

    #[test]
    fn uk_fca_friday_before_the_august_bank_holiday_gets_three_business_days_to_wednesday() {
        let p = policy("uk-fca");
        // Friday 28 August 2026; Monday 31 August is the summer bank holiday.
        let d = p.deadlines(local("Europe/London", "2026-08-28 16:00:00"), Priority::Low);
        // Business days after Friday: Tue 1, Wed 2, Thu 3 September.
        assert_eq!(
            d.regulatory_acknowledge_by,
            local("Europe/London", "2026-09-03 23:59:59")
        );
        assert_eq!(d.regulatory_acknowledge_by, utc("2026-09-03 22:59:59"));
        // Eight weeks: 56 calendar days after 28 August is Friday 23 October.
        assert_eq!(d.regulatory_resolve_by, utc("2026-10-23 22:59:59"));
        assert!(p.extensions().is_empty());
        assert_eq!(p.extension_limit(), None);
    }

    #[test]
    fn uk_fca_eight_weeks_across_the_autumn_clock_change_end_at_local_midnight_minus_a_second() {
        let p = policy("uk-fca");
        // Received in BST (UTC+1); the deadline is in GMT after 25 October 2026.
        let d = p.deadlines(local("Europe/London", "2026-09-10 09:00:00"), Priority::Low);
        assert_eq!(d.regulatory_resolve_by, utc("2026-11-05 23:59:59"));
    }

    #[test]
    fn uk_fca_psd_takes_15_business_days_and_35_in_exceptional_cases() {
        let p = policy("uk-fca-psd");
        // Monday 21 December 2026: Christmas (Fri 25) and Boxing Day substitute (Mon 28)
        // and New Year (Fri 1) are skipped.
        let received = local("Europe/London", "2026-12-21 11:00:00");
        // Business days: 22, 23, 24, 29, 30, 31 Dec, 4, 5, 6, 7, 8, 11, 12, 13, 14 Jan.
        let d = p.deadlines(received, Priority::Low);
        assert_eq!(d.regulatory_resolve_by, utc("2027-01-14 23:59:59"));
        assert_eq!(p.extension_limit(), Some(Period::business(35)));
        // Twenty more business days: 15 Jan … 11 Feb 2027.
        assert_eq!(
            p.extended_resolve_by(received, 0),
            Some(utc("2027-02-11 23:59:59"))
        );
        assert!(p.extensions()[0].tell_borrower);
    }

    #[test]
    fn us_cfpb_deadline_across_the_spring_dst_change_is_in_edt() {
        let p = policy("us-cfpb");
        // Received 1 March 2026 (EST, UTC-5); DST starts 8 March; 15 days later is 16 March (EDT, UTC-4).
        let d = p.deadlines(
            local("America/New_York", "2026-03-01 20:00:00"),
            Priority::Low,
        );
        assert_eq!(d.regulatory_resolve_by, utc("2026-03-17 03:59:59"));
        assert_eq!(d.regulatory_acknowledge_by, utc("2026-03-04 04:59:59"));
        assert_eq!(
            p.extended_resolve_by(local("America/New_York", "2026-03-01 20:00:00"), 0),
            Some(utc("2026-05-01 03:59:59"))
        );
    }

    #[test]
    fn us_cfpb_evening_receipt_in_new_york_counts_from_the_new_york_date() {
        let p = policy("us-cfpb");
        // 02:00 UTC on 2 July is 22:00 on 1 July in New York.
        let d = p.deadlines(utc("2026-07-02 02:00:00"), Priority::Low);
        assert_eq!(
            d.regulatory_resolve_by,
            local("America/New_York", "2026-07-16 23:59:59")
        );
    }

    #[test]
    fn end_of_day_on_the_day_clocks_go_back_is_the_later_instant() {
        let cal = WorkCalendar::new("Europe/London".parse().unwrap(), [], []);
        // 25 October 2026: BST ends at 02:00; the day is 25 hours long and ends in GMT.
        assert_eq!(
            cal.end_of_day(date("2026-10-25")),
            utc("2026-10-25 23:59:59")
        );
        assert_eq!(
            cal.end_of_day(date("2026-03-29")),
            utc("2026-03-29 22:59:59")
        );
    }

    #[test]
    fn priority_shortens_internal_targets_but_not_regulatory_deadlines() {
        let p = policy("cn-2020");
        let received = local("Asia/Shanghai", "2026-03-02 10:00:00");
        let at = |prio| p.deadlines(received, prio);
        // Critical: acknowledge today, resolve in floor(15 × 0.25) = 3 days.
        let critical = at(Priority::Critical);
        assert_eq!(
            critical.acknowledge_by,
            local("Asia/Shanghai", "2026-03-02 23:59:59")
        );
        assert_eq!(
            critical.resolve_by,
            local("Asia/Shanghai", "2026-03-05 23:59:59")
        );
        // High: 1 day; floor(7.5) = 7 days.
        let high = at(Priority::High);
        assert_eq!(
            high.acknowledge_by,
            local("Asia/Shanghai", "2026-03-03 23:59:59")
        );
        assert_eq!(
            high.resolve_by,
            local("Asia/Shanghai", "2026-03-09 23:59:59")
        );
        // Normal: policy's 2 days; 12 days.
        let normal = at(Priority::Normal);
        assert_eq!(
            normal.acknowledge_by,
            local("Asia/Shanghai", "2026-03-04 23:59:59")
        );
        assert_eq!(
            normal.resolve_by,
            local("Asia/Shanghai", "2026-03-14 23:59:59")
        );
        // Low: the regulatory deadline.
        let low = at(Priority::Low);
        assert_eq!(
            low.resolve_by,
            local("Asia/Shanghai", "2026-03-17 23:59:59")
        );
        for d in [&critical, &high, &normal, &low] {
            assert_eq!(d.regulatory_resolve_by, low.regulatory_resolve_by);
            assert_eq!(d.regulatory_acknowledge_by, low.regulatory_acknowledge_by);
        }
    }

    #[test]
    fn priority_targets_keep_the_policy_unit() {
        let p = policy("uk-fca-psd");
        assert_eq!(
            p.internal_resolve_period(Priority::Critical),
            Period::business(3)
        );
        assert_eq!(
            p.internal_resolve_period(Priority::Normal),
            Period::business(12)
        );
        assert_eq!(
            p.internal_acknowledge_period(Priority::High),
            Period::business(1)
        );
        assert_eq!(
            p.internal_acknowledge_period(Priority::Low),
            Period::business(3)
        );
    }

    #[test]
    fn minimum_resolve_days_applies_but_never_beyond_the_regulatory_deadline() {
        let src = minimal().replace(
            "days = 15, unit = \"calendar\" }",
            "days = 2, unit = \"calendar\" }",
        );
        let p = SlaPolicies::from_toml(&src).unwrap();
        let p = p.default_policy();
        // floor(2 × 0.25) = 0 is raised to the 1-day minimum.
        assert_eq!(
            p.internal_resolve_period(Priority::Critical),
            Period::calendar(1)
        );
        let src = minimal().replace("resolve_days = 1", "resolve_days = 30");
        let all = SlaPolicies::from_toml(&src).unwrap();
        let d = all
            .default_policy()
            .deadlines(utc("2026-05-05 05:00:00"), Priority::Critical);
        assert_eq!(d.resolve_by, d.regulatory_resolve_by);
    }

    #[test]
    fn listed_federal_and_bank_holidays_fall_on_weekdays() {
        for id in ["us-cfpb", "uk-fca", "uk-fca-psd"] {
            let p = policy(id);
            let mut day = date("2026-01-01");
            let mut count = 0;
            while day <= date("2027-12-31") {
                if p.calendar().is_holiday(day) {
                    count += 1;
                    assert!(
                        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
                        "{id}: {day}"
                    );
                }
                day = day.succ_opt().unwrap();
            }
            assert!(count >= 16, "{id} has {count} holidays");
        }
    }

    fn minimal() -> String {
        r#"
default_policy = "p"
warning_hours = 24
[minimum]
acknowledge_days = 0
resolve_days = 1
[priority.critical]
acknowledge_days = 0
resolve_fraction = 0.25
reason = "r"
[priority.high]
acknowledge_days = 1
resolve_fraction = 0.5
reason = "r"
[priority.normal]
resolve_fraction = 0.8
reason = "r"
[priority.low]
resolve_fraction = 1.0
reason = "r"
[policies.p]
name = { en = "P", zh = "P" }
citation = "Rule 1"
time_zone = "Asia/Shanghai"
acknowledge = { days = 2, unit = "calendar" }
resolve = { days = 15, unit = "calendar" }
pause_allowed = true
holidays = ["2026-10-01"]
extra_workdays = ["2026-10-10"]
[[policies.p.extensions]]
resolve = { days = 30, unit = "calendar" }
senior_approval = false
tell_borrower = false
"#
        .to_string()
    }

    fn load_error(src: &str) -> String {
        let e = SlaPolicies::from_toml(src).expect_err("must be rejected");
        assert_eq!(e.file, "sla.toml");
        e.message
    }

    #[test]
    fn the_minimal_fixture_loads() {
        assert!(SlaPolicies::from_toml(&minimal()).is_ok());
    }

    #[test]
    fn the_warning_window_is_read_in_hours_and_must_be_positive() {
        let all = SlaPolicies::from_toml(&minimal()).unwrap();
        assert_eq!(all.warning(), Duration::hours(24));
        assert_eq!(policies().warning(), Duration::hours(24));
        for bad in ["0", "8785"] {
            let m = load_error(
                &minimal().replace("warning_hours = 24", &format!("warning_hours = {bad}")),
            );
            assert!(
                m.contains("warning_hours: ") && m.contains("outside 1..=8784"),
                "{m}"
            );
        }
        let m = load_error(&minimal().replace("warning_hours = 24\n", ""));
        assert!(m.contains("warning_hours"), "{m}");
    }

    #[test]
    fn unknown_time_zone_is_rejected() {
        let m = load_error(&minimal().replace("Asia/Shanghai", "Asia/Peking City"));
        assert!(
            m.contains("policy p: unknown time zone \"Asia/Peking City\""),
            "{m}"
        );
    }

    #[test]
    fn unknown_unit_is_rejected() {
        let m = load_error(&minimal().replace(
            "days = 2, unit = \"calendar\"",
            "days = 2, unit = \"weeks\"",
        ));
        assert!(
            m.contains("acknowledge.unit: unknown unit \"weeks\""),
            "{m}"
        );
    }

    #[test]
    fn a_holiday_that_is_also_an_extra_workday_is_rejected() {
        let m =
            load_error(&minimal().replace("[\"2026-10-10\"]", "[\"2026-10-10\", \"2026-10-01\"]"));
        assert!(
            m.contains("2026-10-01 is listed both as a holiday and as an extra workday"),
            "{m}"
        );
    }

    #[test]
    fn an_extra_workday_on_a_weekday_is_rejected() {
        let m = load_error(&minimal().replace("[\"2026-10-10\"]", "[\"2026-10-09\"]"));
        assert!(m.contains("extra workday 2026-10-09 is a Fri"), "{m}");
    }

    #[test]
    fn a_default_policy_that_names_no_preset_is_rejected() {
        let m = load_error(
            &minimal().replace("default_policy = \"p\"", "default_policy = \"cn-2019\""),
        );
        assert!(
            m.contains("default_policy \"cn-2019\" names no policy (known: p)"),
            "{m}"
        );
    }

    #[test]
    fn a_resolve_period_shorter_than_the_acknowledge_period_is_rejected() {
        let m = load_error(&minimal().replace(
            "days = 15, unit = \"calendar\" }",
            "days = 1, unit = \"calendar\" }",
        ));
        assert!(
            m.contains("resolve period (1 calendar days) is shorter than the acknowledge period"),
            "{m}"
        );
    }

    #[test]
    fn a_resolve_fraction_outside_zero_to_one_is_rejected() {
        for bad in ["0.0", "1.5", "-0.2", "nan"] {
            let m = load_error(&minimal().replace(
                "resolve_fraction = 0.8",
                &format!("resolve_fraction = {bad}"),
            ));
            assert!(
                m.contains("priority.normal.resolve_fraction") && m.contains("outside (0, 1]"),
                "{m}"
            );
        }
    }

    #[test]
    fn a_missing_or_unknown_priority_is_rejected() {
        let m = load_error(&minimal().replace("[priority.low]", "[priority.lowest]"));
        assert!(m.contains("[priority.lowest]: unknown priority"), "{m}");
        let without_low = minimal().replace(
            "[priority.low]\nresolve_fraction = 1.0\nreason = \"r\"\n",
            "",
        );
        let m = load_error(&without_low);
        assert!(m.contains("missing [priority.low] table"), "{m}");
    }

    #[test]
    fn an_extension_not_longer_than_the_base_period_is_rejected() {
        let m = load_error(&minimal().replace(
            "days = 30, unit = \"calendar\"",
            "days = 15, unit = \"calendar\"",
        ));
        assert!(
            m.contains("extensions[0].resolve (15 calendar days) must be longer"),
            "{m}"
        );
    }

    #[test]
    fn a_malformed_or_duplicate_date_is_rejected() {
        let m = load_error(&minimal().replace("[\"2026-10-01\"]", "[\"2026-13-01\"]"));
        assert!(m.contains("holidays: \"2026-13-01\" is not a date"), "{m}");
        let m =
            load_error(&minimal().replace("[\"2026-10-01\"]", "[\"2026-10-01\", \"2026-10-01\"]"));
        assert!(m.contains("holidays: 2026-10-01 is listed twice"), "{m}");
    }

    #[test]
    fn a_misspelt_field_is_rejected() {
        let m = load_error(&minimal().replace("pause_allowed", "pause_alowed"));
        assert!(m.contains("pause_alowed"), "{m}");
    }

    #[test]
    fn a_holiday_after_holidays_through_is_rejected() {
        let src = minimal().replace(
            "pause_allowed = true",
            "pause_allowed = true\nholidays_through = \"2026-06-30\"",
        );
        let m = load_error(&src);
        assert!(
            m.contains("2026-10-01 is after holidays_through 2026-06-30"),
            "{m}"
        );
    }

    const PRIORITY_ALL: [Priority; 4] = PRIORITIES;

    /// Any instant in 2026–2027.
    fn receipt() -> impl Strategy<Value = DateTime<Utc>> {
        let start = utc("2026-01-01 00:00:00").timestamp();
        let end = utc("2027-12-31 23:59:59").timestamp();
        (start..=end).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    fn on_business_day(p: &SlaPolicy, at: DateTime<Utc>) -> bool {
        p.calendar().is_business_day(p.calendar().local_date(at))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn deadlines_are_sound_for_any_receipt_and_priority(
            received in receipt(),
            later_by in 0i64..(40 * 24 * 3600),
            prio in 0usize..4,
            business in 0u32..40,
        ) {
            let all = policies();
            let priority = PRIORITY_ALL[prio];
            let later = received + Duration::seconds(later_by);
            for p in all.iter() {
                let d = p.deadlines(received, priority);
                let all_deadlines = [d.acknowledge_by, d.resolve_by, d.regulatory_acknowledge_by, d.regulatory_resolve_by];
                // (a) nothing is due before receipt.
                for t in all_deadlines {
                    prop_assert!(t >= received, "{}: {t} before {received}", p.id);
                }
                // (b) business-day deadlines land on business days (extra workdays included).
                if p.acknowledge.unit == DayUnit::Business {
                    prop_assert!(on_business_day(p, d.regulatory_acknowledge_by));
                    prop_assert!(on_business_day(p, d.acknowledge_by) || d.acknowledge_by == d.resolve_by);
                }
                if p.resolve.unit == DayUnit::Business {
                    prop_assert!(on_business_day(p, d.regulatory_resolve_by));
                    prop_assert!(on_business_day(p, d.resolve_by));
                }
                let due = p.add_period(received, Period::business(business));
                prop_assert!(on_business_day(p, due), "{}: {due}", p.id);
                prop_assert!(due >= received);
                // Counted independently: exactly N business days after the day of receipt
                // up to and including the due date (N = 0: none after the receipt day).
                let (start, end) = (p.calendar().local_date(received), p.calendar().local_date(due));
                let counted = start
                    .iter_days()
                    .skip(1)
                    .take_while(|day| *day <= end)
                    .filter(|day| {
                        p.calendar().is_extra_workday(*day)
                            || (!matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
                                && !p.calendar().is_holiday(*day))
                    })
                    .count();
                prop_assert_eq!(counted, usize::try_from(business).unwrap().max(usize::from(start != end)));
                // Every deadline is the last second of a local day.
                for t in all_deadlines {
                    let local = t.with_timezone(&p.time_zone());
                    prop_assert_eq!(local.time(), NaiveTime::from_hms_opt(23, 59, 59).unwrap());
                }
                // (c) monotonic in the receipt time.
                let e = p.deadlines(later, priority);
                prop_assert!(e.acknowledge_by >= d.acknowledge_by);
                prop_assert!(e.resolve_by >= d.resolve_by);
                prop_assert!(e.regulatory_acknowledge_by >= d.regulatory_acknowledge_by);
                prop_assert!(e.regulatory_resolve_by >= d.regulatory_resolve_by);
                // (d) internal targets are never later than the regulatory deadlines,
                // nor than the targets of a lower priority.
                prop_assert!(d.acknowledge_by <= d.regulatory_acknowledge_by);
                prop_assert!(d.resolve_by <= d.regulatory_resolve_by);
                prop_assert!(d.acknowledge_by <= d.resolve_by);
                let low = p.deadlines(received, Priority::Low);
                prop_assert!(d.resolve_by <= low.resolve_by);
                // Extensions only ever move the resolution deadline later.
                let mut previous = d.regulatory_resolve_by;
                for step in 0..p.extensions().len() {
                    let extended = p.extended_resolve_by(received, step).unwrap();
                    prop_assert!(extended > previous);
                    previous = extended;
                }
            }
        }
    }
}
