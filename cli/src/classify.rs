//! `redress classify`: complaints as JSON lines in, one assessment per line out.

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use redress_domain::assess::assess;
use redress_domain::complaint::{Complaint, ParseMode, MAX_TEXT_CHARS};
use redress_domain::config::DomainConfig;
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{BufRead, ErrorKind, Write};

/// Classifies one line of input given in the API's shape (`{"text": ...}` at the least).
///
/// Returns the assessment as a JSON object, or `{"error", "fields"}` when the line is not
/// valid input. The line number is added by the caller.
pub fn classify_line(config: &DomainConfig, line: &str, now: DateTime<Utc>) -> Value {
    classify_line_in(config, line, None, now)
}

/// Like [`classify_line`], but when `field` is given the complaint is taken from that
/// field of the line's object (`{"complaint": {...}}` in `demo/complaints.jsonl`).
pub fn classify_line_in(
    config: &DomainConfig,
    line: &str,
    field: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        // serde_json's syntax errors give a position, never the content.
        Err(e) => return error(format!("not valid JSON: {e}"), json!([])),
    };
    let form = match field {
        None => &value,
        Some(f) => match value.get(f) {
            Some(v) => v,
            None => return error(format!("the line has no field '{f}'"), json!([])),
        },
    };
    classify_value(config, form, now)
}

/// Classifies one complaint form.
///
/// A text longer than the form allows is classified on its first
/// [`MAX_TEXT_CHARS`] characters (`"text_truncated": true`) rather than refused: real
/// complaints arriving by letter or e-mail can be long.
pub fn classify_value(config: &DomainConfig, form: &Value, now: DateTime<Utc>) -> Value {
    let long = form
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| t.chars().count() > MAX_TEXT_CHARS);
    let cut;
    let form = match long {
        Some(text) => {
            let mut f = form.clone();
            f["text"] = Value::from(text.chars().take(MAX_TEXT_CHARS).collect::<String>());
            cut = f;
            &cut
        }
        None => form,
    };
    let complaint = match Complaint::parse(form, config, ParseMode::TextOnly, now) {
        Ok(c) => c,
        Err(e) => return error(e.to_string(), json!(e.0)),
    };
    let received_at = complaint.submitted_at.unwrap_or(now);
    let a = assess(config, &complaint, "-", received_at, &[]);
    let category = config
        .classifier
        .category(a.classification.category.as_str());
    let d = &a.deadlines;
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let model = a.classification.model.as_ref();
    // The model's probability for the category given: its own confidence when it chose
    // it, else what it gave that category (null when it has no view).
    let confidence = a.classification.confidence.map(f64::from).or_else(|| {
        model.and_then(|m| {
            m.candidates
                .iter()
                .find(|c| c.category == a.classification.category)
                .map(|c| c.probability())
        })
    });
    let triage = config
        .routing
        .triage()
        .is_some_and(|t| t.team == a.route.team);
    json!({
        "category": a.classification.category,
        "confidence": confidence,
        "candidates": model.map(|m| m.candidates.iter().map(|c| json!({
            "category": c.category, "probability": c.probability()
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "evidence": model.map(|m| m.evidence.clone()).unwrap_or_default(),
        "model_category": model.map(|m| &m.top.category),
        "triage": triage,
        "text_truncated": long.is_some(),
        "category_label": category.map(|c| &c.label),
        "category_source": a.classification.source,
        "signals": a.signals,
        "team": a.route.team,
        "priority": a.route.priority,
        "sla_policy": d.policy,
        "deadlines": {
            "acknowledge_by": time(d.acknowledge_by),
            "resolve_by": time(d.resolve_by),
            "regulatory_acknowledge_by": time(d.regulatory_acknowledge_by),
            "regulatory_resolve_by": time(d.regulatory_resolve_by),
        },
        "jrt_0169": category.map(|c| &c.jrt_0169),
        "cfpb": category.map(|c| &c.cfpb),
        "reason": format!("{}; {}", a.classification.reason, a.route.reason),
    })
}

fn error(message: String, fields: Value) -> Value {
    json!({ "error": message, "fields": fields })
}

/// One output line: the line number first, then the result's fields.
#[derive(Serialize)]
struct Numbered<'a> {
    line: u64,
    #[serde(flatten)]
    result: &'a Value,
}

/// How a run went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub classified: u64,
    pub errors: u64,
}

/// Classifies every line of `input` into `output`, in order. Blank lines are skipped but
/// counted, so `line` is always the line number in the input.
///
/// Stops early and quietly if `output` is closed (`redress classify | head`).
pub fn run(
    config: &DomainConfig,
    input: impl BufRead,
    mut output: impl Write,
    field: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut input = input;
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading standard input after line {line_no}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let result = match std::str::from_utf8(&buf) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => classify_line_in(config, line, field, now),
            Err(e) => error(format!("not valid UTF-8: {e}"), json!([])),
        };
        if result.get("error").is_some() {
            summary.errors += 1;
        } else {
            summary.classified += 1;
        }
        let written = serde_json::to_writer(
            &mut output,
            &Numbered {
                line: line_no,
                result: &result,
            },
        )
        .map_err(std::io::Error::from)
        .and_then(|()| output.write_all(b"\n"));
        if let Err(e) = written {
            return stop_on_closed_output(e, summary);
        }
    }
    match output.flush() {
        Ok(()) => Ok(summary),
        Err(e) => stop_on_closed_output(e, summary),
    }
}

fn stop_on_closed_output(e: std::io::Error, summary: Summary) -> Result<Summary> {
    if e.kind() == ErrorKind::BrokenPipe {
        Ok(summary)
    } else {
        Err(e).context("writing standard output")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn config() -> &'static DomainConfig {
        static CONFIG: OnceLock<DomainConfig> = OnceLock::new();
        CONFIG.get_or_init(|| DomainConfig::bundled().unwrap())
    }

    fn now() -> DateTime<Utc> {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_full_api_form_is_classified_routed_and_given_deadlines() {
        let line = r#"{"borrower": {"phone": "13812345678"}, "product": "personal_loan", "channel": "app",
            "text": "催收员每天打二十多个电话，还给我的家人和同事打电话，说不还钱就上门。", "consent_to_contact": true,
            "submitted_at": "2026-11-22T09:00:00+08:00"}"#
            .replace('\n', " ");
        let out = classify_line(config(), &line, now());
        assert!(out.get("error").is_none(), "{out}");
        assert_eq!(out["category"], "collection_conduct", "{out}");
        assert_eq!(out["category_source"], "text");
        assert!(!out["signals"].as_array().unwrap().is_empty(), "{out}");
        assert!(!out["category_label"]["zh"].as_str().unwrap().is_empty());
        assert!(
            out["team"].is_string() && out["priority"].is_string() && out["sla_policy"].is_string()
        );
        // The deadlines run from the form's submitted_at, not from now.
        let ack: DateTime<Utc> = out["deadlines"]["regulatory_acknowledge_by"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(ack > "2026-11-22T01:00:00Z".parse::<DateTime<Utc>>().unwrap());
        for key in ["resolve_by", "acknowledge_by", "regulatory_resolve_by"] {
            assert!(out["deadlines"][key].is_string(), "{key}: {out}");
        }
        assert!(
            out["jrt_0169"].is_object() && out["cfpb"]["product"].is_string(),
            "{out}"
        );
        assert!(
            out["reason"].as_str().unwrap().contains("; rule '"),
            "{out}"
        );
    }

    #[test]
    fn a_bare_text_line_is_enough() {
        let out = classify_line(
            config(),
            r#"{"text": "You charged me a hidden service fee that was never in my loan contract."}"#,
            now(),
        );
        assert_eq!(out["category"], "fees_interest", "{out}");
        assert_eq!(out["team"], "billing", "{out}");
        // With no submitted_at the clock is `now`.
        let ack: DateTime<Utc> = out["deadlines"]["regulatory_acknowledge_by"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(ack > now());
    }

    #[test]
    fn a_line_that_is_not_json_is_an_error_without_fields() {
        let out = classify_line(config(), r#"{"text": "unterminated"#, now());
        assert!(
            out["error"].as_str().unwrap().starts_with("not valid JSON"),
            "{out}"
        );
        assert_eq!(out["fields"], json!([]));
        assert!(out.get("category").is_none());
    }

    #[test]
    fn an_invalid_field_is_reported_against_that_field() {
        let out = classify_line(
            config(),
            r#"{"text": "too short", "channel": "pigeon"}"#,
            now(),
        );
        let fields = out["fields"].as_array().unwrap();
        let codes: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
            .collect();
        assert!(codes.contains(&("text", "too_short")), "{out}");
        assert!(codes.contains(&("channel", "unknown_channel")), "{out}");
        assert!(fields.iter().all(|f| f["message"]["zh"].is_string()));
        assert!(
            out["error"]
                .as_str()
                .unwrap()
                .contains("2 invalid field(s)"),
            "{out}"
        );
    }

    #[test]
    fn the_complaint_can_be_taken_from_a_field_of_the_line() {
        let line = r#"{"expected_category": "fees_interest", "complaint": {"text": "The penalty interest on my loan is far too high."}}"#;
        let out = classify_line_in(config(), line, Some("complaint"), now());
        assert!(out.get("error").is_none(), "{out}");
        let out = classify_line_in(
            config(),
            r#"{"text": "no complaint field here"}"#,
            Some("complaint"),
            now(),
        );
        assert_eq!(out["error"], "the line has no field 'complaint'");
    }

    #[test]
    fn run_numbers_lines_skips_blanks_counts_errors_and_keeps_order() {
        let input = "{\"text\": \"hidden fees on my loan statement\"}\n\n   \nnot json\r\n{\"text\": \"催收电话太多了，每天都打\"}";
        let mut out = Vec::new();
        let summary = run(config(), input.as_bytes(), &mut out, None, now()).unwrap();
        assert_eq!(
            summary,
            Summary {
                classified: 2,
                errors: 1
            }
        );
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let numbers: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
        assert_eq!(numbers, [1, 4, 5]);
        assert!(lines[1]["error"].is_string());
    }

    #[test]
    fn invalid_utf8_fails_only_its_line() {
        let input = b"\xff\xfe\n{\"text\": \"hidden fees on my loan statement\"}\n";
        let mut out = Vec::new();
        let summary = run(config(), &input[..], &mut out, None, now()).unwrap();
        assert_eq!(
            summary,
            Summary {
                classified: 1,
                errors: 1
            }
        );
    }
}
