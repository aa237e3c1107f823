//! `POST /complaints` and `GET /complaints/{reference}`.

use crate::http_error::{json_response, ApiError};
use crate::views::{BorrowerDeadlines, ComplaintStatusView};
use crate::{ApiDeps, MAX_BODY_BYTES};
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use redress_domain::assess::ComplaintMessage;
use redress_domain::complaint::{Complaint, ParseMode};
use redress_domain::ports::{
    ComplaintLookup, ComplaintQueue, ComplaintState, Submission, SubmissionLog,
};
use redress_domain::reference::Reference;
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
    let idempotency_key = idempotency_key(request)?;
    let value = json_body(request)?;
    let accepted = accept(deps, &value, idempotency_key.as_deref()).await?;
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
    Ok(response)
}

/// Validates a complaint (the JSON form) and puts it on the queue, once per
/// idempotency key: the one submit path of the JSON API and the web form.
pub(crate) async fn accept<S, Q>(
    deps: &ApiDeps<S, Q>,
    value: &Value,
    idempotency_key: Option<&str>,
) -> Result<Accepted, ApiError>
where
    S: SubmissionLog + Sync,
    Q: ComplaintQueue + Sync,
{
    let now = deps.clock.now();
    let complaint = Complaint::parse(value, &deps.config, ParseMode::Submission, now)
        .map_err(|e| ApiError::Validation(e.0))?;
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
    let secret = request
        .headers()
        .get("x-status-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.query_string_parameters_ref().and_then(|q| q.first("secret").map(str::to_string)))
        .ok_or_else(|| {
            ApiError::bad_request(
                "secret_required",
                "give the status secret in the X-Status-Secret header or the 'secret' query parameter",
                "请提供查询码（X-Status-Secret 请求头或 secret 参数）",
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
