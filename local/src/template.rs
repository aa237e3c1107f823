//! Reads `infra/template.yaml`, the one source of truth for tables, queues and each
//! function's environment, so the local stack cannot drift from what AWS deploys.
//!
//! The template uses long-form intrinsics (`Ref:`, `Fn::GetAtt:`, `Fn::Sub:`), so a plain
//! YAML parser reads it.

use anyhow::{anyhow, bail, Context, Result};
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The template path relative to the workspace root.
pub const TEMPLATE_PATH: &str = "infra/template.yaml";

/// A DynamoDB table declared in the template.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub logical_id: String,
    /// (attribute, `S`/`N`/`B`)
    pub attributes: Vec<(String, String)>,
    /// (attribute, `HASH`/`RANGE`)
    pub key_schema: Vec<(String, String)>,
    pub global_indexes: Vec<IndexSpec>,
    pub ttl_attribute: Option<String>,
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    pub non_key_attributes: Vec<String>,
}

/// An SQS queue declared in the template.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub visibility_timeout: Option<u32>,
    pub message_retention: Option<u32>,
    /// (dead-letter queue's logical id, maxReceiveCount)
    pub redrive: Option<(String, u32)>,
}

/// How an environment variable's value is given.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvValue {
    Literal(String),
    /// `Ref: X` — a table's name or a queue's URL.
    Ref(String),
    /// `Fn::GetAtt: [X, Attr]`.
    GetAtt(String, String),
    /// A `{{resolve:secretsmanager:…:SecretString:KEY}}` dynamic reference: the key.
    Secret(String),
}

/// An HttpApi route of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEvent {
    pub method: String,
    pub path: String,
    /// True when a JWT authorizer guards the route (the API's default authorizer, unless
    /// the event says `Authorizer: NONE`).
    pub authorized: bool,
}

/// A function declared in the template.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub binary: Option<String>,
    pub timeout: Option<u32>,
    pub environment: BTreeMap<String, EnvValue>,
    /// (queue logical id, batch size)
    pub sqs_events: Vec<(String, u32)>,
    pub http_events: Vec<HttpEvent>,
    /// EventBridge schedule expressions.
    pub schedules: Vec<String>,
}

/// What the local stack needs from the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub tables: Vec<TableSpec>,
    pub queues: Vec<QueueSpec>,
    pub functions: Vec<FunctionSpec>,
}

impl Template {
    /// Reads and interprets the template file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("interpreting {}", path.display()))
    }

    /// Interprets template text.
    pub fn parse(text: &str) -> Result<Self> {
        let doc: Value = serde_yaml_ng::from_str(text).context("not valid YAML")?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| anyhow!("no Resources section"))?;
        let globals_env = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping);
        let mut template = Template {
            tables: Vec::new(),
            queues: Vec::new(),
            functions: Vec::new(),
        };
        for (id, resource) in resources {
            let id = id
                .as_str()
                .ok_or_else(|| anyhow!("non-string logical id"))?
                .to_string();
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let props = resource
                .get("Properties")
                .cloned()
                .unwrap_or(Value::Mapping(Mapping::new()));
            match kind {
                "AWS::DynamoDB::Table" => template
                    .tables
                    .push(table(&id, &props).with_context(|| id.clone())?),
                "AWS::SQS::Queue" => template
                    .queues
                    .push(queue(&id, &props).with_context(|| id.clone())?),
                "AWS::Serverless::Function" => template.functions.push(
                    function(&id, resource, &props, globals_env, resources)
                        .with_context(|| id.clone())?,
                ),
                _ => {}
            }
        }
        Ok(template)
    }

    /// A function by logical id.
    pub fn function(&self, logical_id: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    /// A queue by logical id.
    pub fn queue(&self, logical_id: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("missing string {key}"))
}

fn u32_of(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn pairs(list: Option<&Value>, a: &str, b: &str) -> Result<Vec<(String, String)>> {
    list.and_then(Value::as_sequence)
        .ok_or_else(|| anyhow!("missing list with {a}/{b}"))?
        .iter()
        .map(|item| Ok((str_at(item, a)?.to_string(), str_at(item, b)?.to_string())))
        .collect()
}

fn table(id: &str, props: &Value) -> Result<TableSpec> {
    let mut global_indexes = Vec::new();
    if let Some(list) = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
    {
        for gsi in list {
            let projection = gsi
                .get("Projection")
                .ok_or_else(|| anyhow!("index without Projection"))?;
            global_indexes.push(IndexSpec {
                name: str_at(gsi, "IndexName")?.to_string(),
                key_schema: pairs(gsi.get("KeySchema"), "AttributeName", "KeyType")?,
                projection: str_at(projection, "ProjectionType")?.to_string(),
                non_key_attributes: projection
                    .get("NonKeyAttributes")
                    .and_then(Value::as_sequence)
                    .map(|s| {
                        s.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    let ttl_attribute = props
        .get("TimeToLiveSpecification")
        .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
        .and_then(|t| t.get("AttributeName"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(TableSpec {
        logical_id: id.to_string(),
        attributes: pairs(
            props.get("AttributeDefinitions"),
            "AttributeName",
            "AttributeType",
        )?,
        key_schema: pairs(props.get("KeySchema"), "AttributeName", "KeyType")?,
        global_indexes,
        ttl_attribute,
    })
}

fn queue(id: &str, props: &Value) -> Result<QueueSpec> {
    let redrive = match props.get("RedrivePolicy") {
        None => None,
        Some(policy) => {
            let target = policy
                .get("deadLetterTargetArn")
                .ok_or_else(|| anyhow!("RedrivePolicy without deadLetterTargetArn"))?;
            let (dlq, attr) = get_att(target)
                .ok_or_else(|| anyhow!("deadLetterTargetArn must be Fn::GetAtt [Queue, Arn]"))?;
            if attr != "Arn" {
                bail!("deadLetterTargetArn must name the queue's Arn");
            }
            let max = policy
                .get("maxReceiveCount")
                .and_then(u32_of)
                .ok_or_else(|| anyhow!("RedrivePolicy without maxReceiveCount"))?;
            Some((dlq, max))
        }
    };
    Ok(QueueSpec {
        logical_id: id.to_string(),
        visibility_timeout: props.get("VisibilityTimeout").and_then(u32_of),
        message_retention: props.get("MessageRetentionPeriod").and_then(u32_of),
        redrive,
    })
}

fn get_att(v: &Value) -> Option<(String, String)> {
    let list = v.get("Fn::GetAtt")?;
    match list {
        Value::Sequence(s) if s.len() == 2 => {
            Some((s[0].as_str()?.to_string(), s[1].as_str()?.to_string()))
        }
        Value::String(s) => s
            .split_once('.')
            .map(|(a, b)| (a.to_string(), b.to_string())),
        _ => None,
    }
}

fn env_value(v: &Value) -> Result<EnvValue> {
    if let Some(s) = v.as_str() {
        return Ok(EnvValue::Literal(s.to_string()));
    }
    if let Some(n) = u32_of(v) {
        return Ok(EnvValue::Literal(n.to_string()));
    }
    if let Some(r) = v.get("Ref").and_then(Value::as_str) {
        return Ok(EnvValue::Ref(r.to_string()));
    }
    if let Some((id, attr)) = get_att(v) {
        return Ok(EnvValue::GetAtt(id, attr));
    }
    if let Some(sub) = v.get("Fn::Sub").and_then(Value::as_str) {
        if let Some(rest) = sub.strip_prefix("{{resolve:secretsmanager:") {
            let key = rest
                .trim_end_matches("}}")
                .split(':')
                .skip_while(|part| *part != "SecretString")
                .nth(1)
                .ok_or_else(|| anyhow!("secret reference without a SecretString key: {sub}"))?;
            return Ok(EnvValue::Secret(key.to_string()));
        }
        bail!("unsupported Fn::Sub in environment: {sub}");
    }
    bail!("unsupported environment value: {v:?}")
}

/// Whether an HttpApi event is guarded: its own `Auth.Authorizer`, else its API's
/// `Auth.DefaultAuthorizer`.
fn route_is_authorized(ev_props: &Value, resources: &Mapping) -> bool {
    if let Some(own) = ev_props
        .get("Auth")
        .and_then(|a| a.get("Authorizer"))
        .and_then(Value::as_str)
    {
        return own != "NONE";
    }
    ev_props
        .get("ApiId")
        .and_then(|a| a.get("Ref"))
        .and_then(Value::as_str)
        .and_then(|api| resources.get(api))
        .and_then(|api| api.get("Properties"))
        .and_then(|p| p.get("Auth"))
        .and_then(|a| a.get("DefaultAuthorizer"))
        .and_then(Value::as_str)
        .is_some_and(|d| d != "NONE")
}

fn function(
    id: &str,
    resource: &Value,
    props: &Value,
    globals_env: Option<&Mapping>,
    resources: &Mapping,
) -> Result<FunctionSpec> {
    let mut environment = BTreeMap::new();
    let own_env = props
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping);
    for vars in [globals_env, own_env].into_iter().flatten() {
        for (k, v) in vars {
            let k = k
                .as_str()
                .ok_or_else(|| anyhow!("non-string variable name"))?;
            environment.insert(k.to_string(), env_value(v).with_context(|| k.to_string())?);
        }
    }
    let mut sqs_events = Vec::new();
    let mut http_events = Vec::new();
    let mut schedules = Vec::new();
    if let Some(events) = props.get("Events").and_then(Value::as_mapping) {
        for (_, event) in events {
            let ev_props = event.get("Properties").cloned().unwrap_or(Value::Null);
            match event.get("Type").and_then(Value::as_str) {
                Some("SQS") => {
                    let queue = ev_props
                        .get("Queue")
                        .and_then(get_att)
                        .map(|(q, _)| q)
                        .ok_or_else(|| {
                            anyhow!("SQS event Queue must be Fn::GetAtt [Queue, Arn]")
                        })?;
                    let batch = ev_props.get("BatchSize").and_then(u32_of).unwrap_or(10);
                    sqs_events.push((queue, batch));
                }
                Some("HttpApi") => http_events.push(HttpEvent {
                    method: str_at(&ev_props, "Method")?.to_ascii_uppercase(),
                    path: str_at(&ev_props, "Path")?.to_string(),
                    authorized: route_is_authorized(&ev_props, resources),
                }),
                Some("Schedule") | Some("ScheduleV2") => {
                    if let Some(s) = ev_props
                        .get("Schedule")
                        .or(ev_props.get("ScheduleExpression"))
                        .and_then(Value::as_str)
                    {
                        schedules.push(s.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(FunctionSpec {
        logical_id: id.to_string(),
        binary: resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(Value::as_str)
            .map(str::to_string),
        timeout: props.get("Timeout").and_then(u32_of),
        environment,
        sqs_events,
        http_events,
        schedules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
Globals:
  Function:
    Environment:
      Variables:
        RUST_LOG: info
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
  Q:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      RedrivePolicy:
        deadLetterTargetArn: {Fn::GetAtt: [D, Arn]}
        maxReceiveCount: 2
  D:
    Type: AWS::SQS::Queue
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: f}}
    Properties:
      Timeout: 10
      Environment:
        Variables:
          TABLE: {Ref: T}
          KEY: {Fn::Sub: '{{resolve:secretsmanager:${Name}:SecretString:the_key}}'}
      Events:
        Q1: {Type: SQS, Properties: {Queue: {Fn::GetAtt: [Q, Arn]}, BatchSize: 5}}
        H: {Type: HttpApi, Properties: {Method: post, Path: /x, ApiId: {Ref: Api}}}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth: {DefaultAuthorizer: Jwt}
"#;

    #[test]
    fn tables_queues_and_functions_are_read() {
        let t = Template::parse(SAMPLE).unwrap();
        assert_eq!(t.tables[0].ttl_attribute.as_deref(), Some("ttl"));
        assert_eq!(t.queue("Q").unwrap().redrive, Some(("D".into(), 2)));
        let f = t.function("F").unwrap();
        assert_eq!(f.binary.as_deref(), Some("f"));
        assert_eq!(f.environment["TABLE"], EnvValue::Ref("T".into()));
        assert_eq!(f.environment["KEY"], EnvValue::Secret("the_key".into()));
        assert_eq!(f.environment["RUST_LOG"], EnvValue::Literal("info".into()));
        assert_eq!(f.sqs_events, vec![("Q".to_string(), 5)]);
        assert_eq!(
            f.http_events,
            vec![HttpEvent {
                method: "POST".into(),
                path: "/x".into(),
                authorized: true
            }]
        );
    }

    #[test]
    fn a_redrive_without_max_receive_count_is_refused() {
        let bad = SAMPLE.replace("        maxReceiveCount: 2\n", "");
        assert!(Template::parse(&bad).is_err());
    }
}
