//! Runs the built `redress` binary on a few lines of input.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn classify_prints_one_line_per_input_line_and_continues_after_a_bad_one() {
    let input = concat!(
        r#"{"text": "催收员半夜打电话，还威胁要上门，给我的同事和家人都打了电话。"}"#,
        "\n",
        "this is not json\n",
        r#"{"text": "You charged me a hidden service fee that was never in my loan contract.", "submitted_at": "2026-11-20T09:00:00+08:00"}"#,
        "\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["classify", "--now", "2026-11-23T10:00:00Z"])
        .env_remove("REDRESS_CONFIG_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redress runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines
            .iter()
            .map(|l| l["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(lines[0]["category"], "collection_conduct", "{}", lines[0]);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("not valid JSON"),
        "{}",
        lines[1]
    );
    assert!(lines[1].get("category").is_none());
    assert_eq!(lines[2]["category"], "fees_interest", "{}", lines[2]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "classified 2, errors 1"
    );
}

#[test]
fn a_bad_now_flag_is_refused_with_an_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["classify", "--now", "yesterday"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}
