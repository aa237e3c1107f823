//! The handling teams' routes: their queue, a ticket with its history, and actions.
//!
//! - `GET /tickets?team=&status=&priority=&category=&overdue=true&limit=&cursor=`
//! - `GET /tickets/{reference}` — the ticket (contact details masked unless the caller
//!   has contact access) with its whole history and the actions the caller may take
//!   (`allowed_actions`, from the lifecycle; any other action is refused)
//! - `GET /tickets/{reference}/history`
//! - `POST /tickets/{reference}/actions` — `{"action": "acknowledge", "expected_version": 3, …}`
//!
//! Every route checks the caller's team on the server; a stale `expected_version` or a
//! concurrent change gets 409 with the ticket as it now is.

use crate::auth::Principal;
use crate::complaints::json_body;
use crate::cursor::{CursorKey, CursorScope};
use crate::http_error::{json_response, ApiError};
use crate::views::{ActedView, HistoryView, QueueEntry, QueueItemView, QueuePageView, TicketView};
use crate::ApiDeps;
use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use redress_aws::outbox::relay;
use redress_domain::config::DomainConfig;
use redress_domain::lifecycle::{apply, Action, ActionContext, LifecycleError};
use redress_domain::notify;
use redress_domain::ports::{
    AccessKind, AccessLog, AccessRecord, Notification, NotificationKind, Notifier, Outbox,
    OutboxEntry, QueueFilter, SaveOutcome, TeamQueue, TicketChange, TicketStore,
};
use redress_domain::taxonomy::Priority;
use redress_domain::ticket::{Actor, AuditEvent, Ticket, TicketStatus};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::info;

/// Default and largest page of a queue.
const DEFAULT_PAGE: u32 = 25;
const MAX_PAGE: u32 = 100;

fn principal(auth: &crate::auth::StaffAuth, request: &Request) -> Result<Principal, ApiError> {
    Principal::from_request(auth, request).ok_or(ApiError::Unauthorized)
}

fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
}

fn bad_query(field: &'static str, en: String, zh: String) -> ApiError {
    ApiError::bad_request(field, en, zh)
}

/// A serialized view as a JSON answer.
pub(crate) fn json_view<T: Serialize>(
    status: StatusCode,
    view: &T,
) -> Result<Response<Body>, ApiError> {
    let body = serde_json::to_value(view).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(json_response(status, &body))
}

pub(crate) async fn list<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    S: TeamQueue + Sync,
{
    json_view(StatusCode::OK, &queue_page(deps, request).await?)
}

/// The queue page the request asks for (`?team=&status=&priority=&category=&overdue=
/// &limit=&cursor=`), for the JSON route and the console alike.
pub(crate) async fn queue_page<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
) -> Result<QueuePageView, ApiError>
where
    S: TeamQueue + Sync,
{
    let who = principal(&deps.auth, request)?;
    let now = deps.clock.now();
    let team = match query(request, "team") {
        Some(team) => {
            if deps.config.routing.team(team).is_none() {
                return Err(bad_query(
                    "invalid_team",
                    format!("unknown team '{team}'"),
                    format!("未知的团队“{team}”"),
                ));
            }
            if !who.can_access(team) {
                return Err(ApiError::Forbidden);
            }
            team.to_string()
        }
        None => match who.teams.as_slice() {
            [only] if !who.manager => only.clone(),
            _ => {
                return Err(bad_query(
                    "team_required",
                    "say which team's queue to list: ?team=<id>".into(),
                    "请指定团队：?team=<id>".into(),
                ))
            }
        },
    };
    let mut filter = QueueFilter::default();
    if let Some(s) = query(request, "status") {
        filter.status = Some(
            TicketStatus::parse(s)
                .filter(|s| s.is_open())
                .ok_or_else(|| {
                    bad_query(
                        "invalid_status",
                        "status must be one of received, acknowledged, under_analysis, reopened"
                            .into(),
                        "状态必须是 received、acknowledged、under_analysis、reopened 之一".into(),
                    )
                })?,
        );
    }
    if let Some(p) = query(request, "priority") {
        filter.priority = Some(Priority::parse(p).ok_or_else(|| {
            bad_query(
                "invalid_priority",
                "priority must be one of low, normal, high, critical".into(),
                "优先级必须是 low、normal、high、critical 之一".into(),
            )
        })?);
    }
    if let Some(c) = query(request, "category") {
        if deps.config.classifier.category(c).is_none() {
            return Err(bad_query(
                "invalid_category",
                format!("unknown category '{c}'"),
                format!("未知的类别“{c}”"),
            ));
        }
        filter.category = Some(c.to_string());
    }
    match query(request, "overdue") {
        Some("true") => filter.due_before = Some(now),
        Some("false") | None => {}
        Some(_) => {
            return Err(bad_query(
                "invalid_overdue",
                "overdue must be true or false".into(),
                "overdue 必须是 true 或 false".into(),
            ))
        }
    }
    let limit = match query(request, "limit") {
        None => DEFAULT_PAGE,
        Some(l) => l
            .parse()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| {
                bad_query(
                    "invalid_limit",
                    format!("limit must be a whole number from 1 to {MAX_PAGE}"),
                    format!("limit 必须是 1 到 {MAX_PAGE} 的整数"),
                )
            })?,
    };
    // Cursors are signed for this team and these filters: a forged, edited or swapped
    // one is refused before the store sees it.
    let key = CursorKey::from_status_secrets(&deps.secrets);
    let scope = CursorScope {
        team: &team,
        filter: &filter,
    };
    let cursor = match query(request, "cursor") {
        None => None,
        Some(signed) => Some(key.verify(&scope, signed).ok_or_else(|| {
            bad_query(
                "invalid_cursor",
                "the cursor is not valid for this queue and these filters: start again without it"
                    .into(),
                "分页游标对该队列和筛选条件无效，请去掉游标重新开始".into(),
            )
        })?),
    };
    let page = deps.store.team_queue(&team, &filter, cursor, limit).await?;
    let next_cursor = page.next_cursor.as_deref().map(|c| key.sign(&scope, c));
    let tickets = page
        .tickets
        .into_iter()
        .map(|item| {
            // The index holds what the store wrote: an entry that does not read is our
            // own inconsistency, not the caller's input.
            serde_json::from_value::<QueueEntry>(item)
                .map(|entry| QueueItemView::new(entry, &deps.config, now))
                .map_err(|e| ApiError::Internal(Box::new(e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(QueuePageView {
        team_name: deps.config.routing.team(&team).map(|t| t.name.clone()),
        team,
        tickets,
        next_cursor,
    })
}

async fn load<S, Q>(
    deps: &ApiDeps<S, Q>,
    who: &Principal,
    reference: &str,
) -> Result<(Ticket, Vec<AuditEvent>), ApiError>
where
    S: TicketStore + Sync,
{
    let reference = redress_domain::reference::Reference::parse(reference).map_err(|_| {
        ApiError::bad_request(
            "invalid_reference",
            "a reference looks like RD-261123-7KQ2M9XA",
            "投诉编号格式应类似 RD-261123-7KQ2M9XA",
        )
    })?;
    let (ticket, events) = deps
        .store
        .ticket(reference.as_str())
        .await?
        .ok_or(ApiError::TicketNotFound)?;
    // Another team's ticket answers exactly as a missing one: no way to learn that a
    // reference exists.
    if !who.can_access(ticket.team.as_str()) {
        return Err(ApiError::TicketNotFound);
    }
    Ok((ticket, events))
}

pub(crate) async fn show<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    reference: &str,
) -> Result<Response<Body>, ApiError>
where
    S: TicketStore + AccessLog + Sync,
{
    json_view(
        StatusCode::OK,
        &ticket_page(deps, request, reference).await?,
    )
}

/// A ticket as the caller may see it, with its whole history: for `GET
/// /tickets/{reference}` and the console's ticket view alike.
pub(crate) async fn ticket_page<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    reference: &str,
) -> Result<TicketView, ApiError>
where
    S: TicketStore + AccessLog + Sync,
{
    let who = principal(&deps.auth, request)?;
    let (ticket, events) = load(deps, &who, reference).await?;
    Ok(shown(deps, &who, &ticket, deps.clock.now())
        .await?
        .with_history(events))
}

/// The ticket as `who` may see it. An unmasked view (contact access) is written to the
/// access log first: without its audit record, no unmasked view.
async fn shown<S, Q>(
    deps: &ApiDeps<S, Q>,
    who: &Principal,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> Result<TicketView, ApiError>
where
    S: AccessLog + Sync,
{
    let view = TicketView::new(ticket, who, &deps.config, now);
    if !view.contact_masked {
        deps.store
            .record_access(&AccessRecord {
                reference: ticket.reference.to_string(),
                at: now,
                actor: actor_of(who),
                kind: AccessKind::ContactViewed,
            })
            .await?;
        info!(reference = %ticket.reference, user = %who.user, "contact details shown unmasked");
    }
    Ok(view)
}

/// The ticket masked whatever the caller's access, for the `current` ticket of a
/// refusal or conflict (it is there to show the state, not the borrower).
fn masked_json(
    ticket: &Ticket,
    who: &Principal,
    config: &DomainConfig,
    now: DateTime<Utc>,
) -> Value {
    let masked = Principal {
        contact_access: false,
        ..who.clone()
    };
    TicketView::new(ticket, &masked, config, now).to_json()
}

/// The audit trail's actor for a staff member.
pub(crate) fn actor_of(who: &Principal) -> Actor {
    Actor {
        id: who.user.clone(),
        role: who.role().to_string(),
    }
}

pub(crate) async fn history<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    reference: &str,
) -> Result<Response<Body>, ApiError>
where
    S: TicketStore + Sync,
{
    let who = principal(&deps.auth, request)?;
    let (ticket, events) = load(deps, &who, reference).await?;
    json_view(
        StatusCode::OK,
        &HistoryView {
            reference: ticket.reference.to_string(),
            events,
        },
    )
}

pub(crate) async fn act<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    reference: &str,
) -> Result<Response<Body>, ApiError>
where
    S: TicketStore + Outbox + AccessLog + Sync,
    Q: Notifier + Sync,
{
    let who = principal(&deps.auth, request)?;
    let body = json_body(request)?;
    let Value::Object(mut fields) = body else {
        return Err(ApiError::Validation(vec![
            redress_domain::complaint::FieldError::new(
                "",
                "not_an_object",
                "the body must be a JSON object",
                "请求内容必须是 JSON 对象",
            ),
        ]));
    };
    let expected_version = match fields.remove("expected_version") {
        Some(Value::Number(n))
            if n.as_u64()
                .is_some_and(|v| v >= 1 && v <= u64::from(u32::MAX)) =>
        {
            n.as_u64().unwrap_or(0) as u32
        }
        Some(_) => {
            return Err(ApiError::Validation(vec![
                redress_domain::complaint::FieldError::new(
                    "expected_version",
                    "wrong_type",
                    "expected_version must be the ticket's version, a whole number from 1",
                    "expected_version 必须是工单的版本号（从 1 开始的整数）",
                ),
            ]))
        }
        None => {
            return Err(ApiError::Validation(vec![
                redress_domain::complaint::FieldError::new(
                    "expected_version",
                    "required",
                    "expected_version is required: the version of the ticket you are acting on",
                    "请提供 expected_version：您所操作工单的版本号",
                ),
            ]))
        }
    };
    let action: Action = serde_json::from_value(Value::Object(fields)).map_err(|e| {
        ApiError::Validation(vec![redress_domain::complaint::FieldError::new(
            "action",
            "invalid_action",
            format!("not a valid action: {e}"),
            format!("操作无效：{e}"),
        )])
    })?;
    let (ticket, _) = load(deps, &who, reference).await?;
    let now = deps.clock.now();
    if ticket.version != expected_version {
        return Err(ApiError::VersionConflict(Box::new(masked_json(
            &ticket,
            &who,
            &deps.config,
            now,
        ))));
    }
    let actor = actor_of(&who);
    let ctx = ActionContext {
        actor: &actor,
        now,
        config: &deps.config,
    };
    let (changed, event) = apply(&ticket, &action, &ctx)
        .map_err(|e| lifecycle_error(e, &ticket, &who, &deps.config, now))?;
    // Resolving tells the borrower (the summary, then the survey link): the outbox
    // entries are written with the change, so neither is lost if the queue is down.
    let outbox =
        if changed.status == TicketStatus::Resolved && ticket.status != TicketStatus::Resolved {
            vec![
                notify::resolution(&changed, &event),
                survey_invitation(deps, &changed, &event),
            ]
        } else {
            Vec::new()
        };
    let change = TicketChange {
        before: &ticket,
        after: &changed,
        events: std::slice::from_ref(&event),
        survey: None,
        now,
        outbox: &outbox,
    };
    match deps.store.record_change(&change).await? {
        SaveOutcome::Saved => {
            // Right after the commit; whatever fails here the sweeper's relay run sends.
            relay(&deps.store, &deps.queue, &outbox).await;
            info!(reference = %changed.reference, action = %event.action, version = changed.version, user = %who.user, "ticket changed");
            json_view(
                StatusCode::OK,
                &ActedView {
                    ticket: shown(deps, &who, &changed, now).await?,
                    event,
                },
            )
        }
        // No survey is written here, so AlreadyAnswered cannot happen; read it as a conflict.
        SaveOutcome::AlreadyAnswered => Err(ApiError::VersionConflict(Box::new(masked_json(
            &ticket,
            &who,
            &deps.config,
            now,
        )))),
        // Someone else changed the ticket first. It may have moved to another team (a
        // transfer) meanwhile: the caller sees it only if they still may, else it is
        // as missing as any other team's ticket.
        SaveOutcome::Conflict { current } => match current {
            Some(t) if who.can_access(t.team.as_str()) => Err(ApiError::VersionConflict(Box::new(
                masked_json(&t, &who, &deps.config, now),
            ))),
            _ => Err(ApiError::TicketNotFound),
        },
    }
}

fn lifecycle_error(
    e: LifecycleError,
    ticket: &Ticket,
    who: &Principal,
    config: &DomainConfig,
    now: DateTime<Utc>,
) -> ApiError {
    let message = e.message();
    match &e {
        LifecycleError::InvalidInput { field, .. } => {
            ApiError::Validation(vec![redress_domain::complaint::FieldError::new(
                field,
                e.code(),
                &message.en,
                &message.zh,
            )])
        }
        _ => ApiError::Refused {
            code: e.code(),
            message,
            current: Box::new(masked_json(ticket, who, config, now)),
        },
    }
}

/// The survey invitation for a resolved ticket: a signed, single-use, expiring token,
/// delivered by the notifier (SMS or e-mail) through the outbox.
fn survey_invitation<S, Q>(
    deps: &ApiDeps<S, Q>,
    ticket: &Ticket,
    event: &AuditEvent,
) -> OutboxEntry {
    let expires_at = event.at + deps.config.sla.survey_token_validity();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let token = deps
        .survey_tokens
        .issue(ticket.reference.as_str(), expires_at, &nonce);
    let mut fields = serde_json::Map::new();
    fields.insert("language".into(), json!(ticket.language.as_str()));
    fields.insert("channel".into(), json!(ticket.channel.as_str()));
    fields.insert(
        "survey_path".into(),
        json!(format!("/survey?token={token}")),
    );
    fields.insert("token".into(), json!(token));
    fields.insert("expires_at".into(), json!(expires_at));
    fields.insert("event_seq".into(), json!(event.seq));
    let notification = Notification {
        kind: NotificationKind::SurveyInvitation,
        reference: ticket.reference.to_string(),
        fields,
    };
    OutboxEntry::new(notification, event.seq, event.at)
}
