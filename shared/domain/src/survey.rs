//! Satisfaction surveys: the signed token in the invitation, the answer a borrower sends,
//! and what an answer does to the ticket.
//!
//! The token is `<reference>.<expiry, unix seconds>.<nonce>.<signature>`, where the
//! signature is the first 128 bits (32 hex characters) of an HMAC-SHA256, under a server
//! key, of `survey-token:` followed by the three fields as they appear in the token. It
//! can't be forged or moved to another ticket without the key, and it expires. It is
//! *not* single-use by itself: single use is enforced by storage, which records at most
//! one answer per ticket (a conditional write), so a replayed token finds the answer
//! already there. Everything here is pure.

use crate::complaint::{FieldError, ValidationErrors};
use crate::keyring::KeyRing;
use crate::lifecycle::{LifecycleError, Refusal};
use crate::taxonomy::Bilingual;
use crate::ticket::{Actor, AuditAction, AuditEvent, Ticket, TicketStatus};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::fmt;

/// Longest comment, in characters, after trimming.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// Longest token we read (a real one is well under 100 characters).
pub const MAX_TOKEN_CHARS: usize = 256;
/// Signature length in the token, in hex characters (128 bits).
const SIGNATURE_HEX: usize = 32;
/// Domain separation: this key signs nothing else with this prefix.
const TOKEN_DOMAIN: &[u8] = b"survey-token:";

/// The bilingual message of the refusal [`apply_answer`] returns for a closed ticket
/// ([`Refusal::SurveyAlreadyAnswered`]).
pub fn already_answered_message() -> Bilingual {
    Refusal::SurveyAlreadyAnswered.message()
}

/// Issues and checks survey tokens: signed with the ring's current key, accepted under
/// any key the ring accepts at the time of the check (see [`KeyRing`]), so links sent
/// before a key rotation keep working for the grace period.
#[derive(Clone)]
pub struct SurveyTokens {
    keys: KeyRing,
}

impl fmt::Debug for SurveyTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SurveyTokens(..)")
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyClaim {
    /// The ticket the survey is about.
    pub reference: String,
    /// When the token stops being accepted (whole seconds).
    pub expires_at: DateTime<Utc>,
    /// The nonce given at issue.
    pub nonce: String,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TokenError {
    /// Not in the token format at all.
    #[error("malformed survey token")]
    Malformed,
    /// Well formed, but not signed by us (forged, altered, or another key).
    #[error("survey token signature does not match")]
    BadSignature,
    /// Genuine, but past its expiry.
    #[error("survey token has expired")]
    Expired,
}

impl TokenError {
    /// Stable machine code (`malformed_token`, `bad_signature`, `expired_token`).
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed_token",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired_token",
        }
    }

    /// What to tell the borrower. A malformed and a forged token read the same.
    pub fn message(self) -> Bilingual {
        let (en, zh) = match self {
            TokenError::Malformed | TokenError::BadSignature => (
                "this survey link is not valid: please use the link from your invitation",
                "该调查链接无效，请使用邀请中的链接",
            ),
            TokenError::Expired => ("this survey link has expired", "该调查链接已过期"),
        };
        Bilingual {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// The error as a field error on `token`, for a 422 answer.
    pub fn field_error(self) -> FieldError {
        FieldError {
            field: "token".into(),
            code: self.code().into(),
            message: self.message(),
        }
    }
}

/// True for the characters a token field may hold: URL-safe, and never the separator.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl SurveyTokens {
    /// Tokens keyed by one key (version 1, no rotation).
    pub fn new(key: &[u8]) -> Self {
        Self::from_ring(KeyRing::single(String::from_utf8_lossy(key).into_owned()))
    }

    /// Tokens keyed by a versioned key ring (from the deployment's secret store).
    pub fn from_ring(keys: KeyRing) -> Self {
        Self { keys }
    }

    fn mac(key: &[u8], signed: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(TOKEN_DOMAIN);
        mac.update(signed.as_bytes());
        mac
    }

    /// A token for the survey of ticket `reference`, valid until `expires_at` (truncated
    /// to the second). `nonce` is random per invitation (e.g. a UUID in simple form) and
    /// must hold only `A-Z a-z 0-9 - _`, as must the reference, or the token will not
    /// verify.
    pub fn issue(&self, reference: &str, expires_at: DateTime<Utc>, nonce: &str) -> String {
        debug_assert!(
            !reference.is_empty() && reference.chars().all(is_token_char),
            "reference must be URL-safe"
        );
        debug_assert!(
            !nonce.is_empty() && nonce.chars().all(is_token_char),
            "nonce must be URL-safe"
        );
        let signed = format!("{reference}.{}.{nonce}", expires_at.timestamp());
        let digest = Self::mac(self.keys.signing_key(), &signed)
            .finalize()
            .into_bytes();
        let signature = hex::encode(&digest[..SIGNATURE_HEX / 2]);
        format!("{signed}.{signature}")
    }

    /// Checks a token: its form, then its signature (in constant time), then its expiry,
    /// so a forged token never learns whether it would have expired. It does not check
    /// that the token is unused: storage holds one answer per ticket.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<SurveyClaim, TokenError> {
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Malformed);
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [reference, expiry, nonce, signature] = parts[..] else {
            return Err(TokenError::Malformed);
        };
        let field_ok = |s: &str| !s.is_empty() && s.chars().all(is_token_char);
        if !field_ok(reference)
            || !field_ok(nonce)
            || expiry.is_empty()
            || expiry.len() > 12
            || !expiry.bytes().all(|b| b.is_ascii_digit())
            || signature.len() != SIGNATURE_HEX
        {
            return Err(TokenError::Malformed);
        }
        let tag = hex::decode(signature).map_err(|_| TokenError::Malformed)?;
        let seconds: i64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        let expires_at = DateTime::from_timestamp(seconds, 0).ok_or(TokenError::Malformed)?;
        let signed = &token[..token.len() - SIGNATURE_HEX - 1];
        // Every accepted key is tried (no early exit), so timing does not tell which.
        let signed_by_us = self.keys.accepted_at(now).fold(false, |ok, key| {
            ok | Self::mac(key, signed).verify_truncated_left(&tag).is_ok()
        });
        if !signed_by_us {
            return Err(TokenError::BadSignature);
        }
        if now > expires_at {
            return Err(TokenError::Expired);
        }
        Ok(SurveyClaim {
            reference: reference.to_string(),
            expires_at,
            nonce: nonce.to_string(),
        })
    }
}

/// "Was your problem solved?"
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Solved {
    Yes,
    Partly,
    No,
}

impl Solved {
    /// The identifier used in the API and storage (`yes`, `partly`, `no`).
    pub fn as_str(self) -> &'static str {
        match self {
            Solved::Yes => "yes",
            Solved::Partly => "partly",
            Solved::No => "no",
        }
    }

    /// Parses the identifier written by [`Solved::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Solved::Yes, Solved::Partly, Solved::No]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A valid survey answer. Its `Debug` hides the comment (personal data).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyAnswer {
    /// Customer satisfaction, 1 (very dissatisfied) to 5 (very satisfied).
    pub csat: u8,
    /// Likelihood to recommend, 0 to 10.
    pub nps: u8,
    pub solved: Solved,
    /// Trimmed, 1..=[`MAX_COMMENT_CHARS`] characters; an empty comment is `None`.
    pub comment: Option<String>,
}

impl fmt::Debug for SurveyAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SurveyAnswer")
            .field("csat", &self.csat)
            .field("nps", &self.nps)
            .field("solved", &self.solved)
            .field(
                "comment",
                &self
                    .comment
                    .as_ref()
                    .map(|c| format!("<{} chars>", c.chars().count())),
            )
            .finish()
    }
}

/// A survey form as submitted: the token and the answer. Its `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct SurveySubmission {
    pub token: String,
    pub answer: SurveyAnswer,
}

impl fmt::Debug for SurveySubmission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SurveySubmission")
            .field("token", &"..")
            .field("answer", &self.answer)
            .finish()
    }
}

const FIELDS: &[&str] = &["token", "csat", "nps", "solved", "comment"];

/// An integer field in `lo..=hi`: required, a JSON integer, in range.
fn score(
    obj: &Map<String, Value>,
    field: &str,
    zh_name: &str,
    (lo, hi): (u8, u8),
    errors: &mut Vec<FieldError>,
) -> Option<u8> {
    match obj.get(field) {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                field,
                "required",
                format!("{field} is required"),
                format!("请填写{zh_name}"),
            ));
            None
        }
        Some(Value::Number(n)) => match n.as_u64().and_then(|v| u8::try_from(v).ok()) {
            Some(v) if (lo..=hi).contains(&v) => Some(v),
            _ => {
                errors.push(FieldError::new(
                    field,
                    "out_of_range",
                    format!("{field} must be a whole number from {lo} to {hi}"),
                    format!("{zh_name}必须是 {lo} 到 {hi} 之间的整数"),
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                field,
                "wrong_type",
                format!("{field} must be a whole number from {lo} to {hi}"),
                format!("{zh_name}必须是 {lo} 到 {hi} 之间的整数"),
            ));
            None
        }
    }
}

impl SurveySubmission {
    /// Parses a JSON value (the API body or an SQS message) into a submission, reporting
    /// every problem at once. The token's form and signature are checked separately, by
    /// [`SurveyTokens::verify`].
    pub fn parse(value: &Value) -> Result<SurveySubmission, ValidationErrors> {
        let Some(obj) = value.as_object() else {
            return Err(ValidationErrors(vec![FieldError::new(
                "",
                "not_an_object",
                "the body must be a JSON object",
                "请求内容必须是 JSON 对象",
            )]));
        };
        let mut errors = Vec::new();
        for key in obj.keys() {
            if !FIELDS.contains(&key.as_str()) {
                let field: String = key.chars().take(40).collect();
                errors.push(FieldError::new(
                    &field,
                    "unknown_field",
                    format!(
                        "unknown field '{field}'; expected one of: {}",
                        FIELDS.join(", ")
                    ),
                    format!("不认识的字段“{field}”"),
                ));
            }
        }
        let token = match obj.get("token") {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                if s.trim().chars().count() > MAX_TOKEN_CHARS {
                    errors.push(TokenError::Malformed.field_error());
                    None
                } else {
                    Some(s.trim().to_string())
                }
            }
            None | Some(Value::Null) | Some(Value::String(_)) => {
                errors.push(FieldError::new(
                    "token",
                    "required",
                    "token is required: use the link from your invitation",
                    "缺少调查凭证，请使用邀请中的链接",
                ));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "token",
                    "wrong_type",
                    "token must be a string",
                    "调查凭证必须是字符串",
                ));
                None
            }
        };
        let csat = score(obj, "csat", "满意度评分", (1, 5), &mut errors);
        let nps = score(obj, "nps", "推荐意愿评分", (0, 10), &mut errors);
        let solved = match obj.get("solved") {
            None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    "solved",
                    "required",
                    "solved is required: yes, partly or no",
                    "请选择问题是否已解决：是、部分解决或否",
                ));
                None
            }
            Some(Value::String(s)) => match Solved::parse(s.trim()) {
                Some(v) => Some(v),
                None => {
                    errors.push(FieldError::new(
                        "solved",
                        "invalid_value",
                        "solved must be one of: yes, partly, no",
                        "“问题是否已解决”只能是 yes、partly 或 no",
                    ));
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::new(
                    "solved",
                    "wrong_type",
                    "solved must be a string: yes, partly or no",
                    "“问题是否已解决”必须是字符串：yes、partly 或 no",
                ));
                None
            }
        };
        let comment = match obj.get("comment") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let trimmed = s.trim();
                let chars = trimmed.chars().count();
                if chars > MAX_COMMENT_CHARS {
                    errors.push(FieldError::new(
                        "comment",
                        "too_long",
                        format!(
                            "comment must be at most {MAX_COMMENT_CHARS} characters (it has {chars})"
                        ),
                        format!("意见不能超过 {MAX_COMMENT_CHARS} 个字（当前 {chars} 个）"),
                    ));
                    None
                } else if trimmed.is_empty() {
                    None
                } else {
                    Some(trimmed.to_string())
                }
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "comment",
                    "wrong_type",
                    "comment must be a string",
                    "意见必须是字符串",
                ));
                None
            }
        };
        match (token, csat, nps, solved) {
            (Some(token), Some(csat), Some(nps), Some(solved)) if errors.is_empty() => {
                Ok(SurveySubmission {
                    token,
                    answer: SurveyAnswer {
                        csat,
                        nps,
                        solved,
                        comment,
                    },
                })
            }
            _ => Err(ValidationErrors(errors)),
        }
    }

    /// The JSON form of this submission, in the shape [`SurveySubmission::parse`] reads
    /// (what the api puts on the surveys queue).
    pub fn to_form(&self) -> Value {
        let a = &self.answer;
        let mut form = Map::new();
        form.insert("token".into(), Value::String(self.token.clone()));
        form.insert("csat".into(), Value::from(a.csat));
        form.insert("nps".into(), Value::from(a.nps));
        form.insert("solved".into(), Value::String(a.solved.as_str().into()));
        if let Some(c) = &a.comment {
            form.insert("comment".into(), Value::String(c.clone()));
        }
        Value::Object(form)
    }
}

/// Records a survey answer on its ticket: the changed ticket (version + 1) and the audit
/// event (`seq` = the new version, actor `borrower`). On error nothing changes.
///
/// - Only a `resolved` ticket takes an answer. A closed one is refused with
///   [`ALREADY_ANSWERED`] (answered before, or closed when its window ended); any other
///   status is an [`LifecycleError::InvalidTransition`] (action `answer_survey`).
/// - "Not solved" within `window` of the resolution reopens the ticket, as a team's
///   Reopen does (reopened_count + 1, resolution cleared: it stays in the `resolved`
///   event); event `survey_not_solved_reopened`. Any other answer, or "not solved" after
///   the window, closes it (`closed_at = now`); event `survey_answered`.
/// - The event detail holds the scores only: the comment is personal data, kept with the
///   survey record, never in the audit trail.
pub fn apply_answer(
    ticket: &Ticket,
    answer: &SurveyAnswer,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<(Ticket, AuditEvent), LifecycleError> {
    let from = ticket.status;
    match from {
        TicketStatus::Resolved => {}
        TicketStatus::Closed => return Err(Refusal::SurveyAlreadyAnswered.into()),
        _ => {
            return Err(LifecycleError::InvalidTransition {
                from,
                action: "answer_survey",
            })
        }
    }
    let version = ticket
        .version
        .checked_add(1)
        .ok_or(Refusal::TooManyChanges)?;
    let within_window = ticket
        .resolved_at
        .is_some_and(|resolved| now - resolved <= window);
    let mut t = ticket.clone();
    let action = if answer.solved == Solved::No && within_window {
        t.status = TicketStatus::Reopened;
        t.reopened_count = t.reopened_count.saturating_add(1);
        t.resolution = None;
        AuditAction::SurveyNotSolvedReopened
    } else {
        t.status = TicketStatus::Closed;
        t.closed_at = Some(now);
        AuditAction::SurveyAnswered
    };
    t.version = version;
    let event = AuditEvent {
        reference: t.reference.clone(),
        seq: version,
        at: now,
        actor: Actor {
            id: "borrower".into(),
            role: "borrower".into(),
        },
        action,
        from_status: Some(from),
        to_status: t.status,
        detail: format!(
            "CSAT {}, NPS {}, solved: {}",
            answer.csat,
            answer.nps,
            answer.solved.as_str()
        ),
        correction: None,
    };
    Ok((t, event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::fixtures::{shanghai, ticket};
    use crate::taxonomy::Priority;
    use crate::ticket::{Resolution, ResolutionCode};
    use serde_json::json;

    const REF: &str = "RD-260302-7KQ2M9XA";

    fn tokens() -> SurveyTokens {
        SurveyTokens::new(b"survey-key-one")
    }

    fn now() -> DateTime<Utc> {
        shanghai("2026-03-20 10:00:00")
    }

    fn issued() -> String {
        tokens().issue(REF, now() + Duration::days(30), "n0nce_1-a")
    }

    #[test]
    fn an_issued_token_verifies_and_names_its_ticket() {
        let token = issued();
        assert!(token.starts_with("RD-260302-7KQ2M9XA."), "{token}");
        assert!(token.chars().all(|c| is_token_char(c) || c == '.'));
        let claim = tokens().verify(&token, now()).unwrap();
        assert_eq!(claim.reference, REF);
        assert_eq!(claim.nonce, "n0nce_1-a");
        assert_eq!(claim.expires_at, now() + Duration::days(30));
        // Valid up to and including its expiry second.
        assert!(tokens().verify(&token, claim.expires_at).is_ok());
    }

    #[test]
    fn an_expired_token_is_refused_as_expired() {
        let token = issued();
        let later = now() + Duration::days(30) + Duration::seconds(1);
        assert_eq!(tokens().verify(&token, later), Err(TokenError::Expired));
        assert_eq!(TokenError::Expired.code(), "expired_token");
        assert_eq!(TokenError::Expired.message().zh, "该调查链接已过期");
    }

    #[test]
    fn a_token_moved_to_another_ticket_or_altered_is_refused_as_forged() {
        let token = issued();
        let other_ticket = token.replace("7KQ2M9XA", "7KQ2M9XB");
        assert_eq!(
            tokens().verify(&other_ticket, now()),
            Err(TokenError::BadSignature)
        );
        let parts: Vec<&str> = token.split('.').collect();
        let later_expiry = format!(
            "{}.{}.{}.{}",
            parts[0],
            parts[1].parse::<i64>().unwrap() + 86_400,
            parts[2],
            parts[3]
        );
        assert_eq!(
            tokens().verify(&later_expiry, now()),
            Err(TokenError::BadSignature)
        );
        let other_nonce = token.replace("n0nce_1-a", "n0nce_1-b");
        assert_eq!(
            tokens().verify(&other_nonce, now()),
            Err(TokenError::BadSignature)
        );
        let mut flipped = token.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            tokens().verify(&flipped, now()),
            Err(TokenError::BadSignature)
        );
        // Another key (another deployment, or a guess) signs differently.
        assert_eq!(
            SurveyTokens::new(b"survey-key-two").verify(&token, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_link_sent_before_a_key_rotation_works_for_the_grace_period_only() {
        let key = |c: char| -> String { std::iter::repeat_n(c, 32).collect() };
        let ring = KeyRing::new(key('a'), key('b'));
        let before = SurveyTokens::from_ring(ring.clone());
        let token = before.issue(REF, now() + Duration::days(30), "n1");
        let after = SurveyTokens::from_ring(ring.rotate(now(), Duration::days(31), key('c')));
        assert_eq!(after.verify(&token, now()).unwrap().reference, REF);
        // Links the rotated ring signs verify at instances still holding the old ring.
        let fresh = after.issue(REF, now() + Duration::days(30), "n2");
        assert!(before.verify(&fresh, now()).is_ok());
        // Past the grace period the old key is gone (the token's own expiry aside).
        let long_after = SurveyTokens::from_ring(ring.rotate(now(), Duration::days(1), key('c')));
        assert_eq!(
            long_after.verify(&token, now() + Duration::days(2)),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_forged_token_is_refused_as_forged_even_when_it_would_have_expired() {
        let other = SurveyTokens::new(b"attacker").issue(REF, now() - Duration::days(1), "x");
        assert_eq!(
            tokens().verify(&other, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn malformed_tokens_are_refused_as_malformed() {
        let good = issued();
        let sig = good.rsplit('.').next().unwrap().to_string();
        for bad in [
            String::new(),
            "   ".into(),
            "not-a-token".into(),
            format!("{REF}.123.nonce"),
            format!("{REF}.123.nonce.{sig}.extra"),
            format!("{REF}.-5.nonce.{sig}"),
            format!("{REF}.12a.nonce.{sig}"),
            format!("{REF}..nonce.{sig}"),
            format!("{REF}.123..{sig}"),
            format!(".123.nonce.{sig}"),
            format!("{REF}.123.no nce.{sig}"),
            format!("{REF}.123.nonce.{}", &sig[..31]),
            format!("{REF}.123.nonce.{}zz", &sig[..30]),
            format!("{REF}.99999999999999.nonce.{sig}"),
            "a".repeat(MAX_TOKEN_CHARS + 1),
        ] {
            assert_eq!(
                tokens().verify(&bad, now()),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
        let e = TokenError::Malformed.field_error();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("token", "malformed_token")
        );
        assert_eq!(
            TokenError::Malformed.message(),
            TokenError::BadSignature.message()
        );
    }

    #[test]
    fn tokens_debug_hides_the_key() {
        assert_eq!(format!("{:?}", tokens()), "SurveyTokens(..)");
    }

    fn codes(e: &ValidationErrors) -> Vec<(&str, &str)> {
        e.0.iter()
            .map(|f| (f.field.as_str(), f.code.as_str()))
            .collect()
    }

    #[test]
    fn a_valid_submission_parses_with_a_trimmed_comment() {
        let s = SurveySubmission::parse(&json!({
            "token": " t.1.n.sig ", "csat": 4, "nps": 9, "solved": "partly",
            "comment": "  客服态度很好，但罚息还没退。 "
        }))
        .unwrap();
        assert_eq!(s.token, "t.1.n.sig");
        assert_eq!(
            s.answer,
            SurveyAnswer {
                csat: 4,
                nps: 9,
                solved: Solved::Partly,
                comment: Some("客服态度很好，但罚息还没退。".into()),
            }
        );
        assert_eq!(SurveySubmission::parse(&s.to_form()).unwrap(), s);
        for empty in [json!("   "), Value::Null] {
            let s = SurveySubmission::parse(&json!({
                "token": "t", "csat": 1, "nps": 0, "solved": "no", "comment": empty
            }))
            .unwrap();
            assert_eq!(s.answer.comment, None);
        }
        let edge = SurveySubmission::parse(&json!({
            "token": "t", "csat": 5, "nps": 10, "solved": "yes",
            "comment": "好".repeat(MAX_COMMENT_CHARS)
        }))
        .unwrap();
        assert_eq!(
            edge.answer.comment.unwrap().chars().count(),
            MAX_COMMENT_CHARS
        );
    }

    #[test]
    fn every_problem_of_a_submission_is_reported_against_its_field() {
        let e = SurveySubmission::parse(&json!({
            "csat": 6, "nps": -1, "solved": "maybe",
            "comment": "x".repeat(MAX_COMMENT_CHARS + 1), "rating": 5
        }))
        .unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("rating", "unknown_field"),
                ("token", "required"),
                ("csat", "out_of_range"),
                ("nps", "out_of_range"),
                ("solved", "invalid_value"),
                ("comment", "too_long"),
            ]
        );
        assert!(e
            .0
            .iter()
            .all(|f| !f.message.en.is_empty() && !f.message.zh.is_empty()));
        let e = SurveySubmission::parse(&json!({
            "token": 7, "csat": "4", "nps": 4.5, "solved": true, "comment": 3
        }))
        .unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("token", "wrong_type"),
                ("csat", "wrong_type"),
                ("nps", "out_of_range"),
                ("solved", "wrong_type"),
                ("comment", "wrong_type"),
            ]
        );
        let e = SurveySubmission::parse(&json!({})).unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("token", "required"),
                ("csat", "required"),
                ("nps", "required"),
                ("solved", "required"),
            ]
        );
        let e = SurveySubmission::parse(&json!([1])).unwrap_err();
        assert_eq!(codes(&e), [("", "not_an_object")]);
    }

    #[test]
    fn debug_output_hides_the_comment_and_the_token() {
        let s = SurveySubmission::parse(&json!({
            "token": "secret-token", "csat": 2, "nps": 3, "solved": "no",
            "comment": "我的电话 13812345678"
        }))
        .unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("13812345678") && !shown.contains("secret-token"),
            "{shown}"
        );
        assert!(shown.contains("csat: 2"), "{shown}");
    }

    fn resolved_ticket() -> Ticket {
        let t0 = shanghai("2026-03-02 10:00:00");
        let mut t = ticket(t0, Priority::Normal);
        let at = t0 + Duration::days(5);
        t.status = TicketStatus::Resolved;
        t.version = 5;
        t.acknowledged_at = Some(t0 + Duration::hours(2));
        t.analysis_started_at = Some(t0 + Duration::hours(3));
        t.resolved_at = Some(at);
        t.resolution = Some(Resolution {
            code: ResolutionCode::Upheld,
            summary: "penalty interest refunded".into(),
            at,
            by: "alice".into(),
        });
        t
    }

    fn answer(csat: u8, nps: u8, solved: Solved) -> SurveyAnswer {
        SurveyAnswer {
            csat,
            nps,
            solved,
            comment: Some("私人意见".into()),
        }
    }

    #[test]
    fn an_answer_closes_a_resolved_ticket_and_records_only_the_scores() {
        let t = resolved_ticket();
        let at = t.resolved_at.unwrap() + Duration::days(2);
        let (c, e) =
            apply_answer(&t, &answer(4, 9, Solved::Partly), at, Duration::days(30)).unwrap();
        assert_eq!(c.status, TicketStatus::Closed);
        assert_eq!(c.closed_at, Some(at));
        assert_eq!(c.version, 6);
        assert_eq!(c.resolution, t.resolution);
        assert_eq!(e.seq, 6);
        assert_eq!(e.at, at);
        assert_eq!(e.action, AuditAction::SurveyAnswered);
        assert_eq!(e.actor.id, "borrower");
        assert_eq!(e.actor.role, "borrower");
        assert_eq!(e.from_status, Some(TicketStatus::Resolved));
        assert_eq!(e.to_status, TicketStatus::Closed);
        assert_eq!(e.detail, "CSAT 4, NPS 9, solved: partly");
    }

    #[test]
    fn not_solved_within_the_window_reopens_the_ticket() {
        let t = resolved_ticket();
        let window = Duration::days(30);
        let at = t.resolved_at.unwrap() + window;
        let (r, e) = apply_answer(&t, &answer(1, 0, Solved::No), at, window).unwrap();
        assert_eq!(r.status, TicketStatus::Reopened);
        assert_eq!(r.reopened_count, 1);
        assert_eq!(r.resolution, None);
        assert_eq!(r.resolved_at, t.resolved_at);
        assert_eq!(r.closed_at, None);
        assert_eq!(e.action, AuditAction::SurveyNotSolvedReopened);
        assert_eq!(e.to_status, TicketStatus::Reopened);
        assert_eq!(e.detail, "CSAT 1, NPS 0, solved: no");
        // One second past the window, the same answer closes the ticket.
        let late = at + Duration::seconds(1);
        let (c, e) = apply_answer(&t, &answer(1, 0, Solved::No), late, window).unwrap();
        assert_eq!(c.status, TicketStatus::Closed);
        assert_eq!(e.action, AuditAction::SurveyAnswered);
    }

    #[test]
    fn only_a_resolved_ticket_takes_an_answer() {
        let t = resolved_ticket();
        let at = t.resolved_at.unwrap() + Duration::days(1);
        let closed = apply_answer(&t, &answer(5, 10, Solved::Yes), at, Duration::days(30))
            .unwrap()
            .0;
        let e =
            apply_answer(&closed, &answer(5, 10, Solved::Yes), at, Duration::days(30)).unwrap_err();
        assert_eq!(
            e,
            LifecycleError::NotAllowed(Refusal::SurveyAlreadyAnswered)
        );
        assert_eq!(already_answered_message().en, e.to_string());
        let open = ticket(shanghai("2026-03-02 10:00:00"), Priority::Normal);
        let e =
            apply_answer(&open, &answer(5, 10, Solved::Yes), at, Duration::days(30)).unwrap_err();
        assert_eq!(e.code(), "invalid_transition");
    }
}

#[cfg(test)]
mod config_tests {
    use crate::config::SLA_TOML;
    use crate::sla::SlaPolicies;
    use chrono::Duration;

    #[test]
    fn the_bundled_file_sets_the_survey_windows_and_the_reporting_time_zone() {
        let sla = SlaPolicies::from_toml(SLA_TOML).unwrap();
        assert_eq!(sla.survey_window(), Duration::days(30));
        assert_eq!(sla.survey_token_validity(), Duration::days(30));
        assert_eq!(sla.reporting_time_zone(), chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn bad_survey_or_reporting_settings_are_refused_with_their_key() {
        for (from, to, key) in [
            (
                "answer_window_days = 30",
                "answer_window_days = 0",
                "surveys.answer_window_days",
            ),
            (
                "token_valid_days = 30",
                "token_valid_days = 400",
                "surveys.token_valid_days",
            ),
            (
                "time_zone = \"Asia/Shanghai\"\n\n#",
                "time_zone = \"Mars/Base\"\n\n#",
                "reporting.time_zone",
            ),
        ] {
            let src = SLA_TOML.replacen(from, to, 1);
            assert_ne!(src, SLA_TOML, "{from}");
            let e = SlaPolicies::from_toml(&src).unwrap_err();
            assert!(e.message.contains(key), "{}", e.message);
        }
    }

    #[test]
    fn a_file_without_the_sections_gets_the_documented_defaults() {
        let start = SLA_TOML.find("[surveys]").unwrap();
        let end = SLA_TOML[start..].find("# ----").unwrap() + start;
        let src = format!("{}{}", &SLA_TOML[..start], &SLA_TOML[end..]);
        assert!(!src.contains("[reporting]"));
        let sla = SlaPolicies::from_toml(&src).unwrap();
        assert_eq!(sla.survey_window(), Duration::days(30));
        assert_eq!(sla.reporting_time_zone(), chrono_tz::Asia::Shanghai);
    }
}
