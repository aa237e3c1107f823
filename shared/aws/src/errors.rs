//! Sorting AWS SDK errors into transient (retry) and permanent (don't).

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use redress_domain::ports::StoreError;

/// Error codes that mean "try again later".
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
    "RequestThrottled",
    "AWS.SimpleQueueService.RequestThrottled",
    "KMS.ThrottlingException",
];

/// Maps an SDK error of any AWS service to a [`StoreError`].
pub fn store_error<E, R>(what: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let transient = match &err {
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    // A service error is told by its code and message (the raw response stays out of
    // logs); a transport error by its cause chain.
    let message = match &err {
        SdkError::ServiceError(service) => format!(
            "{what}: {} {}",
            service.err().code().unwrap_or("unknown error"),
            service.err().message().unwrap_or_default()
        ),
        _ => format!("{what}: {}", DisplayErrorContext(&err)),
    };
    if transient {
        StoreError::Transient(message)
    } else {
        StoreError::Permanent(message)
    }
}

/// True if a code names a transient condition.
pub fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
}
