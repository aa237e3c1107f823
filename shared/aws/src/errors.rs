//! Sorting AWS SDK errors into the domain's [`StoreFailure`] causes (transient: retry;
//! permanent: don't).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use redress_domain::ports::{StoreError, StoreFailure};

/// Error codes that mean "too busy: try again later".
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "RequestThrottled",
    "AWS.SimpleQueueService.RequestThrottled",
    "KMS.ThrottlingException",
];

/// Error codes that mean "the service failed on its side: try again later".
const UNAVAILABLE_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// Error codes that mean "lost to a concurrent transaction: try again".
const CONTENTION_CODES: &[&str] = &[
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Maps an SDK error of any AWS service, raised by `operation`, to a [`StoreError`].
pub fn store_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    // A service error is told by its code and message (the raw response stays out of
    // logs); a transport error keeps its cause chain.
    let cause = match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown error");
            service_failure(code, service.err().message().unwrap_or_default())
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreFailure::Unreachable(Box::new(err))
        }
        _ => StoreFailure::InvalidRequest(Box::new(err)),
    };
    StoreError::new(operation, cause)
}

/// The cause a service error `code` (with its `message`) stands for.
pub fn service_failure(code: &str, message: &str) -> StoreFailure {
    if THROTTLING_CODES.contains(&code) {
        StoreFailure::Throttled { code: code.into() }
    } else if UNAVAILABLE_CODES.contains(&code) {
        StoreFailure::Unavailable { code: code.into() }
    } else if CONTENTION_CODES.contains(&code) {
        StoreFailure::Contention
    } else {
        StoreFailure::Rejected {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// True if a code names a transient condition.
pub fn is_transient_code(code: &str) -> bool {
    service_failure(code, "").is_transient()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_sort_into_their_causes() {
        assert!(matches!(
            service_failure("ThrottlingException", ""),
            StoreFailure::Throttled { .. }
        ));
        assert!(matches!(
            service_failure("InternalServerError", ""),
            StoreFailure::Unavailable { .. }
        ));
        assert!(matches!(
            service_failure("TransactionConflictException", ""),
            StoreFailure::Contention
        ));
        match service_failure("ValidationException", "bad key") {
            StoreFailure::Rejected { code, message } => {
                assert_eq!(
                    (code.as_str(), message.as_str()),
                    ("ValidationException", "bad key")
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(is_transient_code("AWS.SimpleQueueService.RequestThrottled"));
        assert!(!is_transient_code("ConditionalCheckFailedException"));
    }
}
