//! The template protects what it holds and tells somebody when something goes wrong.
//! Reads infra/template.yaml as data and checks every queue and every function in it,
//! including ones added later:
//! - every queue: explicit retention, the customer-managed KMS key, an age alarm;
//!   a dead-letter queue also 14 days' retention and a depth alarm;
//! - every function: an Errors and a Throttles alarm; an SQS consumer has its own role
//!   (so SAM attaches no account-wide SQS policy), MaximumConcurrency on its event
//!   source, and may receive only from the queues its events read; no other function
//!   may receive from any queue;
//! - every alarm goes to the alarm topic, whose subscription is required; the table and
//!   user pool have deletion protection, the table a customer-managed KMS key; the CORS
//!   origin is a required parameter.
//!
//! The same checker is run on doctored copies of the template to show it catches each
//! kind of mistake.

use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeSet;

fn template() -> Value {
    let path = redress_e2e::workspace_root().join("infra/template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resources(doc: &Value) -> &Mapping {
    doc["Resources"].as_mapping().expect("Resources")
}

fn of_type<'a>(doc: &'a Value, kind: &str) -> Vec<(String, &'a Value)> {
    resources(doc)
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap().to_string(), r))
        .collect()
}

/// `Ref: X` or `Fn::GetAtt: [X, …]` → X.
fn target(v: &Value) -> Option<String> {
    if let Some(r) = v.get("Ref").and_then(Value::as_str) {
        return Some(r.to_string());
    }
    match v.get("Fn::GetAtt")? {
        Value::Sequence(s) => s.first()?.as_str().map(str::to_string),
        Value::String(s) => s.split('.').next().map(str::to_string),
        _ => None,
    }
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(s) => s.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

/// Alarms on `metric` whose dimension `dimension` points at `id`.
fn alarms_on(doc: &Value, metric: &str, dimension: &str, id: &str) -> usize {
    of_type(doc, "AWS::CloudWatch::Alarm")
        .iter()
        .filter(|(_, a)| a["Properties"]["MetricName"].as_str() == Some(metric))
        .filter(|(_, a)| {
            as_list(&a["Properties"]["Dimensions"]).iter().any(|d| {
                d["Name"].as_str() == Some(dimension) && target(&d["Value"]).as_deref() == Some(id)
            })
        })
        .count()
}

/// Statements granting an SQS receive action, with the queues they name ("*" for any).
fn receive_grants(statements: &Value) -> Vec<BTreeSet<String>> {
    as_list(statements)
        .into_iter()
        .filter(|st| st["Effect"].as_str() != Some("Deny"))
        .filter(|st| {
            as_list(&st["Action"]).iter().any(|a| {
                let a = a.as_str().unwrap_or_default().to_ascii_lowercase();
                a == "*" || a == "sqs:*" || a.starts_with("sqs:receive")
            })
        })
        .map(|st| {
            as_list(&st["Resource"])
                .iter()
                .map(|r| target(r).unwrap_or_else(|| "*".to_string()))
                .collect()
        })
        .collect()
}

/// Every problem found; empty when the template is sound.
/// The dashboards' bodies, as the `Fn::Sub` text the template writes them in.
fn dashboard_bodies(doc: &Value) -> Vec<String> {
    of_type(doc, "AWS::CloudWatch::Dashboard")
        .iter()
        .filter_map(|(_, d)| d["Properties"]["DashboardBody"]["Fn::Sub"].as_str())
        .map(str::to_string)
        .collect()
}

fn problems(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let res = resources(doc);
    let kind_of = |id: &str| res.get(id).and_then(|r| r["Type"].as_str()).unwrap_or("");

    // Queues.
    let queues = of_type(doc, "AWS::SQS::Queue");
    let dead_letter_queues: BTreeSet<String> = queues
        .iter()
        .filter_map(|(_, q)| target(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .collect();
    for (id, q) in &queues {
        let p = &q["Properties"];
        match p["MessageRetentionPeriod"].as_u64() {
            None => out.push(format!("{id}: no explicit MessageRetentionPeriod")),
            Some(r) if dead_letter_queues.contains(id) && r < 1_209_600 => out.push(format!(
                "{id}: a dead-letter queue keeps messages only {r} s, not 14 days"
            )),
            _ => {}
        }
        match target(&p["KmsMasterKeyId"]) {
            Some(key) if kind_of(&key) == "AWS::KMS::Key" => {}
            _ => out.push(format!(
                "{id}: not encrypted with a customer-managed KMS key of the template"
            )),
        }
        if alarms_on(doc, "ApproximateAgeOfOldestMessage", "QueueName", id) == 0 {
            out.push(format!("{id}: no alarm on the age of its oldest message"));
        }
        if dead_letter_queues.contains(id)
            && alarms_on(doc, "ApproximateNumberOfMessagesVisible", "QueueName", id) == 0
        {
            out.push(format!("{id}: a dead-letter queue without a depth alarm"));
        }
    }

    // Functions.
    let roles_in_use: Vec<String> = of_type(doc, "AWS::Serverless::Function")
        .iter()
        .filter_map(|(_, f)| target(&f["Properties"]["Role"]))
        .collect();
    for (id, f) in of_type(doc, "AWS::Serverless::Function") {
        let p = &f["Properties"];
        for metric in ["Errors", "Throttles"] {
            if alarms_on(doc, metric, "FunctionName", &id) == 0 {
                out.push(format!("{id}: no {metric} alarm"));
            }
        }
        let on_dashboard = format!("\"Errors\", \"FunctionName\", \"${{{id}}}\"");
        if !dashboard_bodies(doc)
            .iter()
            .any(|b| b.contains(&on_dashboard))
        {
            out.push(format!("{id}: its errors are not on the dashboard"));
        }
        let own_queues: BTreeSet<String> = p["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, e)| e["Type"].as_str() == Some("SQS"))
            .map(|(name, e)| {
                if e["Properties"]["ScalingConfig"]["MaximumConcurrency"].is_null() {
                    out.push(format!(
                        "{id}: SQS event {} has no MaximumConcurrency",
                        name.as_str().unwrap_or("?")
                    ));
                }
                target(&e["Properties"]["Queue"]).unwrap_or_default()
            })
            .collect();
        let role = target(&p["Role"]);
        if !own_queues.is_empty() && role.is_none() {
            out.push(format!(
                "{id}: an SQS consumer without its own Role gets SAM's account-wide AWSLambdaSQSQueueExecutionRole"
            ));
        }
        // What the function may receive from: its inline policies and its role's.
        let mut statements: Vec<Value> = as_list(&p["Policies"])
            .into_iter()
            .map(|pol| pol["Statement"].clone())
            .collect();
        if let Some(role) = &role {
            let r = &res
                .get(role.as_str())
                .map(|r| &r["Properties"])
                .cloned()
                .unwrap_or_default();
            for arn in as_list(&r["ManagedPolicyArns"]) {
                if format!("{arn:?}").contains("SQS") {
                    out.push(format!(
                        "{id}: its role {role} carries a managed SQS policy"
                    ));
                }
            }
            statements.extend(
                as_list(&r["Policies"])
                    .into_iter()
                    .map(|pol| pol["PolicyDocument"]["Statement"].clone()),
            );
        }
        for grant in statements.iter().flat_map(receive_grants) {
            for queue in grant {
                if !own_queues.contains(&queue) {
                    out.push(format!(
                        "{id}: may receive from {queue}, which is not its own queue"
                    ));
                }
            }
        }
    }
    // A role no function uses may still be assumed by a later one: judge it as if by a
    // function that reads no queue.
    for (id, r) in of_type(doc, "AWS::IAM::Role") {
        if roles_in_use.contains(&id) {
            continue;
        }
        for pol in as_list(&r["Properties"]["Policies"]) {
            if !receive_grants(&pol["PolicyDocument"]["Statement"]).is_empty() {
                out.push(format!(
                    "{id}: a role no function uses grants receiving from a queue"
                ));
            }
        }
    }

    // Alarms reach somebody.
    for (id, a) in of_type(doc, "AWS::CloudWatch::Alarm") {
        let to_topic = as_list(&a["Properties"]["AlarmActions"])
            .iter()
            .any(|t| target(t).is_some_and(|t| kind_of(&t) == "AWS::SNS::Topic"));
        if !to_topic {
            out.push(format!("{id}: alarm action is not the alarm topic"));
        }
    }
    let subscribed = of_type(doc, "AWS::SNS::Subscription")
        .iter()
        .any(|(_, s)| s.get("Condition").is_none());
    if !subscribed {
        out.push("the alarm topic has no unconditional subscription".into());
    }
    for param in ["AlarmEmail", "CorsAllowOrigin"] {
        if !doc["Parameters"][param]["Default"].is_null() {
            out.push(format!(
                "parameter {param} has a default: it must be given at deploy"
            ));
        }
    }
    for (id, t) in of_type(doc, "AWS::DynamoDB::Table") {
        if t["Properties"]["DeletionProtectionEnabled"].as_bool() != Some(true) {
            out.push(format!("{id}: no deletion protection"));
        }
        // It holds complaint texts and contact details: the stack's own key, not an
        // AWS-owned or AWS-managed one.
        let sse = &t["Properties"]["SSESpecification"];
        match target(&sse["KMSMasterKeyId"]) {
            Some(key)
                if sse["SSEEnabled"].as_bool() == Some(true)
                    && kind_of(&key) == "AWS::KMS::Key" => {}
            _ => out.push(format!(
                "{id}: not encrypted with a customer-managed KMS key of the template"
            )),
        }
    }
    for (id, u) in of_type(doc, "AWS::Cognito::UserPool") {
        if u["Properties"]["DeletionProtection"].as_str() != Some("ACTIVE") {
            out.push(format!("{id}: no deletion protection"));
        }
    }
    out
}

#[test]
fn every_queue_and_function_of_the_template_is_protected_and_alarmed() {
    let doc = template();
    let found = problems(&doc);
    assert!(
        found.is_empty(),
        "template problems:\n  {}",
        found.join("\n  ")
    );
    assert!(of_type(&doc, "AWS::SQS::Queue").len() >= 6);
    assert!(of_type(&doc, "AWS::Serverless::Function").len() >= 4);
}

#[test]
fn the_api_5xx_rate_sweeper_and_notification_alarms_and_the_dashboard_exist() {
    let doc = template();
    let alarms = of_type(&doc, "AWS::CloudWatch::Alarm");
    let uses_metric = |metric: &str| {
        alarms.iter().any(|(_, a)| {
            a["Properties"]["MetricName"].as_str() == Some(metric)
                || serde_yaml_ng::to_string(&a["Properties"]["Metrics"])
                    .unwrap()
                    .contains(&format!("MetricName: {metric}\n"))
        })
    };
    assert!(uses_metric("5xx"), "API 5xx rate alarm");
    assert!(
        uses_metric("NotificationsNotSent"),
        "notifications-not-sent alarm"
    );
    assert!(alarms_on(&doc, "Errors", "FunctionName", "SweeperFunction") >= 1);
    let dashboards = of_type(&doc, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1);
    let body = serde_yaml_ng::to_string(&dashboards[0].1["Properties"]["DashboardBody"]).unwrap();
    for shown in [
        "NumberOfMessagesSent",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "DeadlineAlertsRecorded",
    ] {
        assert!(body.contains(shown), "the dashboard shows {shown}");
    }
}

/// Edits the parsed template at a path of keys.
fn set(doc: &mut Value, path: &[&str], value: Value) {
    let mut at = doc;
    for key in &path[..path.len() - 1] {
        at = at.get_mut(*key).unwrap_or_else(|| panic!("no {key}"));
    }
    at.as_mapping_mut()
        .unwrap()
        .insert(path[path.len() - 1].into(), value);
}

fn remove(doc: &mut Value, path: &[&str]) {
    let mut at = doc;
    for key in &path[..path.len() - 1] {
        at = at.get_mut(*key).unwrap();
    }
    at.as_mapping_mut().unwrap().remove(path[path.len() - 1]);
}

fn found(doc: &Value, needle: &str) -> bool {
    problems(doc).iter().any(|p| p.contains(needle))
}

#[test]
fn the_checker_catches_a_queue_without_retention_encryption_or_age_alarm() {
    let mut doc = template();
    remove(
        &mut doc,
        &[
            "Resources",
            "SurveysQueue",
            "Properties",
            "MessageRetentionPeriod",
        ],
    );
    assert!(found(
        &doc,
        "SurveysQueue: no explicit MessageRetentionPeriod"
    ));

    let mut doc = template();
    remove(
        &mut doc,
        &[
            "Resources",
            "ComplaintsQueue",
            "Properties",
            "KmsMasterKeyId",
        ],
    );
    set(
        &mut doc,
        &[
            "Resources",
            "ComplaintsQueue",
            "Properties",
            "SqsManagedSseEnabled",
        ],
        Value::Bool(true),
    );
    assert!(found(&doc, "ComplaintsQueue: not encrypted"));

    let mut doc = template();
    set(
        &mut doc,
        &[
            "Resources",
            "ComplaintsDeadLetterQueue",
            "Properties",
            "MessageRetentionPeriod",
        ],
        345600.into(),
    );
    assert!(found(
        &doc,
        "ComplaintsDeadLetterQueue: a dead-letter queue keeps messages only 345600"
    ));

    let mut doc = template();
    remove(&mut doc, &["Resources", "NotificationsQueueAgeAlarm"]);
    assert!(found(&doc, "NotificationsQueue: no alarm on the age"));

    // A queue added without anything: every omission is named.
    let mut doc = template();
    let bare: Value = serde_yaml_ng::from_str("Type: AWS::SQS::Queue\nProperties: {}").unwrap();
    set(&mut doc, &["Resources", "NewQueue"], bare);
    let p = problems(&doc);
    assert_eq!(
        p.iter().filter(|p| p.starts_with("NewQueue:")).count(),
        3,
        "{p:?}"
    );
}

#[test]
fn the_checker_catches_a_function_that_can_receive_from_another_queue() {
    // The intake role also granted the surveys queue.
    let mut doc = template();
    let statement = &mut doc["Resources"]["IntakeFunctionRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"][0];
    let extra: Value = serde_yaml_ng::from_str("Fn::GetAtt: [SurveysQueue, Arn]").unwrap();
    let own = statement["Resource"].clone();
    set(statement, &["Resource"], Value::Sequence(vec![own, extra]));
    assert!(found(&doc, "IntakeFunction: may receive from SurveysQueue"));

    // A consumer without its own role (SAM would attach the managed SQS policy).
    let mut doc = template();
    remove(
        &mut doc,
        &["Resources", "SurveysFunction", "Properties", "Role"],
    );
    assert!(found(
        &doc,
        "SurveysFunction: an SQS consumer without its own Role"
    ));

    // A function with no queue of its own given sqs:ReceiveMessage on everything.
    let mut doc = template();
    let grant: Value =
        serde_yaml_ng::from_str("Effect: Allow\nAction: [sqs:ReceiveMessage]\nResource: '*'")
            .unwrap();
    doc["Resources"]["SweeperFunction"]["Properties"]["Policies"][0]["Statement"]
        .as_sequence_mut()
        .unwrap()
        .push(grant);
    assert!(found(&doc, "SweeperFunction: may receive from *"));

    // No MaximumConcurrency, and no throttles alarm.
    let mut doc = template();
    remove(
        &mut doc,
        &[
            "Resources",
            "IntakeFunction",
            "Properties",
            "Events",
            "Complaints",
            "Properties",
            "ScalingConfig",
        ],
    );
    remove(&mut doc, &["Resources", "IntakeFunctionThrottlesAlarm"]);
    assert!(found(
        &doc,
        "IntakeFunction: SQS event Complaints has no MaximumConcurrency"
    ));
    assert!(found(&doc, "IntakeFunction: no Throttles alarm"));
}

#[test]
fn the_checker_catches_missing_protection_and_optional_alarm_mail() {
    let mut doc = template();
    remove(
        &mut doc,
        &[
            "Resources",
            "TicketsTable",
            "Properties",
            "DeletionProtectionEnabled",
        ],
    );
    set(
        &mut doc,
        &["Parameters", "CorsAllowOrigin", "Default"],
        "*".into(),
    );
    assert!(found(&doc, "TicketsTable: no deletion protection"));
    assert!(found(&doc, "parameter CorsAllowOrigin has a default"));

    let mut doc = template();
    remove(
        &mut doc,
        &[
            "Resources",
            "TicketsTable",
            "Properties",
            "SSESpecification",
            "KMSMasterKeyId",
        ],
    );
    assert!(found(
        &doc,
        "TicketsTable: not encrypted with a customer-managed KMS key"
    ));
}

#[test]
fn the_checker_catches_a_function_missing_from_the_dashboard() {
    let mut doc = template();
    let body =
        &mut doc["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"];
    let without_notifier: String = body
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| !l.contains("${NotifierFunction}"))
        .collect::<Vec<_>>()
        .join("\n");
    *body = without_notifier.into();
    assert!(found(
        &doc,
        "NotifierFunction: its errors are not on the dashboard"
    ));
    assert!(!found(
        &doc,
        "ApiFunction: its errors are not on the dashboard"
    ));
}
