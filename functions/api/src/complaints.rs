//! `POST /complaints` and `GET /complaints/{reference}`.

use crate::auth::Principal;
use crate::http_error::{json_response, ApiError};
use crate::views::{BorrowerDeadlines, ComplaintStatusView};
use crate::{ApiDeps, MAX_BODY_BYTES};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use redress_domain::assess::ComplaintMessage;
use redress_domain::complaint::{Complaint, FieldError, ParseMode};
use redress_domain::ports::{
    AccessKind, AccessLog, AccessRecord, ComplaintLookup, ComplaintQueue, ComplaintState,
    Submission, SubmissionLog,
};
use redress_domain::reference::Reference;
use redress_domain::taxonomy::Channel;
use redress_domain::ticket::TicketStatus;
use redress_domain::Bilingual;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// A complaint the api accepted: on the queue (or already there, for a replay).
pub(crate) struct Accepted {
    pub reference: Reference,
    pub status_secret: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub replayed: bool,
}

pub(crate) async fn submit<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    S: SubmissionLog + Sync,
    Q: ComplaintQueue + Sync,
{
    let value = json_body(request)?;
    let idempotency_key = required_idempotency_key(request)?;
    let accepted = accept(deps, &value, Some(&idempotency_key), Entry::Public).await?;
    Ok(accepted_response(&accepted))
}

/// `POST /tickets/entered`: a signed-in staff member enters a complaint that reached
/// us by phone, letter or an agent — the same body as `POST /complaints`, plus the
/// staff-only channels and the original `submitted_at`. Who entered it is written to
/// the access log.
pub(crate) async fn enter<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    S: SubmissionLog + AccessLog + Sync,
    Q: ComplaintQueue + Sync,
{
    let who = Principal::from_request(&deps.auth, request).ok_or(ApiError::Unauthorized)?;
    // Any staff member who works tickets: a team member or a manager.
    if who.teams.is_empty() && !who.manager {
        return Err(ApiError::Forbidden);
    }
    let value = json_body(request)?;
    let idempotency_key = required_idempotency_key(request)?;
    let accepted = accept(deps, &value, Some(&idempotency_key), Entry::Staff).await?;
    // On a replay too: if this record failed after the complaint was queued, the
    // client's resubmit (same key) is what writes it.
    deps.store
        .record_access(&AccessRecord {
            reference: accepted.reference.to_string(),
            at: deps.clock.now(),
            actor: crate::tickets::actor_of(&who),
            kind: AccessKind::Entered,
        })
        .await?;
    info!(reference = %accepted.reference, user = %who.user, replayed = accepted.replayed, "complaint entered by staff");
    Ok(accepted_response(&accepted))
}

/// Who submits a complaint: the public (the web form, a borrower's app) may not
/// backdate it or claim a staff channel; staff entering a call or a letter may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Public,
    Staff,
}

/// Channels only staff may record: the borrower did not use the form or the app.
const STAFF_CHANNELS: [Channel; 3] = [Channel::Phone, Channel::Letter, Channel::Agent];

/// The fields a public submission may not carry, as field errors.
/// True if a complaint body may only be entered by staff (`POST /tickets/entered`): it
/// names a receipt time or a staff-only channel.
pub fn is_staff_entry(value: &Value) -> bool {
    !staff_only_fields(value).is_empty()
}

fn staff_only_fields(value: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if value.get("submitted_at").is_some() {
        errors.push(FieldError::new(
            "submitted_at",
            "staff_only",
            "submitted_at may not be given here: a complaint counts from when we receive it (staff enter earlier calls and letters on POST /tickets/entered)",
            "此处不能提供 submitted_at：投诉自我们收到之时起算（工作人员通过 POST /tickets/entered 录入先前的来电和信件）",
        ));
    }
    let staff_channel = value
        .get("channel")
        .and_then(Value::as_str)
        .and_then(|c| Channel::parse(c.trim()))
        .filter(|c| STAFF_CHANNELS.contains(c));
    if let Some(channel) = staff_channel {
        errors.push(FieldError::new(
            "channel",
            "staff_only",
            format!(
                "channel '{}' is for complaints entered by staff; use web, app or email",
                channel.as_str()
            ),
            format!(
                "渠道“{}”仅供工作人员录入投诉使用；请使用 web、app 或 email",
                channel.as_str()
            ),
        ));
    }
    errors
}

fn accepted_response(accepted: &Accepted) -> Response<Body> {
    let reference = &accepted.reference;
    let body = json!({
        "reference": reference.as_str(),
        "status_secret": accepted.status_secret,
        "status": TicketStatus::Received.as_str(),
        "received_at": accepted.received_at,
        "status_url": format!("/complaints/{}", reference.as_str()),
        "message": {
            "en": "Thank you. Keep the reference and the status secret: you need both to check progress.",
            "zh": "已收到您的投诉。请保存投诉编号和查询码，查询进度时需要两者。"
        }
    });
    let mut response = json_response(StatusCode::ACCEPTED, &body);
    if accepted.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    response
}

/// Validates a complaint (the JSON form) and puts it on the queue, once per
/// idempotency key: the one submit path of the JSON API and the web form.
pub(crate) async fn accept<S, Q>(
    deps: &ApiDeps<S, Q>,
    value: &Value,
    idempotency_key: Option<&str>,
    entry: Entry,
) -> Result<Accepted, ApiError>
where
    S: SubmissionLog + Sync,
    Q: ComplaintQueue + Sync,
{
    let now = deps.clock.now();
    let mut refused = match entry {
        Entry::Public => staff_only_fields(value),
        Entry::Staff => Vec::new(),
    };
    let parsed = Complaint::parse(value, &deps.config, ParseMode::Submission, now);
    let complaint = match parsed {
        Ok(c) if refused.is_empty() => c,
        Ok(_) => return Err(ApiError::Validation(refused)),
        Err(e) => {
            refused.extend(e.0);
            return Err(ApiError::Validation(refused));
        }
    };
    let form = complaint.to_form();
    // serde_json orders object keys, so equal complaints give equal fingerprints.
    let fingerprint = hex::encode(Sha256::digest(form.to_string().as_bytes()));

    let mut random = [0u8; 5];
    random.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..5]);
    let fresh = Submission {
        reference: Reference::generate(now, random).to_string(),
        received_at: complaint.submitted_at.unwrap_or(now),
        fingerprint,
        enqueued: false,
    };
    let (submission, replayed) = match deps
        .store
        .record_submission(&fresh, idempotency_key)
        .await?
    {
        Some(existing) if existing.fingerprint != fresh.fingerprint => {
            return Err(ApiError::IdempotencyConflict)
        }
        Some(existing) => (existing, true),
        None => (fresh, false),
    };

    if !submission.enqueued {
        let message = ComplaintMessage {
            reference: submission.reference.clone(),
            received_at: submission.received_at,
            form,
        };
        // Durable before the borrower has a reference: if the message is ever lost,
        // `redress reconcile` queues it again from this record.
        deps.store.record_accepted(&message, now).await?;
        deps.queue.enqueue(&message).await?;
        // The message is on the queue; if this mark is lost, a replay re-sends, and intake
        // ignores the duplicate.
        if let Err(e) = deps.store.mark_enqueued(&submission.reference).await {
            warn!(reference = %submission.reference, error = %e, "could not mark submission as enqueued");
        }
    }
    info!(reference = %submission.reference, replayed, channel = complaint.channel.as_str(), "complaint accepted");

    let reference =
        Reference::parse(&submission.reference).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(Accepted {
        status_secret: deps.secrets.secret_for(&reference),
        reference,
        received_at: submission.received_at,
        replayed,
    })
}

pub(crate) async fn status<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
    raw_reference: &str,
) -> Result<Response<Body>, ApiError>
where
    S: ComplaintLookup + Sync,
{
    let reference = Reference::parse(raw_reference).map_err(|_| {
        ApiError::bad_request(
            "invalid_reference",
            "a reference looks like RD-261123-7KQ2M9XA",
            "投诉编号格式应类似 RD-261123-7KQ2M9XA",
        )
    })?;
    // Never from the query string: a URL ends up in logs, histories and Referer headers.
    let secret = request
        .headers()
        .get("x-status-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::bad_request(
                "secret_required",
                "give the status secret in the X-Status-Secret header (never in the URL)",
                "请在 X-Status-Secret 请求头中提供查询码（不要放在网址中）",
            )
        })?;
    crate::tickets::json_view(StatusCode::OK, &lookup(deps, &reference, &secret).await?)
}

/// The status a borrower may see (status, team name, deadlines), if the secret matches.
pub(crate) async fn lookup<S, Q>(
    deps: &ApiDeps<S, Q>,
    reference: &Reference,
    secret: &str,
) -> Result<ComplaintStatusView, ApiError>
where
    S: ComplaintLookup + Sync,
{
    // A wrong secret looks exactly like an unknown reference.
    if !deps.secrets.verify(reference, secret) {
        return Err(ApiError::ComplaintNotFound);
    }
    let view = match deps.store.complaint_state(reference.as_str()).await? {
        None => return Err(ApiError::ComplaintNotFound),
        Some(ComplaintState::Submitted { received_at }) => ComplaintStatusView {
            reference: reference.as_str().to_string(),
            status: TicketStatus::Received,
            status_label: TicketStatus::Received.label(),
            received_at,
            team: None,
            deadlines: None,
            note: Some(Bilingual {
                en: "Your complaint is being routed to the team that will handle it.".into(),
                zh: "您的投诉正在分派给负责的团队。".into(),
            }),
        },
        Some(ComplaintState::Ticketed(ticket)) => ComplaintStatusView {
            reference: reference.as_str().to_string(),
            status: ticket.status,
            status_label: ticket.status.label(),
            received_at: ticket.received_at,
            team: deps
                .config
                .routing
                .team(ticket.team.as_str())
                .map(|t| t.name.clone()),
            deadlines: Some(BorrowerDeadlines {
                acknowledge_by: ticket.deadlines.regulatory_acknowledge_by,
                resolve_by: ticket.deadlines.regulatory_resolve_by,
            }),
            note: None,
        },
    };
    Ok(view)
}

/// The `Idempotency-Key` a JSON client must send, so that resubmitting after a lost
/// answer can never file the complaint twice.
fn required_idempotency_key(request: &Request) -> Result<String, ApiError> {
    idempotency_key(request)?.ok_or_else(|| {
        ApiError::bad_request(
            "idempotency_key_required",
            "send an Idempotency-Key header (e.g. a random UUID per complaint) and reuse it when you resend the same complaint",
            "请提供 Idempotency-Key 请求头（例如每条投诉一个随机 UUID），重发同一投诉时使用同一个键",
        )
    })
}

fn idempotency_key(request: &Request) -> Result<Option<String>, ApiError> {
    let Some(raw) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match raw.to_str() {
        Ok(k)
            if !k.is_empty()
                && k.len() <= MAX_IDEMPOTENCY_KEY
                && k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(k.to_string()))
        }
        _ => Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
            format!("Idempotency-Key 必须是 1 到 {MAX_IDEMPOTENCY_KEY} 个可见 ASCII 字符"),
        )),
    }
}

/// The body as JSON, after checking its type and size.
pub(crate) fn json_body(request: &Request) -> Result<Value, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type != "application/json" {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes: &[u8] = match request.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // Position only: serde_json never quotes the input in its message.
        ApiError::MalformedJson(format!("line {}, column {}", e.line(), e.column()))
    })
}
