//! A complaint as the borrower (or an agent) submits it, parsed once at the edge.
//!
//! The API body is read field by field from JSON so that every problem is reported at
//! once, against the field it concerns, in both languages. Inside the system a
//! [`Complaint`] is always valid: nothing re-checks it.

use crate::config::DomainConfig;
use crate::taxonomy::{Bilingual, CategoryId, Channel, Language, OTHER_CATEGORY};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest complaint text we accept, in characters.
pub const MAX_TEXT_CHARS: usize = 5000;
/// Shortest complaint text we accept, in characters (after trimming).
pub const MIN_TEXT_CHARS: usize = 10;
/// Longest desired-outcome text, in characters.
pub const MAX_OUTCOME_CHARS: usize = 1000;
/// Longest borrower name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// How far in the past an agent may date a complaint (a letter that sat in the post).
pub const MAX_BACKDATE_DAYS: i64 = 365;

/// One problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Dotted path of the field (`borrower.phone`, `text`).
    pub field: String,
    /// Stable machine-readable code (`required`, `too_long`, `invalid_phone` …).
    pub code: String,
    /// What is wrong, for a person, in English and Chinese.
    pub message: Bilingual,
}

impl FieldError {
    /// A problem with `field` (dotted path), by stable code, in both languages.
    pub fn new(field: &str, code: &str, en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            code: code.to_string(),
            message: Bilingual {
                en: en.into(),
                zh: zh.into(),
            },
        }
    }
}

/// Every problem found in one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{} invalid field(s): {}", .0.len(), .0.iter().map(|e| format!("{} ({})", e.field, e.code)).collect::<Vec<_>>().join(", "))]
pub struct ValidationErrors(pub Vec<FieldError>);

/// Which fields a parse insists on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    /// A real submission: borrower identifier, product, text and consent are required.
    Submission,
    /// Classification only (`redress classify`): only `text` is required; other fields
    /// are checked when present.
    TextOnly,
}

/// A borrower's contact and identifiers; at least one identifier is present.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Borrower {
    pub name: Option<String>,
    /// Normalised: `+86` and an 11-digit mainland mobile, or `+` and digits.
    pub phone: Option<String>,
    /// Lower-cased.
    pub email: Option<String>,
    /// 18-character PRC resident identity number, check digit verified, `X` upper-case.
    pub national_id: Option<String>,
    /// Upper-cased.
    pub customer_id: Option<String>,
    /// Upper-cased.
    pub loan_number: Option<String>,
}

impl Borrower {
    /// True if no identifier (phone, email, national id, customer id, loan number) is set.
    pub fn has_no_identifier(&self) -> bool {
        self.phone.is_none()
            && self.email.is_none()
            && self.national_id.is_none()
            && self.customer_id.is_none()
            && self.loan_number.is_none()
    }
}

/// A valid complaint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complaint {
    pub borrower: Borrower,
    /// A product id from the routing configuration.
    pub product: String,
    /// The category the borrower chose, if any (a known id; `other` counts as none).
    pub category: Option<CategoryId>,
    pub channel: Channel,
    /// Trimmed, between [`MIN_TEXT_CHARS`] and [`MAX_TEXT_CHARS`] characters.
    pub text: String,
    pub desired_outcome: Option<String>,
    pub consent_to_contact: bool,
    pub language: Language,
    /// When an agent dates a complaint that arrived earlier (letter, phone); else none.
    pub submitted_at: Option<DateTime<Utc>>,
}

/// The fields a submission may carry; anything else is refused.
const TOP_FIELDS: &[&str] = &[
    "borrower",
    "product",
    "category",
    "channel",
    "text",
    "desired_outcome",
    "consent_to_contact",
    "language",
    "submitted_at",
];
const BORROWER_FIELDS: &[&str] = &[
    "name",
    "phone",
    "email",
    "national_id",
    "customer_id",
    "loan_number",
];

impl Complaint {
    /// Parses a JSON value (the API body or an SQS message) into a complaint.
    ///
    /// `now` bounds `submitted_at` (not in the future, not more than a year back).
    pub fn parse(
        value: &Value,
        config: &DomainConfig,
        mode: ParseMode,
        now: DateTime<Utc>,
    ) -> Result<Complaint, ValidationErrors> {
        let mut errors = Vec::new();
        let Some(obj) = value.as_object() else {
            return Err(ValidationErrors(vec![FieldError::new(
                "",
                "not_an_object",
                "the body must be a JSON object",
                "请求内容必须是 JSON 对象",
            )]));
        };
        reject_unknown(obj, TOP_FIELDS, "", &mut errors);
        let required = mode == ParseMode::Submission;

        let borrower = parse_borrower(obj.get("borrower"), required, &mut errors);
        let product = match string_field(obj, "product", &mut errors) {
            Some(p) if config.routing.product(&p).is_some() => p,
            Some(p) => {
                errors.push(FieldError::new(
                    "product",
                    "unknown_product",
                    format!(
                        "unknown product '{}'; expected one of: {}",
                        truncate(&p, 40),
                        config.routing.product_ids().join(", ")
                    ),
                    format!("未知的产品“{}”", truncate(&p, 40)),
                ));
                String::new()
            }
            None if required => {
                errors.push(required_error("product", "产品"));
                String::new()
            }
            None => "other".to_string(),
        };
        let category = match string_field(obj, "category", &mut errors) {
            Some(c) if c == OTHER_CATEGORY => None,
            Some(c) if config.classifier.category(&c).is_some() => Some(CategoryId::from(c)),
            Some(c) => {
                let ids: Vec<&str> = config
                    .classifier
                    .categories()
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect();
                errors.push(FieldError::new(
                    "category",
                    "unknown_category",
                    format!(
                        "unknown category '{}'; expected one of: {}",
                        truncate(&c, 40),
                        ids.join(", ")
                    ),
                    format!("未知的投诉类别“{}”", truncate(&c, 40)),
                ));
                None
            }
            None => None,
        };
        let channel = match string_field(obj, "channel", &mut errors) {
            Some(c) => Channel::parse(&c).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "channel",
                    "unknown_channel",
                    "channel must be one of: web, app, phone, email, letter, agent",
                    "渠道必须是 web、app、phone、email、letter、agent 之一",
                ));
                Channel::Web
            }),
            None => Channel::Web,
        };
        let text = match string_field(obj, "text", &mut errors) {
            Some(t) => check_text(t.trim(), &mut errors),
            None => {
                errors.push(required_error("text", "投诉内容"));
                String::new()
            }
        };
        let desired_outcome = string_field(obj, "desired_outcome", &mut errors)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(o) = &desired_outcome {
            if o.chars().count() > MAX_OUTCOME_CHARS {
                errors.push(FieldError::new(
                    "desired_outcome",
                    "too_long",
                    format!("desired outcome must be at most {MAX_OUTCOME_CHARS} characters"),
                    format!("期望结果不能超过 {MAX_OUTCOME_CHARS} 个字符"),
                ));
            }
        }
        let consent_to_contact = match obj.get("consent_to_contact") {
            Some(Value::Bool(b)) => *b,
            None | Some(Value::Null) if !required => false,
            None | Some(Value::Null) => {
                errors.push(required_error("consent_to_contact", "联系授权"));
                false
            }
            Some(_) => {
                errors.push(type_error(
                    "consent_to_contact",
                    "true or false",
                    "true 或 false",
                ));
                false
            }
        };
        let language = match string_field(obj, "language", &mut errors) {
            Some(l) => Language::parse(&l).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "language",
                    "unknown_language",
                    "language must be 'zh' or 'en'",
                    "语言必须是 zh 或 en",
                ));
                Language::English
            }),
            None => Language::detect(&text),
        };
        let submitted_at = match string_field(obj, "submitted_at", &mut errors) {
            Some(s) => parse_submitted_at(&s, now, &mut errors),
            None => None,
        };

        if errors.is_empty() {
            Ok(Complaint {
                borrower,
                product,
                category,
                channel,
                text,
                desired_outcome,
                consent_to_contact,
                language,
                submitted_at,
            })
        } else {
            Err(ValidationErrors(errors))
        }
    }

    /// The JSON form of this complaint, in the shape [`Complaint::parse`] reads.
    pub fn to_form(&self) -> Value {
        let mut borrower = Map::new();
        let b = &self.borrower;
        for (k, v) in [
            ("name", &b.name),
            ("phone", &b.phone),
            ("email", &b.email),
            ("national_id", &b.national_id),
            ("customer_id", &b.customer_id),
            ("loan_number", &b.loan_number),
        ] {
            if let Some(v) = v {
                borrower.insert(k.to_string(), Value::String(v.clone()));
            }
        }
        let mut form = Map::new();
        form.insert("borrower".into(), Value::Object(borrower));
        form.insert("product".into(), Value::String(self.product.clone()));
        if let Some(c) = &self.category {
            form.insert("category".into(), Value::String(c.to_string()));
        }
        form.insert(
            "channel".into(),
            Value::String(self.channel.as_str().into()),
        );
        form.insert("text".into(), Value::String(self.text.clone()));
        if let Some(o) = &self.desired_outcome {
            form.insert("desired_outcome".into(), Value::String(o.clone()));
        }
        form.insert(
            "consent_to_contact".into(),
            Value::Bool(self.consent_to_contact),
        );
        form.insert(
            "language".into(),
            Value::String(self.language.as_str().into()),
        );
        if let Some(t) = &self.submitted_at {
            form.insert("submitted_at".into(), Value::String(t.to_rfc3339()));
        }
        Value::Object(form)
    }
}

fn required_error(field: &str, zh_name: &str) -> FieldError {
    FieldError::new(
        field,
        "required",
        format!("{field} is required"),
        format!("请填写{zh_name}"),
    )
}

fn type_error(field: &str, expected_en: &str, expected_zh: &str) -> FieldError {
    FieldError::new(
        field,
        "wrong_type",
        format!("{field} must be {expected_en}"),
        format!("{field} 必须是{expected_zh}"),
    )
}

fn reject_unknown(
    obj: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
    errors: &mut Vec<FieldError>,
) {
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            let field = format!("{prefix}{}", truncate(key, 40));
            errors.push(FieldError::new(
                &field,
                "unknown_field",
                format!(
                    "unknown field '{field}'; expected one of: {}",
                    known.join(", ")
                ),
                format!("不认识的字段“{field}”"),
            ));
        }
    }
}

/// A string field: absent, null and blank all read as `None`; another type is an error.
fn string_field(
    obj: &Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    string_at(obj.get(field), field, errors)
}

fn string_at(value: Option<&Value>, path: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(type_error(path, "a string", "字符串"));
            None
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn check_text(text: &str, errors: &mut Vec<FieldError>) -> String {
    let chars = text.chars().count();
    if chars < MIN_TEXT_CHARS {
        errors.push(FieldError::new(
            "text",
            "too_short",
            format!("please describe the problem in at least {MIN_TEXT_CHARS} characters"),
            format!("请至少用 {MIN_TEXT_CHARS} 个字描述问题"),
        ));
    } else if chars > MAX_TEXT_CHARS {
        errors.push(FieldError::new(
            "text",
            "too_long",
            format!("text must be at most {MAX_TEXT_CHARS} characters (it has {chars})"),
            format!("投诉内容不能超过 {MAX_TEXT_CHARS} 个字（当前 {chars} 个）"),
        ));
    }
    text.to_string()
}

fn parse_submitted_at(
    s: &str,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => {
            let t = t.with_timezone(&Utc);
            if t > now + Duration::minutes(5) {
                errors.push(FieldError::new(
                    "submitted_at",
                    "in_future",
                    "submitted_at cannot be in the future",
                    "提交时间不能晚于现在",
                ));
                None
            } else if t < now - Duration::days(MAX_BACKDATE_DAYS) {
                errors.push(FieldError::new(
                    "submitted_at",
                    "too_old",
                    format!("submitted_at cannot be more than {MAX_BACKDATE_DAYS} days ago"),
                    format!("提交时间不能早于 {MAX_BACKDATE_DAYS} 天前"),
                ));
                None
            } else {
                Some(t)
            }
        }
        Err(_) => {
            errors.push(FieldError::new(
                "submitted_at",
                "invalid_time",
                "submitted_at must be an RFC 3339 time such as 2026-11-23T09:30:00+08:00",
                "提交时间格式应为 RFC 3339，例如 2026-11-23T09:30:00+08:00",
            ));
            None
        }
    }
}

fn parse_borrower(value: Option<&Value>, required: bool, errors: &mut Vec<FieldError>) -> Borrower {
    let obj = match value {
        Some(Value::Object(o)) => o,
        None | Some(Value::Null) => {
            if required {
                errors.push(FieldError::new(
                    "borrower",
                    "required",
                    "borrower is required, with at least one of: phone, email, national_id, customer_id, loan_number",
                    "请填写借款人信息，至少包括手机号、邮箱、身份证号、客户号或借款合同号之一",
                ));
            }
            return Borrower::default();
        }
        Some(_) => {
            errors.push(type_error("borrower", "an object", "对象"));
            return Borrower::default();
        }
    };
    reject_unknown(obj, BORROWER_FIELDS, "borrower.", errors);
    let get = |f: &str, errors: &mut Vec<FieldError>| {
        string_at(obj.get(f), &format!("borrower.{f}"), errors)
    };

    let name = get("name", errors).map(|n| n.trim().to_string());
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
    {
        errors.push(FieldError::new(
            "borrower.name",
            "too_long",
            format!("name must be at most {MAX_NAME_CHARS} characters"),
            format!("姓名不能超过 {MAX_NAME_CHARS} 个字符"),
        ));
    }
    let phone = get("phone", errors).and_then(|p| {
        normalise_phone(&p).or_else(|| {
            errors.push(FieldError::new(
                "borrower.phone",
                "invalid_phone",
                "phone must be a mainland mobile number (11 digits starting with 1, e.g. 13812345678) or an international number starting with + (8 to 15 digits)",
                "手机号格式不正确：请填写以 1 开头的 11 位手机号（如 13812345678），或以 + 开头的国际号码",
            ));
            None
        })
    });
    let email = get("email", errors).and_then(|e| {
        normalise_email(&e).or_else(|| {
            errors.push(FieldError::new(
                "borrower.email",
                "invalid_email",
                "email must look like name@example.com",
                "邮箱格式不正确，应类似 name@example.com",
            ));
            None
        })
    });
    let national_id = get("national_id", errors).and_then(|id| {
        normalise_national_id(&id).or_else(|| {
            errors.push(FieldError::new(
                "borrower.national_id",
                "invalid_national_id",
                "national_id must be an 18-character resident identity number with a valid check digit",
                "身份证号码无效：应为 18 位且校验位正确",
            ));
            None
        })
    });
    let account_id = |field: &str, zh: &str, errors: &mut Vec<FieldError>| {
        get(field, errors).and_then(|v| {
            normalise_account_id(&v).or_else(|| {
                errors.push(FieldError::new(
                    &format!("borrower.{field}"),
                    "invalid_identifier",
                    format!("{field} must be 3 to 40 letters, digits or dashes"),
                    format!("{zh}应为 3 到 40 位字母、数字或短横线"),
                ));
                None
            })
        })
    };
    let customer_id = account_id("customer_id", "客户号", errors);
    let loan_number = account_id("loan_number", "借款合同号", errors);

    let borrower = Borrower {
        name,
        phone,
        email,
        national_id,
        customer_id,
        loan_number,
    };
    // Only demand an identifier when every given one was valid: otherwise the
    // field's own error already says what to fix.
    let had_identifier_input = [
        "phone",
        "email",
        "national_id",
        "customer_id",
        "loan_number",
    ]
    .iter()
    .any(|f| matches!(obj.get(*f), Some(Value::String(s)) if !s.trim().is_empty()));
    if required && borrower.has_no_identifier() && !had_identifier_input {
        errors.push(FieldError::new(
            "borrower",
            "identifier_required",
            "give at least one of: phone, email, national_id, customer_id, loan_number",
            "请至少填写手机号、邮箱、身份证号、客户号或借款合同号之一",
        ));
    }
    borrower
}

/// `+86` + 11 digits for a mainland mobile (with or without the country code),
/// `+` + 8–15 digits for an international number; spaces, dashes and brackets ignored.
pub fn normalise_phone(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let plus = trimmed.starts_with('+');
    let mut digits = String::with_capacity(trimmed.len());
    for c in trimmed.chars().skip(usize::from(plus)) {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return None,
        }
    }
    let mainland =
        |d: &str| d.len() == 11 && d.starts_with('1') && matches!(d.as_bytes()[1], b'3'..=b'9');
    if !plus && mainland(&digits) {
        return Some(format!("+86{digits}"));
    }
    if plus {
        if let Some(rest) = digits.strip_prefix("86") {
            return mainland(rest).then(|| format!("+86{rest}"));
        }
        if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
            return Some(format!("+{digits}"));
        }
    }
    None
}

/// Lower-cased address with one `@`, a dotted domain, no spaces, at most 254 characters.
pub fn normalise_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = e.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !e.chars().any(char::is_whitespace);
    ok.then_some(e)
}

/// An 18-character PRC resident identity number with its ISO 7064 MOD 11-2 check digit.
pub fn normalise_national_id(raw: &str) -> Option<String> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let id = raw.trim().to_ascii_uppercase();
    let bytes = id.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    (bytes[17] == CHECK[(sum % 11) as usize]).then_some(id)
}

/// Customer and loan identifiers: 3–40 ASCII letters, digits or dashes, upper-cased.
pub fn normalise_account_id(raw: &str) -> Option<String> {
    let id = raw.trim().to_ascii_uppercase();
    let ok =
        (3..=40).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> DomainConfig {
        DomainConfig::bundled().unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    fn valid_form() -> Value {
        json!({
            "borrower": {"name": "张伟", "phone": "138 1234 5678", "national_id": "11010519491231002X"},
            "product": "personal_loan",
            "category": "fees_interest",
            "channel": "web",
            "text": "借款时被收取了合同里没有写明的服务费，实际年化利率远超36%。",
            "desired_outcome": "退还服务费",
            "consent_to_contact": true,
            "language": "zh"
        })
    }

    fn codes(err: &ValidationErrors) -> Vec<(String, String)> {
        err.0
            .iter()
            .map(|e| (e.field.clone(), e.code.clone()))
            .collect()
    }

    #[test]
    fn a_valid_form_parses_and_normalises_identifiers() {
        let c = Complaint::parse(&valid_form(), &config(), ParseMode::Submission, now()).unwrap();
        assert_eq!(c.borrower.phone.as_deref(), Some("+8613812345678"));
        assert_eq!(
            c.borrower.national_id.as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(c.category, Some(CategoryId::from("fees_interest")));
        assert_eq!(c.language, Language::Chinese);
        assert!(c.consent_to_contact);
    }

    #[test]
    fn form_round_trips_through_to_form() {
        let c = Complaint::parse(&valid_form(), &config(), ParseMode::Submission, now()).unwrap();
        let again =
            Complaint::parse(&c.to_form(), &config(), ParseMode::Submission, now()).unwrap();
        assert_eq!(c, again);
    }

    #[test]
    fn every_problem_is_reported_against_its_field() {
        let form = json!({
            "borrower": {"phone": "12345", "email": "not-an-email", "nickname": "x"},
            "product": "spaceship",
            "category": "nonsense",
            "channel": "pigeon",
            "text": "short",
            "consent_to_contact": "yes",
            "colour": "blue"
        });
        let err = Complaint::parse(&form, &config(), ParseMode::Submission, now()).unwrap_err();
        let codes = codes(&err);
        for expected in [
            ("colour", "unknown_field"),
            ("borrower.nickname", "unknown_field"),
            ("borrower.phone", "invalid_phone"),
            ("borrower.email", "invalid_email"),
            ("product", "unknown_product"),
            ("category", "unknown_category"),
            ("channel", "unknown_channel"),
            ("text", "too_short"),
            ("consent_to_contact", "wrong_type"),
        ] {
            assert!(
                codes.contains(&(expected.0.to_string(), expected.1.to_string())),
                "missing {expected:?} in {codes:?}"
            );
        }
        assert!(err
            .0
            .iter()
            .all(|e| !e.message.en.is_empty() && !e.message.zh.is_empty()));
    }

    #[test]
    fn missing_required_fields_are_named() {
        let err =
            Complaint::parse(&json!({}), &config(), ParseMode::Submission, now()).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        for f in ["borrower", "product", "text", "consent_to_contact"] {
            assert!(fields.contains(&f), "{f} not reported in {fields:?}");
        }
    }

    #[test]
    fn a_borrower_without_any_identifier_is_refused() {
        let mut form = valid_form();
        form["borrower"] = json!({"name": "张伟"});
        let err = Complaint::parse(&form, &config(), ParseMode::Submission, now()).unwrap_err();
        assert_eq!(
            codes(&err),
            vec![("borrower".into(), "identifier_required".into())]
        );
    }

    #[test]
    fn text_only_mode_needs_only_text() {
        let c = Complaint::parse(
            &json!({"text": "They charged me a hidden fee on my loan"}),
            &config(),
            ParseMode::TextOnly,
            now(),
        )
        .unwrap();
        assert_eq!(c.language, Language::English);
        assert_eq!(c.channel, Channel::Web);
        let err = Complaint::parse(
            &json!({"category": "fees_interest"}),
            &config(),
            ParseMode::TextOnly,
            now(),
        )
        .unwrap_err();
        assert_eq!(codes(&err), vec![("text".into(), "required".into())]);
    }

    #[test]
    fn overlong_text_is_refused_with_its_length() {
        let mut form = valid_form();
        form["text"] = json!("很".repeat(MAX_TEXT_CHARS + 1));
        let err = Complaint::parse(&form, &config(), ParseMode::Submission, now()).unwrap_err();
        assert_eq!(err.0[0].code, "too_long");
        assert!(err.0[0].message.en.contains("5001"));
    }

    #[test]
    fn submitted_at_must_be_recent_and_not_future() {
        for (t, code) in [
            ("2026-11-24T10:00:00Z", "in_future"),
            ("2024-01-01T00:00:00Z", "too_old"),
            ("yesterday", "invalid_time"),
        ] {
            let mut form = valid_form();
            form["submitted_at"] = json!(t);
            let err = Complaint::parse(&form, &config(), ParseMode::Submission, now()).unwrap_err();
            assert_eq!(err.0[0].code, code, "{t}");
        }
    }

    #[test]
    fn phones_are_normalised_or_refused() {
        assert_eq!(
            normalise_phone("13812345678").as_deref(),
            Some("+8613812345678")
        );
        assert_eq!(
            normalise_phone("+86 138-1234-5678").as_deref(),
            Some("+8613812345678")
        );
        assert_eq!(
            normalise_phone("+44 7700 900123").as_deref(),
            Some("+447700900123")
        );
        assert_eq!(normalise_phone("12812345678"), None);
        assert_eq!(normalise_phone("+86 12345"), None);
        assert_eq!(normalise_phone("138123456789"), None);
        assert_eq!(normalise_phone("call me"), None);
    }

    #[test]
    fn national_id_check_digit_is_verified() {
        assert!(normalise_national_id("11010519491231002x").is_some());
        assert!(normalise_national_id("110105194912310021").is_none());
        assert!(normalise_national_id("1101051949123100").is_none());
    }

    #[test]
    fn a_non_object_body_is_refused() {
        let err =
            Complaint::parse(&json!([1, 2]), &config(), ParseMode::Submission, now()).unwrap_err();
        assert_eq!(err.0[0].code, "not_an_object");
    }
}
