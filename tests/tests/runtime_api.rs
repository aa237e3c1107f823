//! Each function's real binary (built for this machine by `cargo build --bins`) under a
//! Lambda Runtime API emulator, against the local stack, with the environment the
//! template gives it (keys read from the local Secrets Manager, not the environment),
//! answering a real event: an API Gateway v2 request, SQS batches, the scheduled event.
//! A missing or bad variable fails the cold start with one line naming it.

use redress_e2e::runtime_api::{binary, lambda_variables, spawn, Outcome, RuntimeApi};
use redress_e2e::{spawn_app, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

fn fixture(name: &str) -> Value {
    let path = redress_e2e::workspace_root()
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The function's environment as the template resolves it, without the key variables
/// the local runner filled in: the binary must read them from the secret itself.
fn environment(app: &TestApp, function: &str) -> Vec<(String, String)> {
    app.pipeline.environments[function]
        .iter()
        .filter(|(k, _)| {
            !redress_aws::secrets::KEY_FIELDS
                .iter()
                .any(|(_, var)| var == k)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Starts `bin` under a fresh emulator with `variables`; waits for its first `/next`.
async fn start(
    bin: &str,
    function: &str,
    variables: Vec<(String, String)>,
) -> (RuntimeApi, tokio::process::Child) {
    let api = RuntimeApi::start().await.unwrap();
    let mut all = lambda_variables(api.addr, function);
    all.extend(variables);
    let child = spawn(&binary(bin, "debug").unwrap(), &all).unwrap();
    (api, child)
}

async fn ready(api: &RuntimeApi, child: &mut tokio::process::Child) {
    if api.wait_ready(Duration::from_secs(20)).await.is_err() {
        let _ = child.start_kill();
        let out = child.wait_with_output_ref().await;
        panic!("the function never asked for work; stderr:\n{out}");
    }
}

/// `wait_with_output` for a borrowed child: its stderr as text.
trait StderrText {
    async fn wait_with_output_ref(&mut self) -> String;
}

impl StderrText for tokio::process::Child {
    async fn wait_with_output_ref(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut text = String::new();
        if let Some(mut err) = self.stderr.take() {
            let _ =
                tokio::time::timeout(Duration::from_secs(10), err.read_to_string(&mut text)).await;
        }
        text
    }
}

fn response(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("the invocation failed: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_binary_answers_an_api_gateway_v2_request() {
    let app = spawn_app().await;
    let (api, mut child) = start(
        "redress-api",
        "ApiFunction",
        environment(&app, "ApiFunction"),
    )
    .await;
    ready(&api, &mut child).await;
    let answer = response(
        api.invoke(
            fixture("apigw_v2_post_complaint.json"),
            Duration::from_secs(20),
        )
        .await
        .unwrap(),
    );
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    let reference = body["reference"].as_str().expect("a reference").to_string();
    // The complaint went onto the template's queue: the local runner's intake stores it.
    app.wait_for_ticket(&reference).await;
    child.kill().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intake_binary_stores_a_batch_and_fails_only_its_bad_messages() {
    let app = spawn_app().await;
    let (api, mut child) = start(
        "redress-intake",
        "IntakeFunction",
        environment(&app, "IntakeFunction"),
    )
    .await;
    ready(&api, &mut child).await;
    let answer = response(
        api.invoke(fixture("sqs_batch_mixed.json"), Duration::from_secs(30))
            .await
            .unwrap(),
    );
    let mut failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            "0c3f8a52-2d7e-4c5b-9a1e-000000000002",
            "0c3f8a52-2d7e-4c5b-9a1e-000000000003"
        ]
    );
    app.wait_for_ticket("RD-261120-F1XTVRE1").await;
    child.kill().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_surveys_binary_reports_an_unreadable_answer_as_a_batch_item_failure() {
    let app = spawn_app().await;
    let (api, mut child) = start(
        "redress-surveys",
        "SurveysFunction",
        environment(&app, "SurveysFunction"),
    )
    .await;
    ready(&api, &mut child).await;
    let mut batch = fixture("sqs_batch_mixed.json");
    let records = batch["Records"].as_array_mut().unwrap();
    records.retain(|r| r["messageId"] == "0c3f8a52-2d7e-4c5b-9a1e-000000000002");
    records[0]["body"] = json!("{not json");
    let answer = response(api.invoke(batch, Duration::from_secs(30)).await.unwrap());
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "0c3f8a52-2d7e-4c5b-9a1e-000000000002"}])
    );
    child.kill().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_binary_sweeps_on_the_scheduled_event() {
    let app = spawn_app().await;
    let (api, mut child) = start(
        "redress-sweeper",
        "SweeperFunction",
        environment(&app, "SweeperFunction"),
    )
    .await;
    ready(&api, &mut child).await;
    let event = json!({
        "version": "0", "id": "5c1a3f4e-0000-4000-8000-000000000001",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-12-02T05:00:00Z", "region": "ap-southeast-1",
        "resources": ["arn:aws:events:ap-southeast-1:123456789012:rule/redress-EveryFiveMinutes"],
        "detail": {}
    });
    let answer = response(api.invoke(event, Duration::from_secs(30)).await.unwrap());
    assert_eq!(answer["due"], 0, "{answer}");
    assert_eq!(answer["failed"], 0, "{answer}");
    child.kill().await.unwrap();
    app.stop().await;
}

/// Starts `bin` with `variables`, expects it to exit 1 before asking for work, with one
/// stderr line and an init error, both naming `variable`.
async fn cold_start_fails_naming(
    bin: &str,
    function: &str,
    variables: Vec<(String, String)>,
    variable: &str,
) {
    let (api, mut child) = start(bin, function, variables).await;
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the process exits")
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(api.first_next().is_none(), "it never asked for work");
    let stderr = child.wait_with_output_ref().await;
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains(variable), "{}", lines[0]);
    let init = api
        .init_error()
        .expect("the init error reached the Runtime API");
    assert!(
        init["errorMessage"].as_str().unwrap().contains(variable),
        "{init}"
    );
    assert_eq!(init["errorType"], "Runtime.ConfigError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_bad_variable_fails_the_cold_start_with_one_line_naming_it() {
    let app = spawn_app().await;
    let without = |function: &str, name: &str| -> Vec<(String, String)> {
        environment(&app, function)
            .into_iter()
            .filter(|(k, _)| k != name)
            .collect()
    };
    cold_start_fails_naming(
        "redress-api",
        "ApiFunction",
        without("ApiFunction", "TICKETS_TABLE"),
        "TICKETS_TABLE",
    )
    .await;
    cold_start_fails_naming(
        "redress-intake",
        "IntakeFunction",
        without("IntakeFunction", "KEYS_SECRET_ID"),
        "KEYS_SECRET_ID",
    )
    .await;
    let mut bad = without("SurveysFunction", "RETENTION_DAYS");
    bad.push(("RETENTION_DAYS".into(), "seven years".into()));
    cold_start_fails_naming("redress-surveys", "SurveysFunction", bad, "RETENTION_DAYS").await;
    cold_start_fails_naming(
        "redress-sweeper",
        "SweeperFunction",
        without("SweeperFunction", "NOTIFICATIONS_QUEUE_URL"),
        "NOTIFICATIONS_QUEUE_URL",
    )
    .await;
    // A secret that does not exist: named by the variable that points at it.
    let mut gone = without("ApiFunction", "KEYS_SECRET_ID");
    gone.push(("KEYS_SECRET_ID".into(), "no-such-secret".into()));
    cold_start_fails_naming("redress-api", "ApiFunction", gone, "KEYS_SECRET_ID").await;
    app.stop().await;
}
