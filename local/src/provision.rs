//! Creates the template's tables and queues on the local stack (idempotently) and
//! resolves each function's environment against them.

use crate::template::{EnvValue, FunctionSpec, TableSpec, Template};
use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::{BTreeMap, HashMap};

/// Physical names of what was created.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// Table logical id → table name.
    pub tables: BTreeMap<String, String>,
    /// Queue logical id → (URL, ARN).
    pub queues: BTreeMap<String, (String, String)>,
    /// Template parameter → its local value (the keys secret's name).
    pub parameters: BTreeMap<String, String>,
    /// Cognito user pool and app client logical id → pool id / client id
    /// ([`crate::cognito`]).
    pub cognito: BTreeMap<String, String>,
}

impl Resources {
    /// A queue's URL by logical id.
    pub fn queue_url(&self, logical_id: &str) -> Result<&str> {
        self.queues
            .get(logical_id)
            .map(|(url, _)| url.as_str())
            .ok_or_else(|| anyhow!("no queue {logical_id} in the template"))
    }

    /// A table's name by logical id.
    pub fn table(&self, logical_id: &str) -> Result<&str> {
        self.tables
            .get(logical_id)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("no table {logical_id} in the template"))
    }
}

/// Creates every table and queue of the template, named `<prefix>-<LogicalId>`. Existing
/// ones are kept (their data too), so running twice is safe.
pub async fn provision(
    ddb: &aws_sdk_dynamodb::Client,
    sqs: &aws_sdk_sqs::Client,
    template: &Template,
    prefix: &str,
) -> Result<Resources> {
    let mut resources = Resources::default();
    let existing = ddb
        .list_tables()
        .send()
        .await
        .context("listing tables (is DynamoDB Local running?)")?;
    let existing: Vec<String> = existing.table_names().to_vec();
    for spec in &template.tables {
        let name = format!("{prefix}-{}", spec.logical_id);
        if !existing.contains(&name) {
            create_table(ddb, spec, &name)
                .await
                .with_context(|| format!("creating table {name}"))?;
        } else {
            add_missing_indexes(ddb, spec, &name)
                .await
                .with_context(|| format!("bringing table {name} up to the template"))?;
        }
        resources.tables.insert(spec.logical_id.clone(), name);
    }

    // Dead-letter queues first: a redrive policy names its target's ARN.
    let mut pending: Vec<_> = template.queues.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut still = Vec::new();
        for spec in pending {
            if let Some((dlq, _)) = &spec.redrive {
                if !resources.queues.contains_key(dlq) {
                    still.push(spec);
                    continue;
                }
            }
            let name = format!("{prefix}-{}", spec.logical_id);
            let mut attrs = HashMap::new();
            if let Some(v) = spec.visibility_timeout {
                attrs.insert(QueueAttributeName::VisibilityTimeout, v.to_string());
            }
            if let Some(v) = spec.message_retention {
                attrs.insert(QueueAttributeName::MessageRetentionPeriod, v.to_string());
            }
            if let Some((dlq, max)) = &spec.redrive {
                let arn = &resources.queues[dlq].1;
                attrs.insert(
                    QueueAttributeName::RedrivePolicy,
                    serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max})
                        .to_string(),
                );
            }
            let url = sqs
                .create_queue()
                .queue_name(&name)
                .set_attributes(Some(attrs.clone()))
                .send()
                .await
                .with_context(|| format!("creating queue {name} (is moto running?)"))?
                .queue_url
                .ok_or_else(|| anyhow!("no URL for queue {name}"))?;
            // CreateQueue on an existing queue keeps its old attributes: set them anew.
            if !attrs.is_empty() {
                sqs.set_queue_attributes()
                    .queue_url(&url)
                    .set_attributes(Some(attrs))
                    .send()
                    .await
                    .with_context(|| format!("setting attributes of {name}"))?;
            }
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await?
                .attributes
                .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
                .ok_or_else(|| anyhow!("no ARN for queue {name}"))?;
            resources.queues.insert(spec.logical_id.clone(), (url, arn));
        }
        if still.len() == before {
            bail!("queues redrive to queues that are not in the template");
        }
        pending = still;
    }
    Ok(resources)
}

fn scalar(t: &str) -> Result<ScalarAttributeType> {
    Ok(match t {
        "S" => ScalarAttributeType::S,
        "N" => ScalarAttributeType::N,
        "B" => ScalarAttributeType::B,
        other => bail!("unknown attribute type {other}"),
    })
}

fn key_schema(keys: &[(String, String)]) -> Result<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|(name, kind)| {
            let kind = match kind.as_str() {
                "HASH" => KeyType::Hash,
                "RANGE" => KeyType::Range,
                other => bail!("unknown key type {other}"),
            };
            Ok(KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()?)
        })
        .collect()
}

fn index_definition(index: &crate::template::IndexSpec) -> Result<GlobalSecondaryIndex> {
    let projection = Projection::builder()
        .projection_type(ProjectionType::from(index.projection.as_str()))
        .set_non_key_attributes(if index.non_key_attributes.is_empty() {
            None
        } else {
            Some(index.non_key_attributes.clone())
        })
        .build();
    Ok(GlobalSecondaryIndex::builder()
        .index_name(&index.name)
        .set_key_schema(Some(key_schema(&index.key_schema)?))
        .projection(projection)
        .build()?)
}

fn attribute_definitions(spec: &TableSpec) -> Result<Vec<AttributeDefinition>> {
    spec.attributes
        .iter()
        .map(|(attr, kind)| {
            Ok(AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(scalar(kind)?)
                .build()?)
        })
        .collect()
}

/// A table kept from an earlier run (its data survives in `.local/data`) gets the indexes
/// the template has added since, one at a time as DynamoDB requires.
async fn add_missing_indexes(
    ddb: &aws_sdk_dynamodb::Client,
    spec: &TableSpec,
    name: &str,
) -> Result<()> {
    let table = ddb
        .describe_table()
        .table_name(name)
        .send()
        .await?
        .table
        .context("no table description")?;
    let existing: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name().map(str::to_string))
        .collect();
    for index in spec
        .global_indexes
        .iter()
        .filter(|i| !existing.contains(&i.name))
    {
        tracing::info!(table = name, index = %index.name, "adding an index the template declares");
        ddb.update_table()
            .table_name(name)
            .set_attribute_definitions(Some(attribute_definitions(spec)?))
            .global_secondary_index_updates(
                aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                    .create(
                        aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                            .index_name(&index.name)
                            .set_key_schema(Some(key_schema(&index.key_schema)?))
                            .projection(index_definition(index)?.projection.context("projection")?)
                            .build()?,
                    )
                    .build(),
            )
            .send()
            .await?;
    }
    Ok(())
}

async fn create_table(ddb: &aws_sdk_dynamodb::Client, spec: &TableSpec, name: &str) -> Result<()> {
    let mut request = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&spec.key_schema)?));
    request = request.set_attribute_definitions(Some(attribute_definitions(spec)?));
    for index in &spec.global_indexes {
        request = request.global_secondary_indexes(index_definition(index)?);
    }
    request.send().await?;
    if let Some(attr) = &spec.ttl_attribute {
        ddb.update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .context("enabling TTL")?;
    }
    Ok(())
}

/// A function's environment with every `Ref`, `GetAtt` and secret resolved locally.
/// `parameters` holds the local values of the template's parameters that functions
/// reference (`Ref: NotificationsFromAddress` …).
pub fn resolve_environment(
    function: &FunctionSpec,
    resources: &Resources,
    secrets: &BTreeMap<String, String>,
    parameters: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    function
        .environment
        .iter()
        .map(|(name, value)| {
            let resolved = match value {
                EnvValue::Literal(s) => s.clone(),
                EnvValue::Ref(id) => match (resources.tables.get(id), resources.queues.get(id)) {
                    (Some(table), _) => table.clone(),
                    (_, Some((url, _))) => url.clone(),
                    _ => match (
                        resources.parameters.get(id).or_else(|| parameters.get(id)),
                        resources.cognito.get(id),
                    ) {
                        (Some(value), _) => value.clone(),
                        (_, Some(physical)) => physical.clone(),
                        _ => bail!(
                            "{name}: Ref to {id}, which is not a table, queue, user pool, app client or parameter with a local value"
                        ),
                    },
                },
                EnvValue::GetAtt(id, attr) => match (resources.queues.get(id), attr.as_str()) {
                    (Some((_, arn)), "Arn") => arn.clone(),
                    (Some((url, _)), "QueueName") => {
                        url.rsplit('/').next().unwrap_or_default().to_string()
                    }
                    _ => bail!("{name}: unsupported Fn::GetAtt {id}.{attr}"),
                },
                EnvValue::Secret(key) => secrets
                    .get(key)
                    .cloned()
                    .ok_or_else(|| anyhow!("{name}: no local value for secret key {key}"))?,
            };
            Ok((name.clone(), resolved))
        })
        .collect()
}

/// Verifies the notifier's sender with moto's SES (SES refuses to send from an
/// unverified identity, in AWS as in moto), so e-mail works locally as deployed.
pub async fn verify_sender(ses: &aws_sdk_sesv2::Client, from: &str) -> Result<()> {
    // `Name <address>` or a bare address.
    let address = from
        .rsplit_once('<')
        .map(|(_, rest)| rest.trim_end_matches('>'))
        .unwrap_or(from)
        .trim();
    let existing = ses
        .list_email_identities()
        .send()
        .await
        .context("listing SES identities (is moto running?)")?;
    if existing
        .email_identities()
        .iter()
        .any(|i| i.identity_name() == Some(address))
    {
        return Ok(());
    }
    ses.create_email_identity()
        .email_identity(address)
        .send()
        .await
        .with_context(|| format!("verifying the SES sender {address}"))?;
    Ok(())
}

/// The template parameter that names the keys secret (`KEYS_SECRET_ID` in the functions).
pub const KEYS_SECRET_PARAMETER: &str = "KeysSecretName";

/// Creates the keys secret `<prefix>-keys` in the local Secrets Manager (moto) unless it
/// exists, so the functions read their keys at cold start as they do in AWS. Each
/// rotating key is a ring whose current key is the given development value (with a
/// `next` derived from it); the borrower key is the plain value. An existing secret is
/// kept as it is (it may have been rotated). Returns the secret's name.
pub async fn provision_keys_secret(
    sm: &aws_sdk_secretsmanager::Client,
    prefix: &str,
    development_keys: &BTreeMap<String, String>,
) -> Result<String> {
    use redress_aws::secrets::{create_if_missing, ROTATING_FIELDS};
    use redress_domain::keyring::KeyRing;
    let name = format!("{prefix}-keys");
    let mut document = serde_json::Map::new();
    for (field, value) in development_keys {
        let value = if ROTATING_FIELDS.contains(&field.as_str()) {
            KeyRing::new(value.clone(), format!("{value}-next")).to_json()
        } else {
            serde_json::Value::String(value.clone())
        };
        document.insert(field.clone(), value);
    }
    create_if_missing(sm, &name, &document)
        .await
        .with_context(|| {
            format!("creating the keys secret {name} (is moto running, and AWS_ENDPOINT_URL set?)")
        })?;
    Ok(name)
}
