//! The surveys function: records each satisfaction-survey answer exactly once.
//!
//! For every message from the surveys queue: parse and verify the answer again (trusting
//! nothing the api did), then, in one DynamoDB transaction: the survey record (refused if
//! the ticket already has one), the ticket closed — or reopened when the borrower says
//! the problem was not solved within the answer window — its audit event, and the metric
//! counters the answer moves. A redelivered message finds the record and changes nothing.
//!
//! Failures per message (`ReportBatchItemFailures`): a message that can never succeed
//! (unreadable, invalid, forged or expired token, unknown ticket, a ticket not waiting for
//! an answer) is poison and goes to the dead-letter queue after `maxReceiveCount`
//! receives; throttling, timeouts and a concurrent change to the ticket are retried.
//! A configuration fault (access denied, a missing table, KMS, credentials) is neither:
//! it fails the whole invocation ([`handle_batch`]), so SQS keeps every message and the
//! function's error alarm fires, instead of dead-lettering good answers one by one.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use redress_aws::env::{self, EnvError, VarSource};
use redress_aws::{DynamoStore, SdkConfig};
use redress_domain::config::DomainConfig;
use redress_domain::ports::{
    SaveOutcome, StoreError, SurveyMessage, SurveyRecord, TicketChange, TicketStore,
};
use redress_domain::survey::{apply_answer, SurveySubmission, SurveyTokens};
use std::sync::Arc;
use tracing::{error, info, instrument, warn};

/// What the surveys handler needs, built once per cold start.
pub struct SurveysDeps<S> {
    pub config: Arc<DomainConfig>,
    pub tokens: SurveyTokens,
    pub store: S,
}

impl SurveysDeps<DynamoStore> {
    /// From the function's environment (`TICKETS_TABLE`, `SURVEY_TOKEN_KEY`, `RETENTION_DAYS`).
    pub fn from_env(
        vars: &dyn VarSource,
        aws: &SdkConfig,
        config: Arc<DomainConfig>,
    ) -> Result<Self, EnvError> {
        let store = DynamoStore::from_env(vars, aws, &config)?;
        Ok(Self {
            tokens: SurveyTokens::from_ring(env::required_keyring(vars, "SURVEY_TOKEN_KEY")?),
            config,
            store,
        })
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Recorded {
        reference: String,
        reopened: bool,
    },
    /// Already recorded (a redelivery, or a second answer): nothing changed.
    Duplicate {
        reference: String,
    },
    Poison {
        reason: String,
    },
    Transient {
        reason: String,
    },
    /// The deployment is set up wrong: the batch fails as a whole.
    Misconfigured {
        reason: String,
    },
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Poison { .. } | Outcome::Transient { .. } | Outcome::Misconfigured { .. }
        )
    }
}

/// A fault of the deployment that fails the whole invocation.
#[derive(Debug, thiserror::Error)]
#[error("configuration fault; the whole batch is left for SQS to retry: {reason}")]
pub struct BatchFault {
    pub reason: String,
}

/// Handles one SQS batch and reports the messages to retry; a configuration fault
/// reports every message as failed (what SQS makes of a failed invocation).
pub async fn handle<S: TicketStore + Sync>(
    deps: &SurveysDeps<S>,
    event: SqsEvent,
) -> SqsBatchResponse {
    match handle_batch(deps, &event).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = SqsBatchResponse::default();
            for message in &event.records {
                response.add_failure(message.message_id.clone().unwrap_or_default());
            }
            response
        }
    }
}

/// Handles one SQS batch; a configuration fault stops it and fails the invocation.
pub async fn handle_batch<S: TicketStore + Sync>(
    deps: &SurveysDeps<S>,
    event: &SqsEvent,
) -> Result<SqsBatchResponse, BatchFault> {
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        let outcome = process(deps, message).await;
        if let Outcome::Misconfigured { reason } = outcome {
            error!(
                fault = "configuration",
                reason,
                batch_size = event.records.len(),
                "configuration fault; failing the whole batch"
            );
            return Err(BatchFault { reason });
        }
        if outcome.is_failure() {
            response.add_failure(message.message_id.clone().unwrap_or_default());
        }
    }
    Ok(response)
}

#[derive(Debug)]
enum Failure {
    Poison(String),
    Transient(String),
    Misconfigured(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            Failure::Transient(e.to_string())
        } else if e.is_configuration() {
            // Not the answer's fault: the same answer succeeds once an operator fixes it.
            Failure::Misconfigured(e.to_string())
        } else {
            Failure::Poison(e.to_string())
        }
    }
}

/// Processes one message; logs ids only (never the comment).
#[instrument(skip_all, fields(message_id = message.message_id.as_deref().unwrap_or("-"), reference))]
pub async fn process<S: TicketStore + Sync>(
    deps: &SurveysDeps<S>,
    message: &SqsMessage,
) -> Outcome {
    let outcome = match try_process(deps, message).await {
        Ok(outcome) => outcome,
        Err(Failure::Poison(reason)) => Outcome::Poison { reason },
        Err(Failure::Transient(reason)) => Outcome::Transient { reason },
        Err(Failure::Misconfigured(reason)) => Outcome::Misconfigured { reason },
    };
    match &outcome {
        Outcome::Recorded {
            reference,
            reopened,
        } => info!(reference, reopened, "survey answer recorded"),
        Outcome::Duplicate { reference } => {
            info!(reference, "survey already recorded; nothing changed")
        }
        Outcome::Poison { reason } => error!(
            reason,
            "poison survey message; leaving it for the dead-letter queue"
        ),
        Outcome::Transient { reason } => warn!(reason, "transient failure; will be retried"),
        Outcome::Misconfigured { reason } => error!(
            fault = "configuration",
            reason, "configuration fault; the message is not at fault"
        ),
    }
    outcome
}

async fn try_process<S: TicketStore + Sync>(
    deps: &SurveysDeps<S>,
    message: &SqsMessage,
) -> Result<Outcome, Failure> {
    let body = message
        .body
        .as_deref()
        .ok_or_else(|| Failure::Poison("message has no body".into()))?;
    let msg: SurveyMessage = serde_json::from_str(body)
        .map_err(|e| Failure::Poison(format!("body is not a survey message: {e}")))?;
    let submission = SurveySubmission::parse(&msg.submission)
        .map_err(|e| Failure::Poison(format!("invalid answer: {e}")))?;
    // Checked at the time the borrower answered: a queue delay must not expire a token.
    let claim = deps
        .tokens
        .verify(&submission.token, msg.received_at)
        .map_err(|e| Failure::Poison(format!("token refused: {}", e.code())))?;
    tracing::Span::current().record("reference", claim.reference.as_str());
    let (ticket, events) = deps
        .store
        .ticket(&claim.reference)
        .await?
        .ok_or_else(|| Failure::Poison("no ticket for this token".into()))?;
    let (changed, event) = match apply_answer(
        &ticket,
        &submission.answer,
        msg.received_at,
        deps.config.sla.survey_window(),
    ) {
        Ok(result) => result,
        // Closed already, or reopened by an answer: the answer (this one, delivered
        // before, or another) is recorded. A redelivered "not solved" answer finds the
        // ticket reopened, not closed, and must not be taken for poison.
        Err(_)
            if ticket.status == redress_domain::ticket::TicketStatus::Closed
                || answered(&events) =>
        {
            return Ok(Outcome::Duplicate {
                reference: claim.reference,
            })
        }
        Err(e) => {
            return Err(Failure::Poison(format!(
                "ticket cannot take an answer: {}",
                e.code()
            )))
        }
    };
    let record = SurveyRecord {
        reference: claim.reference.clone(),
        answer: submission.answer.clone(),
        answered_at: msg.received_at,
        nonce: claim.nonce,
    };
    let change = TicketChange {
        before: &ticket,
        after: &changed,
        events: std::slice::from_ref(&event),
        survey: Some(&record),
        now: msg.received_at,
        outbox: &[],
    };
    match deps.store.record_change(&change).await? {
        SaveOutcome::Saved => Ok(Outcome::Recorded {
            reference: claim.reference,
            reopened: changed.status == redress_domain::ticket::TicketStatus::Reopened,
        }),
        SaveOutcome::AlreadyAnswered => Ok(Outcome::Duplicate {
            reference: claim.reference,
        }),
        // Someone changed the ticket meanwhile: try again on its new state.
        SaveOutcome::Conflict { .. } => {
            Err(Failure::Transient("ticket changed concurrently".into()))
        }
    }
}

/// Whether the ticket's history holds a recorded survey answer.
fn answered(events: &[redress_domain::ticket::AuditEvent]) -> bool {
    use redress_domain::ticket::AuditAction;
    events.iter().any(|e| {
        matches!(
            e.action,
            AuditAction::SurveyAnswered | AuditAction::SurveyNotSolvedReopened
        )
    })
}
