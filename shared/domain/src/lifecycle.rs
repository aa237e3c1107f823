//! The ticket lifecycle: what a team (or the pipeline) may do to a ticket, and the audit
//! event each action leaves. Pure: the caller writes the new ticket and its event in one
//! transaction, conditional on the version it read (optimistic concurrency).
//!
//! Stages: received → acknowledged → under_analysis → resolved → closed. A resolved
//! ticket the borrower disputes is reopened and goes back into work: reopened →
//! acknowledged or under_analysis → resolved again.
//!
//! Rules chosen where the design left a choice:
//! - Resolve needs `under_analysis`: regulators expect an analysis stage, so a ticket is
//!   never resolved straight from `acknowledged`. Analysis needs an acknowledgement first.
//! - Only a resolved ticket is reopened. A closed ticket is refused: a new complaint about
//!   the same matter gets its own ticket (intake links it as a repeat).
//! - Reopen clears `resolution` (the old one is kept in the `reopened` event) and keeps
//!   `resolved_at`; each Resolve sets `resolved_at` and `resolution` again, so on a
//!   resolved ticket they describe the latest resolution. `acknowledged_at` and
//!   `analysis_started_at` are the first time the stage was reached and never move.
//! - Deadlines never restart: not on transfer, not on reopen (a dispute continues the
//!   original complaint, so an overdue reopened ticket is flagged by the sweeper at once).
//! - While the clock is paused, notes, transfers, acknowledgement and starting analysis
//!   are allowed (they are work, and acknowledging the borrower must never wait);
//!   Resolve, Extend and Close are refused until the clock is resumed.
//! - Resume moves the internal targets by the paused time (whole seconds), and the
//!   regulatory deadlines too only when the policy's pause stops the regulatory clock
//!   (the acknowledgement deadline of a policy whose rule sets none, `acknowledge_internal`,
//!   is our own and always moves). The acknowledgement deadlines move only while the
//!   ticket is unacknowledged. An internal target is never moved past its regulatory
//!   deadline: when the regulatory clock keeps running, that deadline is the real limit.
//! - When Resume or Extend moves a deadline into the future, the sweeper's warning and
//!   breach marks for it are cleared, so the new deadline is watched too.
//! - Extend takes the policy's first extension step (cn-2020: 15 → 30 days from receipt);
//!   later steps are out of reach, as a ticket has one extension. It moves the regulatory
//!   resolution deadline, and the internal one by the same amount.

use crate::classify::{CategorySource, Correction};
use crate::config::DomainConfig;
use crate::sla::SlaPolicy;
use crate::taxonomy::Bilingual;
use crate::ticket::{
    Actor, AuditAction, AuditEvent, DeadlineMarks, ExtensionGrant, Resolution, ResolutionCode,
    Ticket, TicketStatus,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Longest note, in characters, after trimming.
pub const MAX_NOTE_CHARS: usize = 4000;
/// Longest resolution summary, in characters, after trimming.
pub const MAX_SUMMARY_CHARS: usize = 4000;
/// Longest reason (transfer, pause, extension, reopen, close), in characters, after trimming.
pub const MAX_REASON_CHARS: usize = 1000;

/// Something a person (or the pipeline) does to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Acknowledge,
    StartAnalysis,
    AddNote {
        text: String,
    },
    Resolve {
        code: ResolutionCode,
        summary: String,
    },
    Transfer {
        to_team: String,
        reason: String,
        /// The category the receiving team should handle it under, when the intake got
        /// it wrong. A change is recorded as a correction for the next training run.
        #[serde(default)]
        category: Option<String>,
    },
    Pause {
        reason: String,
    },
    Resume,
    Extend {
        reason: String,
    },
    Reopen {
        reason: String,
    },
    Close {
        reason: String,
    },
}

impl Action {
    /// The action's identifier, as in its JSON `action` tag (`start_analysis` …).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::StartAnalysis => "start_analysis",
            Action::AddNote { .. } => "add_note",
            Action::Resolve { .. } => "resolve",
            Action::Transfer { .. } => "transfer",
            Action::Pause { .. } => "pause",
            Action::Resume => "resume",
            Action::Extend { .. } => "extend",
            Action::Reopen { .. } => "reopen",
            Action::Close { .. } => "close",
        }
    }

    /// What the audit event of a successful action records.
    pub fn event_name(&self) -> AuditAction {
        match self {
            Action::Acknowledge => AuditAction::Acknowledged,
            Action::StartAnalysis => AuditAction::AnalysisStarted,
            Action::AddNote { .. } => AuditAction::NoteAdded,
            Action::Resolve { .. } => AuditAction::Resolved,
            Action::Transfer { .. } => AuditAction::Transferred,
            Action::Pause { .. } => AuditAction::Paused,
            Action::Resume => AuditAction::Resumed,
            Action::Extend { .. } => AuditAction::Extended,
            Action::Reopen { .. } => AuditAction::Reopened,
            Action::Close { .. } => AuditAction::Closed,
        }
    }

    /// The kind of action, without its input.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Acknowledge => ActionKind::Acknowledge,
            Action::StartAnalysis => ActionKind::StartAnalysis,
            Action::AddNote { .. } => ActionKind::AddNote,
            Action::Resolve { .. } => ActionKind::Resolve,
            Action::Transfer { .. } => ActionKind::Transfer,
            Action::Pause { .. } => ActionKind::Pause,
            Action::Resume => ActionKind::Resume,
            Action::Extend { .. } => ActionKind::Extend,
            Action::Reopen { .. } => ActionKind::Reopen,
            Action::Close { .. } => ActionKind::Close,
        }
    }

    /// The statuses the action may be taken from (before any other rule is checked).
    pub fn allowed_from(&self) -> &'static [TicketStatus] {
        self.kind().allowed_from()
    }
}

/// An action without its input (note text, reason …): what a page offers as a button and
/// what [`allowed_actions`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Acknowledge,
    StartAnalysis,
    AddNote,
    Resolve,
    Transfer,
    Pause,
    Resume,
    Extend,
    Reopen,
    Close,
}

impl ActionKind {
    /// Every kind, the work's next steps first (the order the console shows them in).
    pub const ALL: [ActionKind; 10] = [
        ActionKind::Acknowledge,
        ActionKind::StartAnalysis,
        ActionKind::Resolve,
        ActionKind::Close,
        ActionKind::Reopen,
        ActionKind::AddNote,
        ActionKind::Transfer,
        ActionKind::Pause,
        ActionKind::Resume,
        ActionKind::Extend,
    ];

    /// The identifier, as in an action's JSON `action` tag (`start_analysis` …).
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Acknowledge => "acknowledge",
            ActionKind::StartAnalysis => "start_analysis",
            ActionKind::AddNote => "add_note",
            ActionKind::Resolve => "resolve",
            ActionKind::Transfer => "transfer",
            ActionKind::Pause => "pause",
            ActionKind::Resume => "resume",
            ActionKind::Extend => "extend",
            ActionKind::Reopen => "reopen",
            ActionKind::Close => "close",
        }
    }

    /// The statuses the action may be taken from (before any other rule is checked).
    pub fn allowed_from(self) -> &'static [TicketStatus] {
        use TicketStatus::*;
        const OPEN: &[TicketStatus] = &[Received, Acknowledged, UnderAnalysis, Reopened];
        match self {
            ActionKind::Acknowledge => &[Received, Reopened],
            ActionKind::StartAnalysis => &[Acknowledged, Reopened],
            ActionKind::AddNote => &[Received, Acknowledged, UnderAnalysis, Resolved, Reopened],
            ActionKind::Resolve => &[UnderAnalysis],
            ActionKind::Transfer | ActionKind::Pause | ActionKind::Resume | ActionKind::Extend => {
                OPEN
            }
            ActionKind::Reopen | ActionKind::Close => &[Resolved],
        }
    }
}

/// Who acts, as far as the lifecycle's rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A member of the team that has the ticket.
    TeamMember,
    /// A manager: may also grant an extension that needs senior approval.
    Manager,
    /// The pipeline itself (intake, sweeper, surveys).
    System,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::TeamMember, Role::Manager, Role::System];

    /// The role of an actor, from the role recorded in the audit trail. Anything that is
    /// not `manager` or `system` is a team member: the least-privileged reading.
    pub fn of(actor: &Actor) -> Role {
        match actor.role.as_str() {
            "manager" => Role::Manager,
            "system" => Role::System,
            _ => Role::TeamMember,
        }
    }

    /// True for the roles that may give a senior approval.
    fn is_senior(self) -> bool {
        matches!(self, Role::Manager | Role::System)
    }
}

/// The actions `role` may take on `ticket` now: exactly those whose every rule that does not
/// depend on the action's input (text, reason, target team) is met. The api refuses with
/// the same rules ([`apply`] checks them first) and the pages offer exactly this list, so
/// an offered action fails only on its input (an empty reason) or on a concurrent change.
pub fn allowed_actions(ticket: &Ticket, role: Role, config: &DomainConfig) -> Vec<ActionKind> {
    ActionKind::ALL
        .into_iter()
        .filter(|kind| permits(ticket, *kind, role, config).is_ok())
        .collect()
}

/// Which of a ticket's deadlines a team works towards next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Acknowledge,
    Resolve,
}

/// The deadline a team works towards next: the acknowledgement deadline while the ticket
/// was never acknowledged (only `received`: every other status passed an Acknowledge),
/// then the resolution deadline. A reopened ticket was acknowledged before and its
/// deadlines never restart, so it works to its resolution deadline. The queue index is
/// ordered by this, and every page labels the deadline by it.
pub fn next_deadline(
    status: TicketStatus,
    deadlines: &crate::sla::Deadlines,
) -> (DeadlineKind, DateTime<Utc>) {
    if status == TicketStatus::Received {
        (DeadlineKind::Acknowledge, deadlines.acknowledge_by)
    } else {
        (DeadlineKind::Resolve, deadlines.resolve_by)
    }
}

/// Why `role` may not take an action of this kind on `ticket` now, if it may not; the
/// rules of [`allowed_actions`]. Input (texts, the target team) is checked by [`apply`].
pub fn permits(
    ticket: &Ticket,
    kind: ActionKind,
    role: Role,
    config: &DomainConfig,
) -> Result<(), LifecycleError> {
    let from = ticket.status;
    if !kind.allowed_from().contains(&from) {
        if from == TicketStatus::Closed && kind == ActionKind::Reopen {
            return Err(Refusal::ClosedTicket.into());
        }
        return Err(LifecycleError::InvalidTransition {
            from,
            action: kind.name(),
        });
    }
    if ticket.version.checked_add(1).is_none() {
        return Err(Refusal::TooManyChanges.into());
    }
    let paused = ticket.paused_since.is_some();
    match kind {
        ActionKind::Resolve | ActionKind::Close if paused => Err(Refusal::ClockPaused.into()),
        ActionKind::Transfer => {
            // Offered only when there is another team to send the ticket to.
            if config.routing.teams().iter().any(|t| t.id != ticket.team) {
                Ok(())
            } else {
                Err(Refusal::SameTeam.into())
            }
        }
        ActionKind::Pause => {
            if paused {
                return Err(Refusal::AlreadyPaused.into());
            }
            if !policy_of(ticket, config)?.pause_allowed {
                return Err(Refusal::PauseNotAllowed.into());
            }
            Ok(())
        }
        ActionKind::Resume if !paused => Err(Refusal::NotPaused.into()),
        ActionKind::Extend => {
            if ticket.extension.is_some() {
                return Err(Refusal::ExtensionUsed.into());
            }
            if paused {
                return Err(Refusal::ClockPaused.into());
            }
            let (step, _) = extension_target(ticket, policy_of(ticket, config)?)?;
            if step.senior_approval && !role.is_senior() {
                return Err(Refusal::SeniorApproval.into());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Why an action was refused. Nothing changes when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The action is not possible from the ticket's status (`action` is [`Action::name`]).
    #[error("cannot {action} a ticket that is {from}")]
    InvalidTransition {
        from: TicketStatus,
        action: &'static str,
    },
    /// A field of the action is missing, empty, too long or names nothing known.
    #[error("invalid input: {field}: {message}")]
    InvalidInput { field: String, message: String },
    /// A rule refuses the action.
    #[error("{}", .0.message().en)]
    NotAllowed(Refusal),
}

/// The rules that refuse an action, each with a stable code and a bilingual message
/// (carried by [`LifecycleError::NotAllowed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// A ticket takes one extension.
    ExtensionUsed,
    /// The ticket's SLA policy has no extension step.
    NoExtension,
    /// The extension step would not move the deadline later (the ticket's deadline is
    /// already at or past it).
    ExtensionNotLater,
    /// The ticket's SLA policy does not allow pausing.
    PauseNotAllowed,
    /// Pause on a paused ticket.
    AlreadyPaused,
    /// Resume on a ticket that is not paused.
    NotPaused,
    /// Resolve, Extend or Close while the clock is paused.
    ClockPaused,
    /// Transfer to the team that has the ticket.
    SameTeam,
    /// Reopen on a closed ticket.
    ClosedTicket,
    /// The ticket names an SLA policy the configuration no longer has.
    UnknownPolicy,
    /// The version counter is exhausted.
    TooManyChanges,
    /// A survey answer for a closed ticket: its survey was already answered (or its
    /// window ended).
    SurveyAlreadyAnswered,
    /// The extension step needs a senior (manager's) approval.
    SeniorApproval,
}

impl Refusal {
    /// Every refusal.
    pub const ALL: [Refusal; 13] = [
        Refusal::ExtensionUsed,
        Refusal::NoExtension,
        Refusal::ExtensionNotLater,
        Refusal::PauseNotAllowed,
        Refusal::AlreadyPaused,
        Refusal::NotPaused,
        Refusal::ClockPaused,
        Refusal::SameTeam,
        Refusal::ClosedTicket,
        Refusal::UnknownPolicy,
        Refusal::TooManyChanges,
        Refusal::SurveyAlreadyAnswered,
        Refusal::SeniorApproval,
    ];

    /// Stable machine code (`extension_used` …).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::ExtensionUsed => "extension_used",
            Refusal::NoExtension => "no_extension",
            Refusal::ExtensionNotLater => "extension_not_later",
            Refusal::PauseNotAllowed => "pause_not_allowed",
            Refusal::AlreadyPaused => "already_paused",
            Refusal::NotPaused => "not_paused",
            Refusal::ClockPaused => "clock_paused",
            Refusal::SameTeam => "same_team",
            Refusal::ClosedTicket => "closed_ticket",
            Refusal::UnknownPolicy => "unknown_policy",
            Refusal::TooManyChanges => "too_many_changes",
            Refusal::SurveyAlreadyAnswered => "already_answered",
            Refusal::SeniorApproval => "senior_approval",
        }
    }

    fn texts(self) -> (&'static str, &'static str) {
        match self {
            Refusal::ExtensionUsed => (
                "this ticket already had its one extension",
                "该工单已使用过唯一一次延期",
            ),
            Refusal::NoExtension => (
                "the ticket's SLA policy allows no extension",
                "该工单适用的时限规则不允许延期",
            ),
            Refusal::ExtensionNotLater => (
                "the extension would not move the resolution deadline later",
                "延期不会推后办结期限",
            ),
            Refusal::PauseNotAllowed => (
                "the ticket's SLA policy does not allow pausing the clock",
                "该工单适用的时限规则不允许暂停计时",
            ),
            Refusal::AlreadyPaused => ("the clock is already paused", "计时已处于暂停状态"),
            Refusal::NotPaused => ("the clock is not paused", "计时未暂停"),
            Refusal::ClockPaused => (
                "the clock is paused: resume the clock first",
                "计时已暂停：请先恢复计时",
            ),
            Refusal::SameTeam => ("the ticket is already with that team", "工单已在该团队"),
            Refusal::ClosedTicket => (
                "closed tickets are reopened by a new complaint",
                "已关闭的工单不能重新处理，请登记新的投诉",
            ),
            Refusal::UnknownPolicy => (
                "the ticket's SLA policy is not in the configuration",
                "配置中没有该工单适用的时限规则",
            ),
            Refusal::TooManyChanges => (
                "the ticket has reached the maximum number of changes",
                "工单变更次数已达上限",
            ),
            Refusal::SurveyAlreadyAnswered => (
                "this ticket is closed: its survey was already answered",
                "该工单已关闭：满意度调查已经填写过",
            ),
            Refusal::SeniorApproval => (
                "this extension needs a manager's approval",
                "此次延期需经管理人员批准",
            ),
        }
    }

    /// The message in English and Chinese.
    pub fn message(self) -> Bilingual {
        let (en, zh) = self.texts();
        Bilingual {
            en: en.into(),
            zh: zh.into(),
        }
    }
}

impl From<Refusal> for LifecycleError {
    fn from(r: Refusal) -> Self {
        LifecycleError::NotAllowed(r)
    }
}

impl LifecycleError {
    /// The rule behind a [`LifecycleError::NotAllowed`].
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            LifecycleError::NotAllowed(r) => Some(*r),
            _ => None,
        }
    }

    /// Stable machine code: `invalid_transition`, `invalid_input`, or the refusal's code
    /// (`extension_used`, `not_paused` …).
    pub fn code(&self) -> &'static str {
        match self {
            LifecycleError::InvalidTransition { .. } => "invalid_transition",
            LifecycleError::InvalidInput { .. } => "invalid_input",
            LifecycleError::NotAllowed(r) => r.code(),
        }
    }

    /// What to tell the person who acted, in English and Chinese.
    pub fn message(&self) -> Bilingual {
        match self {
            LifecycleError::InvalidTransition { from, action } => {
                let (en, zh) = action_phrase(action);
                let label = from.label();
                Bilingual {
                    en: format!("cannot {en} a ticket that is {}", label.en.to_lowercase()),
                    zh: format!("工单当前状态为「{}」，不能{zh}", label.zh),
                }
            }
            LifecycleError::InvalidInput { field, message } => Bilingual {
                en: format!("{field}: {message}"),
                zh: format!("{}：{}", field_zh(field), input_message_zh(message)),
            },
            LifecycleError::NotAllowed(r) => r.message(),
        }
    }
}

fn action_phrase(action: &str) -> (&str, &str) {
    match action {
        "acknowledge" => ("acknowledge", "确认"),
        "start_analysis" => ("start analysis on", "开始处理"),
        "add_note" => ("add a note to", "添加备注"),
        "resolve" => ("resolve", "办结"),
        "transfer" => ("transfer", "转派"),
        "pause" => ("pause the clock of", "暂停计时"),
        "resume" => ("resume the clock of", "恢复计时"),
        "extend" => ("extend", "延期"),
        "reopen" => ("reopen", "重新处理"),
        "close" => ("close", "关闭"),
        other => (other, other),
    }
}

fn field_zh(field: &str) -> &str {
    match field {
        "text" => "备注内容",
        "summary" => "答复摘要",
        "reason" => "理由",
        "to_team" => "目标团队",
        "category" => "投诉类别",
        other => other,
    }
}

const EMPTY: &str = "must not be empty";
const UNKNOWN_TEAM: &str = "no team with this id";
const UNKNOWN_CATEGORY: &str = "no category with this id";

fn too_long(max: usize) -> String {
    format!("must be at most {max} characters")
}

fn input_message_zh(message: &str) -> String {
    if message == EMPTY {
        return "不能为空".into();
    }
    if message == UNKNOWN_TEAM {
        return "没有这个团队".into();
    }
    if message == UNKNOWN_CATEGORY {
        return "没有这个投诉类别".into();
    }
    if let Some(max) = message
        .strip_prefix("must be at most ")
        .and_then(|m| m.strip_suffix(" characters"))
    {
        return format!("不能超过{max}个字符");
    }
    message.to_string()
}

/// Who acts, when, under which configuration.
pub struct ActionContext<'a> {
    pub actor: &'a Actor,
    pub now: DateTime<Utc>,
    pub config: &'a DomainConfig,
}

/// Applies an action: the changed ticket (version + 1) and the audit event recording it
/// (`seq` = the new version). On error nothing changes.
pub fn apply(
    ticket: &Ticket,
    action: &Action,
    ctx: &ActionContext<'_>,
) -> Result<(Ticket, AuditEvent), LifecycleError> {
    let from = ticket.status;
    // The rules the pages offer actions by come first, so the two can never disagree.
    permits(ticket, action.kind(), Role::of(ctx.actor), ctx.config)?;
    let version = ticket
        .version
        .checked_add(1)
        .ok_or(Refusal::TooManyChanges)?;
    let now = ctx.now;
    let mut t = ticket.clone();
    let mut correction = None;
    let detail = match action {
        Action::Acknowledge => {
            t.status = TicketStatus::Acknowledged;
            if t.acknowledged_at.is_none() {
                t.acknowledged_at = Some(now);
                "acknowledged".to_string()
            } else {
                "acknowledged again after reopening".to_string()
            }
        }
        Action::StartAnalysis => {
            t.status = TicketStatus::UnderAnalysis;
            if t.analysis_started_at.is_none() {
                t.analysis_started_at = Some(now);
                "analysis started".to_string()
            } else {
                "analysis started again after reopening".to_string()
            }
        }
        Action::AddNote { text } => checked_text("text", text, MAX_NOTE_CHARS)?,
        Action::Resolve { code, summary } => {
            let summary = checked_text("summary", summary, MAX_SUMMARY_CHARS)?;
            t.status = TicketStatus::Resolved;
            t.resolved_at = Some(now);
            let detail = format!("{}: {summary}", code.as_str());
            t.resolution = Some(Resolution {
                code: *code,
                summary,
                at: now,
                by: ctx.actor.id.clone(),
            });
            detail
        }
        Action::Transfer {
            to_team,
            reason,
            category,
        } => {
            let to_team = to_team.trim();
            if to_team.is_empty() {
                return Err(invalid("to_team", EMPTY));
            }
            let reason = checked_text("reason", reason, MAX_REASON_CHARS)?;
            let team = ctx
                .config
                .routing
                .team(to_team)
                .ok_or_else(|| invalid("to_team", UNKNOWN_TEAM))?;
            if team.id == t.team {
                return Err(Refusal::SameTeam.into());
            }
            let new_category = match category.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(c) => Some(
                    ctx.config
                        .classifier
                        .category(c)
                        .ok_or_else(|| invalid("category", UNKNOWN_CATEGORY))?
                        .id
                        .clone(),
                ),
            };
            let mut detail = format!("from {} to {}: {reason}", t.team, team.id);
            if let Some(c) = new_category.filter(|c| *c != t.category) {
                detail = format!("{detail} (category {} -> {c})", t.category);
                correction = Some(Correction {
                    from_category: t.category.clone(),
                    to_category: c.clone(),
                    from_source: t.category_source,
                    model_category: t.model.as_ref().map(|m| m.top.category.clone()),
                    from_team: t.team.clone(),
                    to_team: team.id.clone(),
                    language: t.language,
                });
                t.category = c;
                t.category_source = CategorySource::Staff;
            }
            t.team = team.id.clone();
            t.transfer_count = t.transfer_count.saturating_add(1);
            detail
        }
        Action::Pause { reason } => {
            let reason = checked_text("reason", reason, MAX_REASON_CHARS)?;
            t.paused_since = Some(now);
            format!("clock paused: {reason}")
        }
        Action::Resume => resume(&mut t, ctx)?,
        Action::Extend { reason } => {
            let reason = checked_text("reason", reason, MAX_REASON_CHARS)?;
            extend(&mut t, reason, ctx)?
        }
        Action::Reopen { reason } => {
            let reason = checked_text("reason", reason, MAX_REASON_CHARS)?;
            t.status = TicketStatus::Reopened;
            t.reopened_count = t.reopened_count.saturating_add(1);
            match t.resolution.take() {
                Some(r) => format!(
                    "reopened: {reason}; previous resolution {}: {}",
                    r.code.as_str(),
                    r.summary
                ),
                None => format!("reopened: {reason}"),
            }
        }
        Action::Close { reason } => {
            let reason = checked_text("reason", reason, MAX_REASON_CHARS)?;
            t.status = TicketStatus::Closed;
            t.closed_at = Some(now);
            format!("closed: {reason}")
        }
    };
    t.version = version;
    let event = AuditEvent {
        reference: t.reference.clone(),
        seq: version,
        at: now,
        actor: ctx.actor.clone(),
        action: action.event_name(),
        from_status: Some(from),
        to_status: t.status,
        detail,
        correction,
    };
    Ok((t, event))
}

fn invalid(field: &str, message: impl Into<String>) -> LifecycleError {
    LifecycleError::InvalidInput {
        field: field.to_string(),
        message: message.into(),
    }
}

/// The trimmed text, or why it is refused (empty, or longer than `max` characters).
fn checked_text(field: &str, raw: &str, max: usize) -> Result<String, LifecycleError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid(field, EMPTY));
    }
    if text.chars().count() > max {
        return Err(invalid(field, too_long(max)));
    }
    Ok(text.to_string())
}

fn policy_of<'c>(ticket: &Ticket, config: &'c DomainConfig) -> Result<&'c SlaPolicy, Refusal> {
    config
        .sla
        .get(&ticket.deadlines.policy)
        .ok_or(Refusal::UnknownPolicy)
}

/// `at + by`, saturating instead of overflowing at the end of representable time.
fn shifted(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn format_duration(d: Duration) -> String {
    let total = d.num_seconds().max(0);
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes}m"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(format!("{seconds}s"));
    }
    parts.join(" ")
}

/// Resume: add the paused time to the deadlines (see the module notes) and clear the pause.
fn resume(t: &mut Ticket, ctx: &ActionContext<'_>) -> Result<String, LifecycleError> {
    let since = t.paused_since.ok_or(Refusal::NotPaused)?;
    // A policy removed from the configuration since: read it as the regulatory clock
    // running, the safer reading, rather than leave the ticket paused for ever.
    let (stops_regulatory, acknowledge_internal) = policy_of(t, ctx.config)
        .map(|p| (p.pause_stops_regulatory_clock, p.acknowledge_internal))
        .unwrap_or((false, false));
    // Whole seconds, like the deadlines; a clock that went backwards pauses nothing.
    let seconds = (ctx.now - since).num_seconds().max(0);
    let by = Duration::seconds(seconds);
    let unacknowledged = t.acknowledged_at.is_none();
    let before = t.deadlines.clone();
    let d = &mut t.deadlines;
    if stops_regulatory {
        d.regulatory_resolve_by = shifted(d.regulatory_resolve_by, by);
    }
    // When the rule sets no acknowledgement deadline, the "regulatory" one is our own
    // target and moves like the other internal targets.
    if unacknowledged && (stops_regulatory || acknowledge_internal) {
        d.regulatory_acknowledge_by = shifted(d.regulatory_acknowledge_by, by);
    }
    d.resolve_by = shifted(d.resolve_by, by)
        .min(d.regulatory_resolve_by)
        .max(before.resolve_by);
    if unacknowledged {
        d.acknowledge_by = shifted(d.acknowledge_by, by)
            .min(d.regulatory_acknowledge_by)
            .min(d.resolve_by)
            .max(before.acknowledge_by);
    }
    t.paused_seconds = t.paused_seconds.saturating_add(seconds);
    t.paused_since = None;
    rearm_marks(t, &before, ctx);
    let d = &t.deadlines;
    let mut detail = format!(
        "clock resumed after {}; resolve_by {}",
        format_duration(by),
        stamp(d.resolve_by)
    );
    if d.resolve_by - before.resolve_by < by {
        detail.push_str(" (held at the regulatory deadline)");
    }
    if unacknowledged {
        detail.push_str(&format!("; acknowledge_by {}", stamp(d.acknowledge_by)));
    }
    if stops_regulatory {
        detail.push_str("; regulatory deadlines moved too");
    }
    Ok(detail)
}

/// Extend: the policy's first extension step, applied to the regulatory and the internal
/// resolution deadline alike.
fn extend(
    t: &mut Ticket,
    reason: String,
    ctx: &ActionContext<'_>,
) -> Result<String, LifecycleError> {
    let policy = policy_of(t, ctx.config)?;
    let (step, after) = extension_target(t, policy)?;
    let before_deadlines = t.deadlines.clone();
    let before = before_deadlines.regulatory_resolve_by;
    let by = after - before;
    t.deadlines.regulatory_resolve_by = after;
    t.deadlines.resolve_by = shifted(t.deadlines.resolve_by, by).min(after);
    t.extension = Some(ExtensionGrant {
        reason: reason.clone(),
        at: ctx.now,
        by: ctx.actor.id.clone(),
        resolve_by_before: before,
        resolve_by_after: after,
    });
    rearm_marks(t, &before_deadlines, ctx);
    let mut detail = format!(
        "resolution deadline extended from {} to {} ({} from receipt)",
        stamp(before),
        stamp(after),
        step.resolve_within
    );
    if step.senior_approval {
        detail.push_str("; needs senior approval");
    }
    if step.tell_borrower {
        detail.push_str("; the borrower must be told");
    }
    detail.push_str(&format!(": {reason}"));
    Ok(detail)
}

/// The extension step a ticket may take (the policy's first) and the regulatory resolution
/// deadline it would give, refused when there is none or it would not move the deadline
/// later.
fn extension_target<'p>(
    t: &Ticket,
    policy: &'p SlaPolicy,
) -> Result<(&'p crate::sla::Extension, DateTime<Utc>), Refusal> {
    let step = policy.extensions().first().ok_or(Refusal::NoExtension)?;
    let mut after = policy
        .extended_resolve_by(t.received_at, 0)
        .ok_or(Refusal::NoExtension)?;
    if policy.pause_stops_regulatory_clock {
        after = shifted(after, Duration::seconds(t.paused_seconds.max(0)));
    }
    if after <= t.deadlines.regulatory_resolve_by {
        return Err(Refusal::ExtensionNotLater);
    }
    Ok((step, after))
}

/// Clears the sweeper's marks for a deadline that moved and whose alert is in the future
/// again, so the moved deadline is warned about and its breach recorded.
fn rearm_marks(t: &mut Ticket, before: &crate::sla::Deadlines, ctx: &ActionContext<'_>) {
    let warning = ctx.config.sla.warning();
    let now = ctx.now;
    let d = &t.deadlines;
    let m: &mut DeadlineMarks = &mut t.deadline_marks;
    let rearm = |moved: bool,
                 due: DateTime<Utc>,
                 warned: &mut Option<DateTime<Utc>>,
                 breached: &mut Option<DateTime<Utc>>| {
        if !moved {
            return;
        }
        if due > now {
            *breached = None;
        }
        if due.checked_sub_signed(warning).is_some_and(|w| w > now) {
            *warned = None;
        }
    };
    rearm(
        d.acknowledge_by != before.acknowledge_by,
        d.acknowledge_by,
        &mut m.acknowledge_warned_at,
        &mut m.acknowledge_breached_at,
    );
    rearm(
        d.resolve_by != before.resolve_by,
        d.resolve_by,
        &mut m.resolve_warned_at,
        &mut m.resolve_breached_at,
    );
}

/// A ticket and configuration for the tests of this crate.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::classify::CategorySource;
    use crate::config::DomainConfig;
    use crate::reference::Reference;
    use crate::taxonomy::{Channel, Language, Priority};
    use crate::ticket::{Ticket, TicketStatus};
    use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
    use chrono_tz::Tz;
    use std::sync::OnceLock;

    pub fn config() -> &'static DomainConfig {
        static CONFIG: OnceLock<DomainConfig> = OnceLock::new();
        CONFIG.get_or_init(|| DomainConfig::bundled().expect("bundled config loads"))
    }

    /// A wall-clock time in Shanghai, as UTC.
    pub fn shanghai(s: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        tz.from_local_datetime(&naive)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A new billing ticket under cn-2020, as intake writes it.
    pub fn ticket(received_at: DateTime<Utc>, priority: Priority) -> Ticket {
        let deadlines = config()
            .sla
            .get("cn-2020")
            .unwrap()
            .deadlines(received_at, priority);
        Ticket {
            reference: Reference::parse("RD-261123-7E570001").unwrap(),
            status: TicketStatus::Received,
            received_at,
            channel: Channel::Web,
            product: "personal_loan".into(),
            language: Language::Chinese,
            category: "fees_interest".into(),
            category_source: CategorySource::Borrower,
            classification_reason: "chosen on the form".into(),
            signals: Default::default(),
            team: "billing".into(),
            priority,
            routing_rule: "fees".into(),
            routing_reason: "test".into(),
            deadlines,
            repeat: Default::default(),
            contact: Default::default(),
            consent_to_contact: true,
            text: "多收了罚息".into(),
            desired_outcome: None,
            version: 1,
            acknowledged_at: None,
            analysis_started_at: None,
            resolved_at: None,
            closed_at: None,
            resolution: None,
            paused_since: None,
            paused_seconds: 0,
            extension: None,
            deadline_marks: Default::default(),
            reopened_count: 0,
            transfer_count: 0,
            model: None,
            legal_hold: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{config, shanghai, ticket};
    use super::*;
    use crate::taxonomy::Priority;
    use proptest::prelude::*;
    use TicketStatus::*;

    fn alice() -> Actor {
        Actor {
            id: "alice".into(),
            role: "billing".into(),
        }
    }

    fn act(
        t: &Ticket,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(Ticket, AuditEvent), LifecycleError> {
        let actor = alice();
        apply(
            t,
            &action,
            &ActionContext {
                actor: &actor,
                now,
                config: config(),
            },
        )
    }

    fn ok(t: &Ticket, action: Action, now: DateTime<Utc>) -> (Ticket, AuditEvent) {
        act(t, action.clone(), now).unwrap_or_else(|e| panic!("{action:?} refused: {e}"))
    }

    fn reason(s: &str) -> String {
        s.to_string()
    }

    fn resolve() -> Action {
        Action::Resolve {
            code: ResolutionCode::PartlyUpheld,
            summary: "  退还多收的罚息 ".into(),
        }
    }

    #[test]
    fn a_ticket_goes_through_every_stage_with_events_in_sequence_and_times_stamped() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let mut t = ticket(t0, Priority::Normal);
        let steps = [
            (Action::Acknowledge, Acknowledged, "acknowledged"),
            (
                Action::AddNote {
                    text: "called the borrower".into(),
                },
                Acknowledged,
                "note_added",
            ),
            (Action::StartAnalysis, UnderAnalysis, "analysis_started"),
            (resolve(), Resolved, "resolved"),
            (
                Action::Reopen {
                    reason: reason("borrower disputes the amount"),
                },
                Reopened,
                "reopened",
            ),
            (Action::StartAnalysis, UnderAnalysis, "analysis_started"),
            (resolve(), Resolved, "resolved"),
            (
                Action::Close {
                    reason: reason("survey answered"),
                },
                Closed,
                "closed",
            ),
        ];
        let mut events = Vec::new();
        for (i, (action, to, name)) in steps.into_iter().enumerate() {
            let now = t0 + Duration::hours(i as i64 + 1);
            let from = t.status;
            let (next, event) = ok(&t, action, now);
            assert_eq!(next.status, to);
            assert_eq!(next.version, t.version + 1);
            assert_eq!(event.seq, next.version);
            assert_eq!(event.action.as_str(), name);
            assert_eq!(event.at, now);
            assert_eq!(event.actor, alice());
            assert_eq!(event.from_status, Some(from));
            assert_eq!(event.to_status, to);
            assert_eq!(event.reference, t.reference);
            events.push(event);
            t = next;
        }
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (2..=9).collect::<Vec<_>>()
        );
        // First times never move; resolved_at is the latest resolution.
        assert_eq!(t.acknowledged_at, Some(t0 + Duration::hours(1)));
        assert_eq!(t.analysis_started_at, Some(t0 + Duration::hours(3)));
        assert_eq!(t.resolved_at, Some(t0 + Duration::hours(7)));
        assert_eq!(t.closed_at, Some(t0 + Duration::hours(8)));
        assert_eq!(t.reopened_count, 1);
        let r = t.resolution.as_ref().unwrap();
        assert_eq!(r.summary, "退还多收的罚息");
        assert_eq!(
            (r.code, r.by.as_str()),
            (ResolutionCode::PartlyUpheld, "alice")
        );
        assert_eq!(events[1].detail, "called the borrower");
        assert!(events[4]
            .detail
            .contains("previous resolution partly_upheld: 退还多收的罚息"));
    }

    #[test]
    fn reopening_clears_the_resolution_and_keeps_resolved_at() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let mut t = ticket(t0, Priority::Normal);
        for a in [Action::Acknowledge, Action::StartAnalysis, resolve()] {
            t = ok(&t, a, t0 + Duration::hours(1)).0;
        }
        let (t, _) = ok(
            &t,
            Action::Reopen {
                reason: reason("dispute"),
            },
            t0 + Duration::hours(2),
        );
        assert_eq!(t.resolution, None);
        assert_eq!(t.resolved_at, Some(t0 + Duration::hours(1)));
        // A reopened ticket may be acknowledged again without moving the first time.
        let (t, e) = ok(&t, Action::Acknowledge, t0 + Duration::hours(3));
        assert_eq!(t.acknowledged_at, Some(t0 + Duration::hours(1)));
        assert_eq!(e.detail, "acknowledged again after reopening");
    }

    fn every_action() -> Vec<Action> {
        vec![
            Action::Acknowledge,
            Action::StartAnalysis,
            Action::AddNote { text: "n".into() },
            resolve(),
            Action::Transfer {
                to_team: "hardship".into(),
                reason: reason("r"),
                category: None,
            },
            Action::Pause {
                reason: reason("r"),
            },
            Action::Resume,
            Action::Extend {
                reason: reason("r"),
            },
            Action::Reopen {
                reason: reason("r"),
            },
            Action::Close {
                reason: reason("r"),
            },
        ]
    }

    #[test]
    fn each_invalid_transition_is_refused_and_changes_nothing() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let received = ticket(t0, Priority::Normal);
        let now = t0 + Duration::hours(1);
        let acknowledged = ok(&received, Action::Acknowledge, now).0;
        let analysing = ok(&acknowledged, Action::StartAnalysis, now).0;
        let resolved = ok(&analysing, resolve(), now).0;
        let reopened = ok(
            &resolved,
            Action::Reopen {
                reason: reason("r"),
            },
            now,
        )
        .0;
        let closed = ok(
            &resolved,
            Action::Close {
                reason: reason("r"),
            },
            now,
        )
        .0;
        let mut refused = 0;
        for t in [
            &received,
            &acknowledged,
            &analysing,
            &resolved,
            &reopened,
            &closed,
        ] {
            for action in every_action() {
                if action.allowed_from().contains(&t.status) {
                    continue;
                }
                let before = t.clone();
                let e = act(t, action.clone(), now).unwrap_err();
                assert_eq!(*t, before);
                refused += 1;
                if t.status == Closed && matches!(action, Action::Reopen { .. }) {
                    assert_eq!(e.code(), "closed_ticket");
                    assert_eq!(
                        e.message().en,
                        "closed tickets are reopened by a new complaint"
                    );
                } else {
                    assert_eq!(
                        e,
                        LifecycleError::InvalidTransition {
                            from: t.status,
                            action: action.name()
                        }
                    );
                    assert_eq!(e.code(), "invalid_transition");
                }
            }
        }
        // Spot checks of the table: no resolving without analysis, no analysis without
        // acknowledgement, nothing but reopen-by-new-complaint after closing.
        assert!(act(&acknowledged, resolve(), now).is_err());
        assert!(act(&received, Action::StartAnalysis, now).is_err());
        assert!(act(&closed, Action::AddNote { text: "n".into() }, now).is_err());
        assert_eq!(refused, 32);
        let e = act(&received, resolve(), now).unwrap_err();
        assert_eq!(e.to_string(), "cannot resolve a ticket that is received");
        assert_eq!(e.message().en, "cannot resolve a ticket that is received");
        assert_eq!(e.message().zh, "工单当前状态为「已受理」，不能办结");
    }

    #[test]
    fn empty_or_overlong_text_is_refused_with_the_field() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let e = act(
            &t,
            Action::AddNote {
                text: "  \n ".into(),
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(e, invalid("text", EMPTY));
        assert_eq!(e.message().zh, "备注内容：不能为空");
        let e = act(
            &t,
            Action::AddNote {
                text: "字".repeat(MAX_NOTE_CHARS + 1),
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(e.message().en, "text: must be at most 4000 characters");
        assert_eq!(e.message().zh, "备注内容：不能超过4000个字符");
        // Exactly the limit, in characters not bytes, is fine.
        assert!(act(
            &t,
            Action::AddNote {
                text: "字".repeat(MAX_NOTE_CHARS)
            },
            t0
        )
        .is_ok());
        let e = act(
            &t,
            Action::Pause {
                reason: "x".repeat(1001),
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(e, invalid("reason", too_long(MAX_REASON_CHARS)));
        let t = ok(
            &ok(&t, Action::Acknowledge, t0).0,
            Action::StartAnalysis,
            t0,
        )
        .0;
        let e = act(
            &t,
            Action::Resolve {
                code: ResolutionCode::Upheld,
                summary: " ".into(),
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(e, invalid("summary", EMPTY));
    }

    #[test]
    fn pause_then_resume_moves_the_internal_deadlines_by_exactly_the_paused_time() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let paused_at = t0 + Duration::minutes(30);
        let (p, e) = ok(
            &t,
            Action::Pause {
                reason: reason("waiting for bank statements"),
            },
            paused_at,
        );
        assert_eq!(p.paused_since, Some(paused_at));
        assert_eq!(e.action, AuditAction::Paused);
        assert_eq!(e.from_status, e.to_status.into());
        let gap = Duration::hours(3) + Duration::minutes(17);
        let (r, e) = ok(&p, Action::Resume, paused_at + gap);
        assert_eq!(r.paused_since, None);
        assert_eq!(r.paused_seconds, gap.num_seconds());
        assert_eq!(r.deadlines.resolve_by, t.deadlines.resolve_by + gap);
        assert_eq!(r.deadlines.acknowledge_by, t.deadlines.acknowledge_by + gap);
        // cn-2020's pause does not stop the regulatory clock; its acknowledgement
        // deadline is our own (the measures set none), so it moves.
        assert_eq!(
            r.deadlines.regulatory_resolve_by,
            t.deadlines.regulatory_resolve_by
        );
        assert_eq!(
            r.deadlines.regulatory_acknowledge_by,
            t.deadlines.regulatory_acknowledge_by + gap
        );
        assert!(
            e.detail.starts_with("clock resumed after 3h 17m"),
            "{}",
            e.detail
        );
        // A second pause adds up; an acknowledged ticket keeps its acknowledge_by.
        let a = ok(&r, Action::Acknowledge, paused_at + gap).0;
        let p2 = ok(
            &a,
            Action::Pause {
                reason: reason("r"),
            },
            t0 + Duration::days(1),
        )
        .0;
        let r2 = ok(
            &p2,
            Action::Resume,
            t0 + Duration::days(1) + Duration::minutes(5),
        )
        .0;
        assert_eq!(r2.paused_seconds, gap.num_seconds() + 300);
        assert_eq!(
            r2.deadlines.resolve_by,
            t.deadlines.resolve_by + gap + Duration::minutes(5)
        );
        assert_eq!(r2.deadlines.acknowledge_by, r.deadlines.acknowledge_by);
    }

    #[test]
    fn resume_never_moves_an_internal_target_past_a_running_regulatory_deadline() {
        // Low priority: the internal target is the regulatory deadline itself.
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Low);
        assert_eq!(t.deadlines.resolve_by, t.deadlines.regulatory_resolve_by);
        let p = ok(
            &t,
            Action::Pause {
                reason: reason("r"),
            },
            t0,
        )
        .0;
        let (r, e) = ok(&p, Action::Resume, t0 + Duration::hours(5));
        assert_eq!(r.deadlines.resolve_by, t.deadlines.regulatory_resolve_by);
        assert_eq!(r.paused_seconds, 5 * 3600);
        assert!(
            e.detail.contains("held at the regulatory deadline"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn pause_and_resume_refuse_the_wrong_clock_state() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        assert_eq!(
            act(&t, Action::Resume, t0).unwrap_err().code(),
            "not_paused"
        );
        let p = ok(
            &t,
            Action::Pause {
                reason: reason("r"),
            },
            t0,
        )
        .0;
        let e = act(
            &p,
            Action::Pause {
                reason: reason("r"),
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(e.code(), "already_paused");
        assert_eq!(e.refusal(), Some(Refusal::AlreadyPaused));
        // Work goes on while paused; resolving and extending wait for the clock.
        let a = ok(&p, Action::Acknowledge, t0).0;
        let u = ok(&a, Action::StartAnalysis, t0).0;
        ok(&u, Action::AddNote { text: "n".into() }, t0);
        for action in [
            resolve(),
            Action::Extend {
                reason: reason("r"),
            },
        ] {
            let e = act(&u, action, t0).unwrap_err();
            assert_eq!(e.code(), "clock_paused");
            assert_eq!(e.message().zh, "计时已暂停：请先恢复计时");
        }
    }

    #[test]
    fn extension_uses_the_policys_first_step_and_a_second_is_refused() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        let (x, e) = ok(
            &t,
            Action::Extend {
                reason: reason("needs the collection agency's call records"),
            },
            t0 + Duration::days(5),
        );
        // cn-2020: 15 days from receipt become 30.
        assert_eq!(
            t.deadlines.regulatory_resolve_by,
            shanghai("2026-03-17 23:59:59")
        );
        let after = shanghai("2026-04-01 23:59:59");
        assert_eq!(x.deadlines.regulatory_resolve_by, after);
        let moved = after - t.deadlines.regulatory_resolve_by;
        assert_eq!(moved, Duration::days(15));
        assert_eq!(x.deadlines.resolve_by, t.deadlines.resolve_by + moved);
        assert_eq!(x.deadlines.acknowledge_by, t.deadlines.acknowledge_by);
        let grant = x.extension.as_ref().unwrap();
        assert_eq!(grant.resolve_by_before, t.deadlines.regulatory_resolve_by);
        assert_eq!(grant.resolve_by_after, after);
        assert_eq!(grant.by, "alice");
        assert_eq!(grant.reason, "needs the collection agency's call records");
        assert_eq!(e.action, AuditAction::Extended);
        assert!(
            e.detail.contains("30 calendar days from receipt"),
            "{}",
            e.detail
        );
        let e = act(
            &x,
            Action::Extend {
                reason: reason("again"),
            },
            t0 + Duration::days(6),
        )
        .unwrap_err();
        assert_eq!(e, LifecycleError::NotAllowed(Refusal::ExtensionUsed));
        assert_eq!(e.code(), "extension_used");
        assert_eq!(e.message().zh, "该工单已使用过唯一一次延期");
    }

    #[test]
    fn a_policy_without_extensions_refuses_one() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let mut t = ticket(t0, Priority::Normal);
        t.deadlines = config()
            .sla
            .get("uk-fca")
            .unwrap()
            .deadlines(t0, Priority::Normal);
        let e = act(
            &t,
            Action::Extend {
                reason: reason("r"),
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(e.code(), "no_extension");
        t.deadlines.policy = "gone".into();
        let e = act(
            &t,
            Action::Pause {
                reason: reason("r"),
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(e.code(), "unknown_policy");
    }

    #[test]
    fn an_extension_rearms_the_sweeper_for_the_new_deadline() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let mut t = ticket(t0, Priority::Normal);
        let late = t.deadlines.resolve_by + Duration::hours(1);
        t.deadline_marks.resolve_warned_at = Some(late);
        t.deadline_marks.resolve_breached_at = Some(late);
        t.deadline_marks.acknowledge_breached_at = Some(late);
        let x = ok(
            &t,
            Action::Extend {
                reason: reason("r"),
            },
            late,
        )
        .0;
        assert_eq!(x.deadline_marks.resolve_warned_at, None);
        assert_eq!(x.deadline_marks.resolve_breached_at, None);
        // The acknowledgement deadline did not move: its mark stays.
        assert_eq!(x.deadline_marks.acknowledge_breached_at, Some(late));
    }

    #[test]
    fn transfer_changes_the_team_and_keeps_the_deadlines() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ok(&ticket(t0, Priority::Normal), Action::Acknowledge, t0).0;
        let (x, e) = ok(
            &t,
            Action::Transfer {
                to_team: " hardship ".into(),
                reason: reason("asks for an instalment plan"),
                category: None,
            },
            t0 + Duration::days(3),
        );
        assert_eq!(x.team, "hardship");
        assert_eq!(x.transfer_count, 1);
        assert_eq!(x.deadlines, t.deadlines);
        assert_eq!(x.status, Acknowledged);
        assert_eq!(
            e.detail,
            "from billing to hardship: asks for an instalment plan"
        );
        assert_eq!(e.action, AuditAction::Transferred);
        let same = act(
            &x,
            Action::Transfer {
                to_team: "hardship".into(),
                reason: reason("r"),
                category: None,
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(same.code(), "same_team");
        let unknown = act(
            &x,
            Action::Transfer {
                to_team: "nobody".into(),
                reason: reason("r"),
                category: None,
            },
            t0,
        )
        .unwrap_err();
        assert_eq!(unknown, invalid("to_team", UNKNOWN_TEAM));
        assert_eq!(unknown.message().zh, "目标团队：没有这个团队");
    }

    #[test]
    fn a_transfer_with_a_new_category_records_a_correction() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ok(&ticket(t0, Priority::Normal), Action::Acknowledge, t0).0;
        let transfer = |category: Option<&str>| Action::Transfer {
            to_team: "hardship".into(),
            reason: reason("lost her job, needs a plan"),
            category: category.map(str::to_string),
        };
        let (x, e) = ok(&t, transfer(Some("repayment_difficulty")), t0);
        assert_eq!(x.category, "repayment_difficulty");
        assert_eq!(x.category_source, CategorySource::Staff);
        let c = e.correction.expect("a correction on the audit event");
        assert_eq!(c.from_category, t.category);
        assert_eq!(c.to_category, "repayment_difficulty");
        assert_eq!(c.from_source, t.category_source);
        assert_eq!(
            (c.from_team.as_str(), c.to_team.as_str()),
            ("billing", "hardship")
        );
        assert!(
            e.detail.ends_with(&format!(
                "(category {} -> repayment_difficulty)",
                t.category
            )),
            "{}",
            e.detail
        );
        // The same category, or none, is a plain transfer.
        let (y, e) = ok(&t, transfer(Some(t.category.as_str())), t0);
        assert_eq!(
            (y.category.as_str(), e.correction),
            (t.category.as_str(), None)
        );
        assert_eq!(ok(&t, transfer(None), t0).1.correction, None);
        // An unknown category is refused, and nothing changes.
        let bad = act(&t, transfer(Some("nonsense")), t0).unwrap_err();
        assert_eq!(bad, invalid("category", UNKNOWN_CATEGORY));
        assert_eq!(bad.message().zh, "投诉类别：没有这个投诉类别");
        // The API's JSON shape.
        let a: Action = serde_json::from_str(
            r#"{"action":"transfer","to_team":"hardship","reason":"r","category":"repayment_difficulty"}"#,
        )
        .unwrap();
        assert_eq!(
            a,
            Action::Transfer {
                to_team: "hardship".into(),
                reason: "r".into(),
                category: Some("repayment_difficulty".into()),
            }
        );
    }

    #[test]
    fn every_refusal_has_a_distinct_code_and_round_trips_through_not_allowed() {
        let mut codes = std::collections::HashSet::new();
        for r in Refusal::ALL {
            let e = LifecycleError::from(r);
            assert_eq!(e.refusal(), Some(r));
            assert_eq!(e.code(), r.code());
            assert!(codes.insert(r.code()));
            assert!(!r.message().zh.is_empty());
        }
    }

    #[test]
    fn actions_parse_from_their_json_tag() {
        let a: Action =
            serde_json::from_str(r#"{"action":"transfer","to_team":"hardship","reason":"r"}"#)
                .unwrap();
        assert_eq!(a.name(), "transfer");
        assert!(serde_json::from_str::<Action>(r#"{"action":"resolve","summary":"s"}"#).is_err());
    }

    // ---- allowed actions -------------------------------------------------------------

    /// A valid input for each kind of action on `t` (a team other than the ticket's).
    fn valid_input(kind: ActionKind, t: &Ticket, config: &DomainConfig) -> Action {
        let reason = || "because".to_string();
        match kind {
            ActionKind::Acknowledge => Action::Acknowledge,
            ActionKind::StartAnalysis => Action::StartAnalysis,
            ActionKind::AddNote => Action::AddNote { text: reason() },
            ActionKind::Resolve => resolve(),
            ActionKind::Transfer => Action::Transfer {
                category: None,
                to_team: config
                    .routing
                    .teams()
                    .iter()
                    .find(|x| x.id != t.team)
                    .map(|x| x.id.to_string())
                    .unwrap_or_else(|| t.team.to_string()),
                reason: reason(),
            },
            ActionKind::Pause => Action::Pause { reason: reason() },
            ActionKind::Resume => Action::Resume,
            ActionKind::Extend => Action::Extend { reason: reason() },
            ActionKind::Reopen => Action::Reopen { reason: reason() },
            ActionKind::Close => Action::Close { reason: reason() },
        }
    }

    fn actor_of(role: Role) -> Actor {
        match role {
            Role::TeamMember => alice(),
            Role::Manager => Actor {
                id: "mona".into(),
                role: "manager".into(),
            },
            Role::System => Actor::system("surveys"),
        }
    }

    /// Tickets in every status, paused or not, extended or not, under every policy.
    fn every_ticket_shape(config: &DomainConfig) -> Vec<Ticket> {
        let t0 = shanghai("2026-03-02 10:00:00");
        let mut out = Vec::new();
        for status in [
            Received,
            Acknowledged,
            UnderAnalysis,
            Resolved,
            Reopened,
            Closed,
        ] {
            for policy in config.sla.ids() {
                for paused in [false, true] {
                    for extended in [false, true] {
                        let mut t = ticket(t0, Priority::Normal);
                        t.deadlines = config
                            .sla
                            .get(policy)
                            .unwrap()
                            .deadlines(t0, Priority::Normal);
                        t.status = status;
                        if status != Received {
                            t.acknowledged_at = Some(t0);
                        }
                        if matches!(status, Resolved | Closed) {
                            t.resolved_at = Some(t0);
                            t.resolution = Some(Resolution {
                                code: ResolutionCode::Upheld,
                                summary: "s".into(),
                                at: t0,
                                by: "alice".into(),
                            });
                        }
                        if paused {
                            t.paused_since = Some(t0);
                        }
                        if extended {
                            t.extension = Some(ExtensionGrant {
                                reason: "r".into(),
                                at: t0,
                                by: "alice".into(),
                                resolve_by_before: t.deadlines.regulatory_resolve_by,
                                resolve_by_after: t.deadlines.regulatory_resolve_by,
                            });
                        }
                        out.push(t);
                    }
                }
            }
        }
        out
    }

    /// Walks every state and role: an offered action succeeds through `apply` with a valid
    /// input, and an action that is not offered is refused by `apply` even with one.
    fn offered_is_exactly_what_apply_accepts(config: &DomainConfig) -> usize {
        let now = shanghai("2026-03-03 09:00:00");
        let mut offered = 0;
        for t in every_ticket_shape(config) {
            for role in Role::ALL {
                let allowed = allowed_actions(&t, role, config);
                let actor = actor_of(role);
                let ctx = ActionContext {
                    actor: &actor,
                    now,
                    config,
                };
                for kind in ActionKind::ALL {
                    let action = valid_input(kind, &t, config);
                    let result = apply(&t, &action, &ctx);
                    let shape = format!(
                        "{kind:?} by {role:?} on {:?} under {} (paused {}, extended {})",
                        t.status,
                        t.deadlines.policy,
                        t.paused_since.is_some(),
                        t.extension.is_some()
                    );
                    if allowed.contains(&kind) {
                        offered += 1;
                        assert!(result.is_ok(), "offered but refused: {shape}: {result:?}");
                    } else {
                        let e = result.expect_err(&format!("not offered but accepted: {shape}"));
                        assert!(
                            !matches!(e, LifecycleError::InvalidInput { .. }),
                            "refused for its input, not its state: {shape}: {e}"
                        );
                        assert_eq!(permits(&t, kind, role, config), Err(e));
                    }
                }
            }
        }
        offered
    }

    #[test]
    fn every_offered_action_succeeds_and_no_refused_one_is_offered() {
        let offered = offered_is_exactly_what_apply_accepts(config());
        assert!(offered > 100, "the walk offered only {offered} actions");
    }

    #[test]
    fn an_extension_needing_senior_approval_is_offered_to_managers_only() {
        // cn-2020 with its first extension step needing senior approval.
        let sla = crate::config::SLA_TOML.replacen(
            "senior_approval = false",
            "senior_approval = true",
            1,
        );
        let strict = DomainConfig::from_sources(
            crate::config::CLASSIFICATION_TOML,
            crate::config::ROUTING_TOML,
            &sla,
        )
        .unwrap();
        assert!(strict.sla.get("cn-2020").unwrap().extensions()[0].senior_approval);
        let t = ticket(shanghai("2026-03-02 10:00:00"), Priority::Normal);
        assert!(!allowed_actions(&t, Role::TeamMember, &strict).contains(&ActionKind::Extend));
        assert!(allowed_actions(&t, Role::Manager, &strict).contains(&ActionKind::Extend));
        assert_eq!(
            permits(&t, ActionKind::Extend, Role::TeamMember, &strict)
                .unwrap_err()
                .code(),
            "senior_approval"
        );
        offered_is_exactly_what_apply_accepts(&strict);
    }

    #[test]
    fn a_reopened_ticket_works_to_its_resolution_deadline() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let t = ticket(t0, Priority::Normal);
        assert_eq!(
            next_deadline(t.status, &t.deadlines),
            (DeadlineKind::Acknowledge, t.deadlines.acknowledge_by)
        );
        let a = ok(&t, Action::Acknowledge, t0).0;
        let u = ok(&a, Action::StartAnalysis, t0).0;
        let r = ok(&u, resolve(), t0).0;
        let reopened = ok(
            &r,
            Action::Reopen {
                reason: reason("disputed"),
            },
            t0,
        )
        .0;
        assert!(reopened.acknowledged_at.is_some());
        assert_eq!(
            next_deadline(reopened.status, &reopened.deadlines),
            (DeadlineKind::Resolve, reopened.deadlines.resolve_by)
        );
    }

    #[test]
    fn the_console_divergences_are_gone() {
        let t0 = shanghai("2026-03-02 10:00:00");
        let acknowledged = ok(&ticket(t0, Priority::Normal), Action::Acknowledge, t0).0;
        let offered = allowed_actions(&acknowledged, Role::TeamMember, config());
        assert!(offered.contains(&ActionKind::StartAnalysis));
        assert!(!offered.contains(&ActionKind::Resolve), "{offered:?}");
        let mut closed = acknowledged.clone();
        closed.status = Closed;
        let offered = allowed_actions(&closed, Role::Manager, config());
        assert!(offered.is_empty(), "a closed ticket offers {offered:?}");
        assert_eq!(
            permits(&closed, ActionKind::Reopen, Role::Manager, config())
                .unwrap_err()
                .code(),
            "closed_ticket"
        );
    }

    // ---- property test -----------------------------------------------------------------

    fn any_action() -> impl Strategy<Value = Action> {
        let text = prop_oneof![
            3 => Just("ok".to_string()),
            1 => Just("   ".to_string()),
        ];
        let team = proptest::sample::select(vec!["billing", "hardship", "fraud", "nobody"]);
        let code = proptest::sample::select(vec![
            ResolutionCode::Upheld,
            ResolutionCode::PartlyUpheld,
            ResolutionCode::NotUpheld,
            ResolutionCode::Withdrawn,
        ]);
        prop_oneof![
            Just(Action::Acknowledge),
            Just(Action::StartAnalysis),
            text.clone().prop_map(|text| Action::AddNote { text }),
            (code, text.clone()).prop_map(|(code, summary)| Action::Resolve { code, summary }),
            (team, text.clone()).prop_map(|(t, reason)| Action::Transfer {
                category: None,
                to_team: t.into(),
                reason
            }),
            text.clone().prop_map(|reason| Action::Pause { reason }),
            Just(Action::Resume),
            text.clone().prop_map(|reason| Action::Extend { reason }),
            text.clone().prop_map(|reason| Action::Reopen { reason }),
            text.prop_map(|reason| Action::Close { reason }),
        ]
    }

    fn edges() -> Vec<(TicketStatus, TicketStatus)> {
        let mut e: Vec<_> = [Received, Acknowledged, UnderAnalysis, Resolved, Reopened]
            .into_iter()
            .map(|s| (s, s))
            .collect();
        e.extend([
            (Received, Acknowledged),
            (Reopened, Acknowledged),
            (Acknowledged, UnderAnalysis),
            (Reopened, UnderAnalysis),
            (UnderAnalysis, Resolved),
            (Resolved, Reopened),
            (Resolved, Closed),
        ]);
        e
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_sequence_of_actions_keeps_the_ticket_consistent(
            start in 0i64..(365 * 86_400),
            priority in proptest::sample::select(vec![Priority::Low, Priority::Normal, Priority::High, Priority::Critical]),
            steps in proptest::collection::vec((any_action(), 0i64..(3 * 86_400)), 1..40),
        ) {
            let t0 = shanghai("2026-01-01 00:00:00") + Duration::seconds(start);
            let mut t = ticket(t0, priority);
            let mut now = t0;
            let mut successes = 0u32;
            let edges = edges();
            for (action, gap) in steps {
                now += Duration::seconds(gap);
                match act(&t, action.clone(), now) {
                    Ok((next, event)) => {
                        successes += 1;
                        prop_assert_eq!(next.version, successes + 1);
                        prop_assert_eq!(event.seq, next.version);
                        prop_assert_eq!(event.from_status, Some(t.status));
                        prop_assert_eq!(event.to_status, next.status);
                        prop_assert_eq!(event.at, now);
                        prop_assert!(edges.contains(&(t.status, next.status)), "{:?} -> {:?}", t.status, next.status);
                        let (d0, d1) = (&t.deadlines, &next.deadlines);
                        prop_assert!(d1.acknowledge_by >= d0.acknowledge_by);
                        prop_assert!(d1.resolve_by >= d0.resolve_by);
                        prop_assert!(d1.regulatory_acknowledge_by >= d0.regulatory_acknowledge_by);
                        prop_assert!(d1.regulatory_resolve_by >= d0.regulatory_resolve_by);
                        prop_assert!(d1.resolve_by <= d1.regulatory_resolve_by);
                        t = next;
                    }
                    Err(e) => {
                        prop_assert!(!e.code().is_empty() && e.code() != "not_allowed", "{e}");
                    }
                }
                prop_assert_eq!(t.version, successes + 1);
                if let (Some(a), Some(r)) = (t.acknowledged_at, t.resolved_at) {
                    prop_assert!(a <= r);
                }
                if let (Some(a), Some(s)) = (t.acknowledged_at, t.analysis_started_at) {
                    prop_assert!(a <= s);
                }
                prop_assert_eq!(t.resolution.is_some(), matches!(t.status, Resolved | Closed));
                prop_assert!(t.paused_since.is_none() || t.status.is_open());
                prop_assert!(t.paused_seconds >= 0);
            }
        }
    }
}
