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

/// Error codes that mean "this deployment is set up wrong": permissions, a missing
/// table or queue, credentials. The same request succeeds once an operator fixes it, so
/// these are neither transient (retrying within seconds) nor the message's fault
/// (poison). Codes starting with `KMS` (a key disabled, missing or not usable by this
/// role; SQS spells them `KMS.…`) are configuration faults too, except KMS throttling.
const CONFIGURATION_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "IncompleteSignature",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidSecurity",
    "NotAuthorized",
    "OptInRequired",
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
    } else if CONFIGURATION_CODES.contains(&code) || code.starts_with("KMS") {
        StoreFailure::Misconfigured {
            code: code.into(),
            message: message.into(),
        }
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
        assert!(is_transient_code("KMS.ThrottlingException"));
        assert!(!is_transient_code("ConditionalCheckFailedException"));
    }

    #[test]
    fn permission_table_kms_and_credential_faults_are_configuration_not_poison() {
        for code in [
            "AccessDeniedException",
            "ResourceNotFoundException",
            "AWS.SimpleQueueService.NonExistentQueue",
            "KMS.DisabledException",
            "KMS.AccessDeniedException",
            "KMSAccessDeniedException",
            "UnrecognizedClientException",
            "ExpiredTokenException",
        ] {
            let cause = service_failure(code, "refused");
            assert!(cause.is_configuration(), "{code}: {cause:?}");
            assert!(!cause.is_transient(), "{code}");
        }
        for code in ["ValidationException", "ConditionalCheckFailedException"] {
            assert!(!service_failure(code, "").is_configuration(), "{code}");
        }
    }
}
