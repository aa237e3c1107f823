//! Out-of-range dates and numbers on the command line get a clear error and a failing
//! exit code, never a panic (exit code 101) from date arithmetic. No AWS is reached: each
//! is refused before the first call.

use std::process::{Command, Stdio};

fn redress(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(args)
        .env_remove("REDRESS_CONFIG_DIR")
        // Nothing may be reached: an unreachable endpoint makes any call fail fast.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(Stdio::null())
        .output()
        .expect("redress runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn far_dates_and_huge_counts_are_refused_with_a_message_not_a_panic() {
    let cases: &[&[&str]] = &[
        &["report", "--from=-262143-01-01", "--to", "2026-01-01"],
        &["report", "--from", "2026-01-01", "--to", "+262142-12-31"],
        &["report", "--from", "1999-12-31", "--to", "2000-01-05"],
        &["outbox", "--days", "4294967295"],
        &["outbox", "--days", "0"],
        &[
            "keys",
            "rotate",
            "--status-grace-days",
            "9223372036854775807",
        ],
        &["keys", "rotate", "--survey-grace-days=-5"],
        &["classify", "--now", "9999-12-31T23:59:59Z"],
        &["classify", "--now", "0000-01-01T00:00:00Z"],
    ];
    for args in cases {
        let (code, stderr) = redress(args);
        assert_ne!(code, 101, "{args:?} panicked: {stderr}");
        assert_ne!(code, 0, "{args:?} was accepted");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("between") || stderr.contains("range") || stderr.contains("days"),
            "{args:?} says why: {stderr}"
        );
    }
}
