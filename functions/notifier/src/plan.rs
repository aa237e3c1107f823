//! Deciding who gets what for one notification: a pure function of the message, the
//! ticket as it is now and the configuration, so it is tested without any service.

use crate::config::{render, NotifyConfig, TemplateKind};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use redress_domain::ports::{Notification, NotificationKind};
use redress_domain::taxonomy::Priority;
use redress_domain::ticket::Ticket;
use redress_domain::Language;
use serde_json::Value;
use std::collections::BTreeMap;

/// Who a delivery is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Borrower,
    Team,
    Escalation,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Borrower => "borrower",
            Audience::Team => "team",
            Audience::Escalation => "escalation",
        }
    }
}

/// How a message travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Email {
        to: Vec<String>,
        subject: String,
        body: String,
    },
    Sms {
        phone: String,
        text: String,
    },
}

impl Channel {
    pub fn name(&self) -> &'static str {
        match self {
            Channel::Email { .. } => "email",
            Channel::Sms { .. } => "sms",
        }
    }

    /// The recipients, masked for the sent log.
    pub fn masked_recipients(&self) -> Vec<String> {
        match self {
            Channel::Email { to, .. } => to.iter().map(|a| mask_email(a)).collect(),
            Channel::Sms { phone, .. } => vec![mask_phone(phone)],
        }
    }
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `<notification id>/<audience>`: the key of its delivery record.
    pub id: String,
    pub audience: Audience,
    /// `<template kind>.<language>`.
    pub template: String,
    pub channel: Channel,
}

/// What one notification comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    Send(Delivery),
    /// Nothing is sent to this audience, and why (`no_consent`, `no_contact`,
    /// `ticket_closed` …): recorded in the sent log all the same.
    Skip {
        id: String,
        audience: Audience,
        reason: &'static str,
    },
}

/// A message that can never be delivered (it goes to the dead-letter queue).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(pub String);

/// Where links point and how times read.
#[derive(Debug, Clone)]
pub struct Links {
    /// The public site (`https://complaints.example.com`), no trailing slash.
    pub public_base_url: String,
    pub time_zone: Tz,
}

impl Links {
    fn status(&self, ticket: &Ticket) -> String {
        format!(
            "{}/status?reference={}&lang={}",
            self.public_base_url,
            ticket.reference,
            ticket.language.as_str()
        )
    }

    fn time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.time_zone)
            .format("%Y-%m-%d %H:%M (UTC%:z)")
            .to_string()
    }
}

/// The notification's id: the outbox's, or (a message sent before the outbox) one made
/// from its kind, reference and event.
pub fn notification_id(n: &Notification) -> Result<String, Unusable> {
    if let Some(id) = n.fields.get("notification_id").and_then(Value::as_str) {
        return Ok(id.to_string());
    }
    match n.fields.get("event_seq").and_then(Value::as_u64) {
        Some(seq) => Ok(format!("{}:{seq}:{}", n.reference, n.kind.as_str())),
        None => Err(Unusable(
            "message has neither notification_id nor event_seq".into(),
        )),
    }
}

fn field<'a>(n: &'a Notification, name: &str) -> Result<&'a str, Unusable> {
    n.fields
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Unusable(format!("{} message lacks {name}", n.kind.as_str())))
}

fn time_field(n: &Notification, name: &str) -> Result<DateTime<Utc>, Unusable> {
    field(n, name)?
        .parse()
        .map_err(|_| Unusable(format!("{} message: {name} is not a time", n.kind.as_str())))
}

/// Who gets what for `n`, given the ticket as it is now.
pub fn plan(
    n: &Notification,
    ticket: &Ticket,
    config: &NotifyConfig,
    links: &Links,
) -> Result<Vec<Planned>, Unusable> {
    let kind = n.kind;
    let id = notification_id(n)?;
    if kind.is_for_borrower() {
        return Ok(vec![borrower(kind, &id, n, ticket, config, links)?]);
    }
    team(kind, &id, n, ticket, config, links)
}

fn borrower(
    kind: NotificationKind,
    id: &str,
    n: &Notification,
    ticket: &Ticket,
    config: &NotifyConfig,
    links: &Links,
) -> Result<Planned, Unusable> {
    let delivery_id = format!("{id}/{}", Audience::Borrower.as_str());
    let skip = |reason| Planned::Skip {
        id: delivery_id.clone(),
        audience: Audience::Borrower,
        reason,
    };
    // Consent is read from the ticket now, not from when the message was queued.
    if !ticket.consent_to_contact {
        return Ok(skip("no_consent"));
    }
    let (template_kind, values) = match kind {
        NotificationKind::Acknowledgement => (
            TemplateKind::Acknowledgement,
            BTreeMap::from([
                ("reference", ticket.reference.to_string()),
                ("received_at", links.time(ticket.received_at)),
                (
                    "acknowledge_by",
                    links.time(ticket.deadlines.regulatory_acknowledge_by),
                ),
                (
                    "resolve_by",
                    links.time(ticket.deadlines.regulatory_resolve_by),
                ),
                ("status_link", links.status(ticket)),
            ]),
        ),
        NotificationKind::Resolution => {
            let Some(resolution) = &ticket.resolution else {
                // Reopened and re-resolved later, or never resolved: nothing true to say.
                return Ok(skip("no_resolution"));
            };
            let outcome = outcome_label(resolution.code.as_str(), ticket.language);
            (
                TemplateKind::Resolution,
                BTreeMap::from([
                    ("reference", ticket.reference.to_string()),
                    ("outcome", outcome.to_string()),
                    ("summary", resolution.summary.clone()),
                    ("status_link", links.status(ticket)),
                ]),
            )
        }
        NotificationKind::SurveyInvitation => {
            let path = field(n, "survey_path")?;
            if !path.starts_with("/survey?token=") {
                return Err(Unusable("survey_path is not a survey link".into()));
            }
            (
                TemplateKind::SurveyInvitation,
                BTreeMap::from([
                    ("reference", ticket.reference.to_string()),
                    // In the borrower's language, whatever their browser prefers.
                    (
                        "survey_link",
                        format!(
                            "{}{path}&lang={}",
                            links.public_base_url,
                            ticket.language.as_str()
                        ),
                    ),
                    ("expires_at", links.time(time_field(n, "expires_at")?)),
                ]),
            )
        }
        NotificationKind::DeadlineWarning | NotificationKind::DeadlineBreached => {
            unreachable!("team kinds are planned by `team`")
        }
    };
    let template = config.template(template_kind, ticket.language);
    let name = format!("{}.{}", template_kind.as_str(), ticket.language.as_str());
    let email = ticket
        .contact
        .email
        .as_deref()
        .filter(|e| crate::config::looks_like_address(e));
    let phone = ticket
        .contact
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty());
    let channel = match (email, phone) {
        (Some(address), _) => Channel::Email {
            to: vec![address.to_string()],
            subject: render(&template.subject, &values),
            body: render(&template.body, &values),
        },
        (None, Some(phone)) => Channel::Sms {
            phone: e164(phone),
            text: render(
                template.sms.as_deref().unwrap_or(&template.subject),
                &values,
            ),
        },
        (None, None) => return Ok(skip("no_contact")),
    };
    Ok(Planned::Send(Delivery {
        id: delivery_id,
        audience: Audience::Borrower,
        template: name,
        channel,
    }))
}

fn team(
    kind: NotificationKind,
    id: &str,
    n: &Notification,
    ticket: &Ticket,
    config: &NotifyConfig,
    links: &Links,
) -> Result<Vec<Planned>, Unusable> {
    let deadline = field(n, "deadline")?;
    if !matches!(deadline, "acknowledge" | "resolve") {
        return Err(Unusable(format!("unknown deadline {deadline:?}")));
    }
    let priority = n
        .fields
        .get("priority")
        .and_then(Value::as_str)
        .and_then(Priority::parse)
        .unwrap_or(ticket.priority);
    // The team that holds the ticket now (it may have been transferred since).
    let addresses = config
        .team(ticket.team.as_str())
        .ok_or_else(|| Unusable(format!("no addresses for team {}", ticket.team)))?;
    let language = Language::parse(&addresses.language).unwrap_or(Language::English);
    let deadline_label = match (deadline, language) {
        ("acknowledge", Language::Chinese) => "确认",
        ("acknowledge", _) => "acknowledgement",
        (_, Language::Chinese) => "办结",
        _ => "resolution",
    };
    let mut values = BTreeMap::from([
        ("reference", ticket.reference.to_string()),
        ("team", ticket.team.to_string()),
        ("priority", priority.as_str().to_string()),
        ("deadline", deadline_label.to_string()),
        ("due_at", links.time(time_field(n, "due_at")?)),
        (
            "regulatory_due_at",
            links.time(time_field(n, "regulatory_due_at")?),
        ),
        (
            "console_link",
            format!(
                "{}/console?ticket={}",
                links.public_base_url, ticket.reference
            ),
        ),
    ]);
    let (template_kind, breach) = match kind {
        NotificationKind::DeadlineWarning => (TemplateKind::DeadlineWarning, false),
        _ => (TemplateKind::DeadlineBreached, true),
    };
    let email = |kind: TemplateKind,
                 to: Vec<String>,
                 audience: Audience,
                 values: &BTreeMap<&str, String>| {
        let template = config.template(kind, language);
        Planned::Send(Delivery {
            id: format!("{id}/{}", audience.as_str()),
            audience,
            template: format!("{}.{}", kind.as_str(), language.as_str()),
            channel: Channel::Email {
                to,
                subject: render(&template.subject, values),
                body: render(&template.body, values),
            },
        })
    };
    let mut planned = vec![email(
        template_kind,
        addresses.to.clone(),
        Audience::Team,
        &values,
    )];
    if breach {
        if let Some(reason) = escalation_reason(deadline, ticket, priority, language) {
            values.insert("reason", reason.to_string());
            let mut to = addresses.lead.clone();
            to.extend(config.managers.iter().cloned());
            to.dedup();
            planned.push(email(
                TemplateKind::Escalation,
                to,
                Audience::Escalation,
                &values,
            ));
        }
    }
    Ok(planned)
}

/// Why a breach goes to the lead and the managers too, if it does: the ticket's second
/// breach (its resolution deadline, after the acknowledgement deadline was missed
/// too), or a critical ticket.
pub fn escalation_reason(
    deadline: &str,
    ticket: &Ticket,
    priority: Priority,
    language: Language,
) -> Option<&'static str> {
    let second = deadline == "resolve" && ticket.deadline_marks.acknowledge_breached_at.is_some();
    let zh = language == Language::Chinese;
    if second {
        Some(if zh {
            "第二次超时"
        } else {
            "second deadline breach"
        })
    } else if priority == Priority::Critical {
        Some(if zh {
            "紧急工单超时"
        } else {
            "critical ticket breached a deadline"
        })
    } else {
        None
    }
}

fn outcome_label(code: &str, language: Language) -> &'static str {
    let zh = language == Language::Chinese;
    match code {
        "upheld" => {
            if zh {
                "投诉成立"
            } else {
                "upheld"
            }
        }
        "partly_upheld" => {
            if zh {
                "部分成立"
            } else {
                "partly upheld"
            }
        }
        "not_upheld" => {
            if zh {
                "投诉不成立"
            } else {
                "not upheld"
            }
        }
        _ => {
            if zh {
                "已撤回"
            } else {
                "withdrawn"
            }
        }
    }
}

/// A phone number as SNS wants it (E.164). Mainland mobile numbers are stored as 11
/// digits; anything already starting with `+` is kept.
pub fn e164(phone: &str) -> String {
    let digits: String = phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    if digits.starts_with('+') {
        digits
    } else if digits.len() == 11 && digits.starts_with('1') {
        format!("+86{digits}")
    } else {
        format!("+{digits}")
    }
}

/// `l***@example.com`.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `+86139****5678`: the country code, three digits, the last four.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let keep_start = if phone.starts_with("+86") { 6 } else { 3 };
    redress_domain::borrower::mask(phone, keep_start.min(chars.len() - 4), 4)
}
