//! `POST /surveys`: a borrower's answer to the satisfaction survey.
//!
//! The answer is checked here (fields, the invitation token's signature and expiry, the
//! ticket still waiting for its answer) so the borrower hears at once what is wrong, then
//! queued; the surveys function records it exactly once.

use crate::complaints::json_body;
use crate::http_error::{json_response, ApiError};
use crate::ApiDeps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use redress_domain::ports::{SurveyLookup, SurveyMessage, SurveyQueue, TicketStore};
use redress_domain::survey::{already_answered_message, SurveySubmission};
use redress_domain::ticket::TicketStatus;
use serde_json::json;
use tracing::info;

pub(crate) async fn submit<S, Q>(
    deps: &ApiDeps<S, Q>,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    S: TicketStore + SurveyLookup + Sync,
    Q: SurveyQueue + Sync,
{
    let value = json_body(request)?;
    let reference = accept(deps, &value).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({
            "reference": reference,
            "status": "received",
            "message": {"en": "Thank you for your answer.", "zh": "感谢您的反馈。"}
        }),
    ))
}

/// Checks an answer (the JSON form of a submission) and queues it: the one path of the
/// JSON route and the survey page. The reference of the ticket it answers.
pub(crate) async fn accept<S, Q>(
    deps: &ApiDeps<S, Q>,
    value: &serde_json::Value,
) -> Result<String, ApiError>
where
    S: TicketStore + SurveyLookup + Sync,
    Q: SurveyQueue + Sync,
{
    let now = deps.clock.now();
    let submission = SurveySubmission::parse(value).map_err(|e| ApiError::Validation(e.0))?;
    let claim = deps
        .survey_tokens
        .verify(&submission.token, now)
        .map_err(|e| ApiError::Validation(vec![e.field_error()]))?;
    let answered = already_answered_message();
    if deps.store.survey_answered(&claim.reference).await? {
        return Err(ApiError::AlreadyAnswered(answered));
    }
    // A token is only issued for an existing, resolved ticket; anything else now means
    // the ticket moved on (closed by an earlier answer, reopened by the team).
    match deps.store.ticket(&claim.reference).await? {
        Some((ticket, _)) if ticket.status == TicketStatus::Resolved => {}
        Some(_) => return Err(ApiError::AlreadyAnswered(answered)),
        None => return Err(ApiError::TicketNotFound),
    }
    deps.queue
        .enqueue_survey(&SurveyMessage {
            submission: submission.to_form(),
            received_at: now,
        })
        .await?;
    info!(reference = %claim.reference, "survey answer accepted");
    Ok(claim.reference.to_string())
}
