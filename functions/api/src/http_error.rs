//! The api's errors and the one place that turns them into HTTP answers.

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use redress_domain::complaint::FieldError;
use redress_domain::ports::StoreError;
use serde_json::{json, Value};

/// Everything the api can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("body too large")]
    PayloadTooLarge,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("bad request: {code}")]
    BadRequest {
        code: &'static str,
        en: String,
        zh: String,
    },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("idempotency key reused with a different complaint")]
    IdempotencyConflict,
    #[error("complaint not found")]
    ComplaintNotFound,
    #[error("no valid token")]
    Unauthorized,
    #[error("survey already answered")]
    AlreadyAnswered(redress_domain::Bilingual),
    #[error("not your team's ticket")]
    Forbidden,
    #[error("ticket not found")]
    TicketNotFound,
    #[error("version conflict")]
    VersionConflict(Box<Value>),
    #[error("action refused: {code}")]
    Refused {
        code: &'static str,
        message: redress_domain::Bilingual,
        current: Box<Value>,
    },
    /// A dependency failed in a way a retry may fix.
    #[error("dependency unavailable")]
    Unavailable(#[source] StoreError),
    /// Anything else that is our fault; the cause goes to the log only.
    #[error("internal error")]
    Internal(#[source] redress_domain::ports::BoxError),
}

impl ApiError {
    pub fn not_found() -> Self {
        ApiError::NotFound
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        ApiError::MethodNotAllowed { allow }
    }

    pub fn bad_request(code: &'static str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// Status, code and message, for a page that shows the error in its own markup.
    pub fn describe(&self) -> (StatusCode, &str, redress_domain::Bilingual) {
        let (status, code, en, zh, _) = self.parts();
        (status, code, redress_domain::Bilingual { en, zh })
    }

    /// The HTTP answer. Internal details stay in the log, never in the body.
    pub fn into_response(self) -> Response<Body> {
        let (status, code, en, zh, extra) = self.parts();
        let mut body = json!({"error": code, "message": {"en": en, "zh": zh}});
        if let Some((k, v)) = extra {
            body[k] = v;
        }
        let mut builder = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8");
        if let ApiError::MethodNotAllowed { allow } = &self {
            builder = builder.header(header::ALLOW, *allow);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            builder = builder.header(header::RETRY_AFTER, "5");
        }
        builder
            .body(Body::from(body.to_string()))
            .expect("static headers are valid")
    }

    /// Status, code, message and any extra member of the answer; logs what must stay in
    /// the log.
    #[allow(clippy::type_complexity)]
    fn parts(
        &self,
    ) -> (
        StatusCode,
        &str,
        String,
        String,
        Option<(&'static str, Value)>,
    ) {
        match self {
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such resource".into(),
                "资源不存在".into(),
                None,
            ),
            ApiError::MethodNotAllowed { allow } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this resource accepts {allow} only"),
                format!("该资源只接受 {allow} 请求"),
                None,
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the complaint as JSON with Content-Type: application/json".into(),
                "请以 JSON 格式提交，并设置 Content-Type: application/json".into(),
                None,
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body must be at most {} bytes", crate::MAX_BODY_BYTES),
                format!("请求内容不能超过 {} 字节", crate::MAX_BODY_BYTES),
                None,
            ),
            ApiError::MalformedJson(detail) => (
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {detail}"),
                format!("请求内容不是有效的 JSON：{detail}"),
                None,
            ),
            ApiError::BadRequest { code, en, zh } => {
                (StatusCode::BAD_REQUEST, code, en.clone(), zh.clone(), None)
            }
            ApiError::Validation(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "some fields need correcting".into(),
                "部分内容需要修改".into(),
                Some(("fields", json!(fields))),
            ),
            ApiError::IdempotencyConflict => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different complaint".into(),
                "该幂等键已用于另一条投诉".into(),
                None,
            ),
            ApiError::ComplaintNotFound => (
                StatusCode::NOT_FOUND,
                "complaint_not_found",
                "no complaint matches this reference and secret".into(),
                "找不到与该编号和查询码匹配的投诉".into(),
                None,
            ),
            ApiError::AlreadyAnswered(message) => (
                StatusCode::CONFLICT,
                "already_answered",
                message.en.clone(),
                message.zh.clone(),
                None,
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in first: send a valid bearer token".into(),
                "请先登录：需要有效的访问令牌".into(),
                None,
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "this ticket or queue belongs to another team".into(),
                "该工单或队列属于其他团队".into(),
                None,
            ),
            ApiError::TicketNotFound => (
                StatusCode::NOT_FOUND,
                "ticket_not_found",
                "no ticket has this reference".into(),
                "没有该编号的工单".into(),
                None,
            ),
            ApiError::VersionConflict(current) => (
                StatusCode::CONFLICT,
                "version_conflict",
                "the ticket changed since you loaded it; here it is as it is now".into(),
                "工单在您加载后已被修改，以下是当前状态".into(),
                Some(("current", (**current).clone())),
            ),
            ApiError::Refused {
                code,
                message,
                current,
            } => (
                StatusCode::CONFLICT,
                code,
                message.en.clone(),
                message.zh.clone(),
                Some(("current", (**current).clone())),
            ),
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %cause_chain(cause), "dependency unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "we could not take this request just now; please try again (with the same Idempotency-Key)".into(),
                    "暂时无法处理，请稍后重试（使用相同的幂等键）".into(),
                    None,
                )
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause_chain(cause.as_ref()), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "something went wrong on our side".into(),
                    "系统内部错误".into(),
                    None,
                )
            }
        }
    }
}

/// An error and its causes, outermost first, as one log field.
fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            ApiError::Unavailable(e)
        } else {
            ApiError::Internal(Box::new(e))
        }
    }
}

/// A JSON success answer.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body.to_string()))
        .expect("static headers are valid")
}
