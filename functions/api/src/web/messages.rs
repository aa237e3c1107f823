//! The pages' message catalogue: every UI string, once per language. [`Msg`] names a
//! message; [`en`] and [`zh`] are the two catalogues, each an exhaustive `match`, so a
//! message missing from either language is a compile error. Labels that come from the
//! configuration (teams, categories, products, SLA policies) are bilingual there.
//!
//! The borrower pages (`borrower.rs`) still carry their own inline pairs: moving them
//! here is the next step.

use super::html::Lang;
use chrono::{DateTime, Utc};
use redress_domain::lifecycle::{ActionKind, DeadlineKind};
use redress_domain::taxonomy::{Priority, Signal};
use redress_domain::ticket::ResolutionCode;

/// A UI message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    Brand,
    /// This language's own name (the switch to it).
    LanguageName,
    Footer,
    Back,
    SomethingWrong,
    TeamConsole,
    SignIn,
    SsoSignIn,
    OrPasteToken,
    SignInToken,
    ConsoleTokenHint,
    SignOut,
    Team,
    Status,
    Priority,
    Category,
    Channel,
    Product,
    OverdueOnly,
    FilterShow,
    Any,
    Queue,
    OpenTicketsNearestFirst,
    NothingHere,
    Reference,
    NextDeadline,
    Signals,
    Overdue,
    DueSoon,
    Paused,
    More,
    DeadlineAcknowledge,
    DeadlineResolve,
    BackToQueue,
    ReceivedAt,
    AcknowledgeBy,
    ResolveBy,
    SlaPolicy,
    NoneShown,
    RepeatOf,
    Contact,
    Routing,
    Version,
    ComplaintText,
    DesiredOutcome,
    Resolution,
    Actions,
    NoActions,
    History,
    ActAcknowledge,
    ActStartAnalysis,
    ActResolve,
    ActAddNote,
    ActTransfer,
    ActPause,
    ActResume,
    ActExtend,
    ActReopen,
    ActClose,
    Outcome,
    SummaryForBorrower,
    InternalNote,
    ToTeam,
    Reason,
    PauseReason,
    ExtensionReason,
    CodeUpheld,
    CodePartlyUpheld,
    CodeNotUpheld,
    CodeWithdrawn,
    PriorityLow,
    PriorityNormal,
    PriorityHigh,
    PriorityCritical,
    SignalThreat,
    SignalVulnerability,
    SignalAuthority,
    SignalThirdParty,
    SignalFraud,
    SignalNightCollection,
    SignalExcessiveCalls,
    SignalRepeat,
    ManagementDashboard,
    ManagersOnly,
    TeamConsoleShared,
    DashboardTokenHint,
    From,
    To,
    Report,
    GroupBy,
    ReportShow,
    Period,
    ComparedWith,
    ChartTrend,
    ChartOnTime,
    ChartAck,
    ChartVolume,
    ThisVsPrevious,
    ByGroup,
    DownloadCsv,
    Definitions,
    Figure,
    ThisPeriod,
    Previous,
    Change,
    Counts,
    ReportOverview,
    ReportSatisfaction,
    ReportRepeat,
    ReportDeadlines,
    UnitMin,
    UnitMinShort,
    UnitHour,
    UnitDays,
    UnitPoints,
}

/// The English catalogue.
pub fn en(m: Msg) -> &'static str {
    match m {
        Msg::Brand => "Redress complaints",
        Msg::LanguageName => "English",
        Msg::Footer => "Your complaint is handled under the consumer-complaint rules that apply to your loan.",
        Msg::Back => "Back",
        Msg::SomethingWrong => "Something went wrong.",
        Msg::TeamConsole => "Team console",
        Msg::SignIn => "Sign in",
        Msg::SsoSignIn => "Sign in with your staff account",
        Msg::OrPasteToken => "Or paste a token:",
        Msg::SignInToken => "Sign-in token",
        Msg::ConsoleTokenHint => "Locally: target/debug/redress token --user alice --team billing. The token is kept in this tab only.",
        Msg::SignOut => "Sign out",
        Msg::Team => "Team",
        Msg::Status => "Status",
        Msg::Priority => "Priority",
        Msg::Category => "Category",
        Msg::Channel => "Channel",
        Msg::Product => "Product",
        Msg::OverdueOnly => "Overdue only",
        Msg::FilterShow => "Show",
        Msg::Any => "any",
        Msg::Queue => "Queue",
        Msg::OpenTicketsNearestFirst => "open tickets, nearest deadline first",
        Msg::NothingHere => "Nothing here.",
        Msg::Reference => "Reference",
        Msg::NextDeadline => "Next deadline",
        Msg::Signals => "Signals",
        Msg::Overdue => "Overdue",
        Msg::DueSoon => "Due < 24 h",
        Msg::Paused => "Paused",
        Msg::More => "More",
        Msg::DeadlineAcknowledge => "acknowledge",
        Msg::DeadlineResolve => "resolve",
        Msg::BackToQueue => "← Back to the queue",
        Msg::ReceivedAt => "Received",
        Msg::AcknowledgeBy => "Acknowledge by",
        Msg::ResolveBy => "Resolve by",
        Msg::SlaPolicy => "SLA policy",
        Msg::NoneShown => "none",
        Msg::RepeatOf => "Repeat of",
        Msg::Contact => "Contact",
        Msg::Routing => "Routing",
        Msg::Version => "Version",
        Msg::ComplaintText => "Complaint",
        Msg::DesiredOutcome => "Desired outcome",
        Msg::Resolution => "Resolution",
        Msg::Actions => "Actions",
        Msg::NoActions => "No action is open for this ticket now.",
        Msg::History => "History",
        Msg::ActAcknowledge => "Acknowledge",
        Msg::ActStartAnalysis => "Start analysis",
        Msg::ActResolve => "Resolve",
        Msg::ActAddNote => "Add note",
        Msg::ActTransfer => "Transfer",
        Msg::ActPause => "Pause the clock",
        Msg::ActResume => "Resume the clock",
        Msg::ActExtend => "Extend the deadline",
        Msg::ActReopen => "Reopen",
        Msg::ActClose => "Close",
        Msg::Outcome => "Outcome",
        Msg::SummaryForBorrower => "Summary for the borrower",
        Msg::InternalNote => "Internal note",
        Msg::ToTeam => "To team",
        Msg::Reason => "Reason",
        Msg::PauseReason => "Waiting for the borrower because…",
        Msg::ExtensionReason => "Reason for the extension",
        Msg::CodeUpheld => "Upheld",
        Msg::CodePartlyUpheld => "Partly upheld",
        Msg::CodeNotUpheld => "Not upheld",
        Msg::CodeWithdrawn => "Withdrawn",
        Msg::PriorityLow => "Low",
        Msg::PriorityNormal => "Normal",
        Msg::PriorityHigh => "High",
        Msg::PriorityCritical => "Critical",
        Msg::SignalThreat => "Threat",
        Msg::SignalVulnerability => "Vulnerable borrower",
        Msg::SignalAuthority => "Regulator / court / press",
        Msg::SignalThirdParty => "Third parties contacted",
        Msg::SignalFraud => "Fraud in progress",
        Msg::SignalNightCollection => "Night-time collection",
        Msg::SignalExcessiveCalls => "Excessive calls",
        Msg::SignalRepeat => "Repeat complaint",
        Msg::ManagementDashboard => "Management dashboard",
        Msg::ManagersOnly => "Managers only. The sign-in is shared with the",
        Msg::TeamConsoleShared => "team console",
        Msg::DashboardTokenHint => "Locally: target/debug/redress token --user demo-manager --manager",
        Msg::From => "From",
        Msg::To => "To",
        Msg::Report => "Report",
        Msg::GroupBy => "Group by",
        Msg::ReportShow => "Show",
        Msg::Period => "Period",
        Msg::ComparedWith => "compared with",
        Msg::ChartTrend => "CSAT and repeat rate over time",
        Msg::ChartOnTime => "Resolved on time, by team (tick: previous period)",
        Msg::ChartAck => "Acknowledged on time, by team",
        Msg::ChartVolume => "Complaints received, by category (tick: previous period)",
        Msg::ThisVsPrevious => "This period against the previous one",
        Msg::ByGroup => "By group",
        Msg::DownloadCsv => "Download CSV",
        Msg::Definitions => "Definitions",
        Msg::Figure => "Figure",
        Msg::ThisPeriod => "This period",
        Msg::Previous => "Previous",
        Msg::Change => "Change",
        Msg::Counts => "Counts",
        Msg::ReportOverview => "Overview",
        Msg::ReportSatisfaction => "Satisfaction",
        Msg::ReportRepeat => "Repeat complaints",
        Msg::ReportDeadlines => "Deadlines",
        Msg::UnitMin => "min",
        Msg::UnitMinShort => "min",
        Msg::UnitHour => "h",
        Msg::UnitDays => "days",
        Msg::UnitPoints => "pt",
    }
}

/// The Chinese catalogue.
pub fn zh(m: Msg) -> &'static str {
    match m {
        Msg::Brand => "Redress 投诉服务",
        Msg::LanguageName => "中文",
        Msg::Footer => "您的投诉将按照适用于您借款的消费者投诉规定处理。",
        Msg::Back => "返回",
        Msg::SomethingWrong => "出错了。",
        Msg::TeamConsole => "团队工作台",
        Msg::SignIn => "登录",
        Msg::SsoSignIn => "使用员工账号登录",
        Msg::OrPasteToken => "或粘贴令牌：",
        Msg::SignInToken => "登录令牌",
        Msg::ConsoleTokenHint => "本地开发：target/debug/redress token --user alice --team billing。令牌只保存在当前标签页。",
        Msg::SignOut => "退出",
        Msg::Team => "团队",
        Msg::Status => "状态",
        Msg::Priority => "优先级",
        Msg::Category => "类别",
        Msg::Channel => "渠道",
        Msg::Product => "产品",
        Msg::OverdueOnly => "仅显示逾期",
        Msg::FilterShow => "筛选",
        Msg::Any => "全部",
        Msg::Queue => "队列",
        Msg::OpenTicketsNearestFirst => "个未结工单，按最近期限排序",
        Msg::NothingHere => "没有工单。",
        Msg::Reference => "编号",
        Msg::NextDeadline => "最近期限",
        Msg::Signals => "信号",
        Msg::Overdue => "已逾期",
        Msg::DueSoon => "24 小时内到期",
        Msg::Paused => "已暂停",
        Msg::More => "更多",
        Msg::DeadlineAcknowledge => "确认",
        Msg::DeadlineResolve => "解决",
        Msg::BackToQueue => "← 返回队列",
        Msg::ReceivedAt => "收到时间",
        Msg::AcknowledgeBy => "确认期限",
        Msg::ResolveBy => "解决期限",
        Msg::SlaPolicy => "时限政策",
        Msg::NoneShown => "无",
        Msg::RepeatOf => "重复投诉，之前的编号",
        Msg::Contact => "联系方式",
        Msg::Routing => "分派",
        Msg::Version => "版本",
        Msg::ComplaintText => "投诉内容",
        Msg::DesiredOutcome => "期望结果",
        Msg::Resolution => "处理结果",
        Msg::Actions => "操作",
        Msg::NoActions => "该工单当前没有可执行的操作。",
        Msg::History => "处理记录",
        Msg::ActAcknowledge => "确认受理",
        Msg::ActStartAnalysis => "开始调查",
        Msg::ActResolve => "解决",
        Msg::ActAddNote => "添加备注",
        Msg::ActTransfer => "转派",
        Msg::ActPause => "暂停计时",
        Msg::ActResume => "恢复计时",
        Msg::ActExtend => "延长期限",
        Msg::ActReopen => "重新打开",
        Msg::ActClose => "结案",
        Msg::Outcome => "结论",
        Msg::SummaryForBorrower => "给借款人的答复",
        Msg::InternalNote => "内部备注",
        Msg::ToTeam => "转至团队",
        Msg::Reason => "原因",
        Msg::PauseReason => "等待借款人的原因",
        Msg::ExtensionReason => "延期原因",
        Msg::CodeUpheld => "投诉成立",
        Msg::CodePartlyUpheld => "部分成立",
        Msg::CodeNotUpheld => "不成立",
        Msg::CodeWithdrawn => "撤回",
        Msg::PriorityLow => "低",
        Msg::PriorityNormal => "普通",
        Msg::PriorityHigh => "高",
        Msg::PriorityCritical => "紧急",
        Msg::SignalThreat => "威胁",
        Msg::SignalVulnerability => "弱势借款人",
        Msg::SignalAuthority => "提及监管、法院或媒体",
        Msg::SignalThirdParty => "骚扰第三方",
        Msg::SignalFraud => "正在发生的欺诈",
        Msg::SignalNightCollection => "夜间催收",
        Msg::SignalExcessiveCalls => "过度致电",
        Msg::SignalRepeat => "重复投诉",
        Msg::ManagementDashboard => "管理报表",
        Msg::ManagersOnly => "仅限管理人员。登录状态与",
        Msg::TeamConsoleShared => "团队工作台共用",
        Msg::DashboardTokenHint => "本地开发：target/debug/redress token --user demo-manager --manager",
        Msg::From => "开始",
        Msg::To => "结束",
        Msg::Report => "报表",
        Msg::GroupBy => "分组",
        Msg::ReportShow => "查看",
        Msg::Period => "期间",
        Msg::ComparedWith => "对比上期",
        Msg::ChartTrend => "满意度与重复投诉率趋势",
        Msg::ChartOnTime => "各团队按时办结率（竖线：上期）",
        Msg::ChartAck => "各团队按时确认率",
        Msg::ChartVolume => "各类别投诉量（竖线：上期）",
        Msg::ThisVsPrevious => "本期与上期对比",
        Msg::ByGroup => "分组",
        Msg::DownloadCsv => "下载 CSV",
        Msg::Definitions => "指标定义",
        Msg::Figure => "指标",
        Msg::ThisPeriod => "本期",
        Msg::Previous => "上期",
        Msg::Change => "变化",
        Msg::Counts => "计数",
        Msg::ReportOverview => "总览",
        Msg::ReportSatisfaction => "满意度",
        Msg::ReportRepeat => "重复投诉",
        Msg::ReportDeadlines => "时限达标",
        Msg::UnitMin => "分钟",
        Msg::UnitMinShort => "分",
        Msg::UnitHour => "小时",
        Msg::UnitDays => "天",
        Msg::UnitPoints => "个百分点",
    }
}
impl Lang {
    /// A message in this language.
    pub fn msg(self, m: Msg) -> &'static str {
        match self {
            Lang::En => en(m),
            Lang::Zh => zh(m),
        }
    }
}

/// The button of an action.
pub fn action_label(kind: ActionKind) -> Msg {
    match kind {
        ActionKind::Acknowledge => Msg::ActAcknowledge,
        ActionKind::StartAnalysis => Msg::ActStartAnalysis,
        ActionKind::Resolve => Msg::ActResolve,
        ActionKind::AddNote => Msg::ActAddNote,
        ActionKind::Transfer => Msg::ActTransfer,
        ActionKind::Pause => Msg::ActPause,
        ActionKind::Resume => Msg::ActResume,
        ActionKind::Extend => Msg::ActExtend,
        ActionKind::Reopen => Msg::ActReopen,
        ActionKind::Close => Msg::ActClose,
    }
}

/// Which deadline a countdown is for (`acknowledge` / `resolve`).
pub fn deadline_label(kind: DeadlineKind) -> Msg {
    match kind {
        DeadlineKind::Acknowledge => Msg::DeadlineAcknowledge,
        DeadlineKind::Resolve => Msg::DeadlineResolve,
    }
}

pub fn priority_label(p: Priority) -> Msg {
    match p {
        Priority::Low => Msg::PriorityLow,
        Priority::Normal => Msg::PriorityNormal,
        Priority::High => Msg::PriorityHigh,
        Priority::Critical => Msg::PriorityCritical,
    }
}

pub fn signal_label(s: Signal) -> Msg {
    match s {
        Signal::Threat => Msg::SignalThreat,
        Signal::Vulnerability => Msg::SignalVulnerability,
        Signal::AuthorityMention => Msg::SignalAuthority,
        Signal::ThirdPartyHarassment => Msg::SignalThirdParty,
        Signal::FraudInProgress => Msg::SignalFraud,
        Signal::NightCollection => Msg::SignalNightCollection,
        Signal::ExcessiveCalls => Msg::SignalExcessiveCalls,
        Signal::Repeat => Msg::SignalRepeat,
    }
}

pub fn resolution_label(code: ResolutionCode) -> Msg {
    match code {
        ResolutionCode::Upheld => Msg::CodeUpheld,
        ResolutionCode::PartlyUpheld => Msg::CodePartlyUpheld,
        ResolutionCode::NotUpheld => Msg::CodeNotUpheld,
        ResolutionCode::Withdrawn => Msg::CodeWithdrawn,
    }
}

/// "3 d 4 h left" / "overdue by 5 h" — the server's first rendering of a countdown (the
/// script keeps it ticking).
pub fn countdown(lang: Lang, deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
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

/// The name of a report figure (`csat`, `resolved_on_time_rate` …); the figure's id
/// when the catalogue has no name for it.
pub fn figure_label(lang: Lang, name: &str) -> &str {
    let table: &[(&str, &str)] = match lang {
        Lang::En => FIGURES_EN,
        Lang::Zh => FIGURES_ZH,
    };
    table
        .iter()
        .find(|(id, _)| *id == name)
        .map_or(name, |(_, label)| label)
}

const FIGURES_EN: &[(&str, &str)] = &[
    ("csat", "CSAT (4–5)"),
    ("average_csat", "Average CSAT"),
    ("nps", "NPS"),
    ("response_rate", "Survey response rate"),
    ("answers", "Survey answers"),
    ("promoters", "Promoters"),
    ("passives", "Passives"),
    ("detractors", "Detractors"),
    ("sent", "Surveys sent"),
    ("solved_yes", "Solved"),
    ("solved_partly", "Partly solved"),
    ("solved_no", "Not solved"),
    ("repeat_rate_any", "Repeat rate"),
    ("repeat_rate_same_category", "Repeat rate, same category"),
    ("received", "Received"),
    ("reopened", "Reopened"),
    ("acknowledged", "Acknowledged"),
    ("resolved", "Resolved"),
    ("acknowledged_on_time_rate", "Acknowledged on time"),
    ("resolved_on_time_rate", "Resolved on time"),
    (
        "median_minutes_to_acknowledge",
        "Median time to acknowledge",
    ),
    ("p90_minutes_to_acknowledge", "P90 time to acknowledge"),
    ("median_minutes_to_resolve", "Median time to resolve"),
    ("p90_minutes_to_resolve", "P90 time to resolve"),
    ("overdue_now", "Overdue now"),
];

const FIGURES_ZH: &[(&str, &str)] = &[
    ("csat", "满意度 CSAT"),
    ("average_csat", "平均满意度"),
    ("nps", "净推荐值 NPS"),
    ("response_rate", "调查回复率"),
    ("answers", "答卷数"),
    ("promoters", "推荐者"),
    ("passives", "中立者"),
    ("detractors", "贬损者"),
    ("sent", "发出调查"),
    ("solved_yes", "已解决"),
    ("solved_partly", "部分解决"),
    ("solved_no", "未解决"),
    ("repeat_rate_any", "重复投诉率"),
    ("repeat_rate_same_category", "同类重复投诉率"),
    ("received", "受理量"),
    ("reopened", "重新处理"),
    ("acknowledged", "已确认"),
    ("resolved", "已办结"),
    ("acknowledged_on_time_rate", "按时确认率"),
    ("resolved_on_time_rate", "按时办结率"),
    ("median_minutes_to_acknowledge", "确认用时中位数"),
    ("p90_minutes_to_acknowledge", "确认用时 P90"),
    ("median_minutes_to_resolve", "办结用时中位数"),
    ("p90_minutes_to_resolve", "办结用时 P90"),
    ("overdue_now", "当前逾期"),
];

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
    }

    #[test]
    fn both_catalogues_name_every_figure_and_every_action() {
        for (id, _) in FIGURES_EN {
            assert_ne!(figure_label(Lang::Zh, id), *id, "{id} has no Chinese name");
        }
        assert_eq!(FIGURES_EN.len(), FIGURES_ZH.len());
        for kind in ActionKind::ALL {
            let m = action_label(kind);
            assert!(!en(m).is_empty() && !zh(m).is_empty() && en(m) != zh(m));
        }
    }
}
