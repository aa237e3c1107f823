//! The whole pipeline on one machine: resources from the template, the api behind a
//! local HTTP gateway, the intake function behind a local SQS poller.

use crate::http::{self, HttpHandler, Route};
use crate::poller::{self, PollerConfig, SqsHandler};
use crate::provision::{provision, resolve_environment, Resources};
use crate::template::{Template, TEMPLATE_PATH};
use anyhow::{anyhow, Context, Result};
use redress_api::ApiDeps;
use redress_domain::config::DomainConfig;
use redress_intake::IntakeDeps;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Logical ids in the template that the runner wires together.
pub const API_FUNCTION: &str = "ApiFunction";
pub const INTAKE_FUNCTION: &str = "IntakeFunction";

/// Development-only keys for the secrets the template resolves from Secrets Manager.
/// They protect nothing outside this machine; AWS deployments use the real secret.
pub fn development_secrets() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "status_hmac_key".to_string(),
            "local-development-status-key".to_string(),
        ),
        (
            "borrower_hmac_key".to_string(),
            "local-development-borrower-key".to_string(),
        ),
    ])
}

/// How to run the pipeline.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Workspace root (holds `infra/template.yaml`).
    pub root: PathBuf,
    /// Table and queue names are `<prefix>-<LogicalId>`.
    pub prefix: String,
    /// Where to serve HTTP; port 0 picks a free one.
    pub http_addr: SocketAddr,
    /// See [`PollerConfig::retry_after`].
    pub retry_after: Option<Duration>,
    pub secrets: BTreeMap<String, String>,
    pub region: String,
}

impl LocalOptions {
    /// Defaults for a workspace at `root`.
    pub fn new(root: impl Into<PathBuf>, prefix: impl Into<String>) -> Self {
        Self {
            root: root.into(),
            prefix: prefix.into(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            retry_after: None,
            secrets: development_secrets(),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        }
    }
}

/// A running pipeline. Dropping it without [`LocalPipeline::stop`] leaves tasks running
/// until the runtime ends.
pub struct LocalPipeline {
    pub base_url: String,
    pub resources: Resources,
    pub template: Template,
    /// Each function's environment, resolved against the local resources.
    pub environments: BTreeMap<String, BTreeMap<String, String>>,
    pub ddb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub api: Arc<ApiDeps<redress_aws::DynamoStore, redress_aws::SqsComplaintQueue>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl LocalPipeline {
    /// Provisions the resources and starts serving and polling.
    pub async fn start(options: LocalOptions) -> Result<Self> {
        let template = Template::load(&options.root.join(TEMPLATE_PATH))?;
        let aws = redress_aws::load_aws_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&aws);
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let resources = provision(&ddb, &sqs, &template, &options.prefix).await?;
        let config =
            Arc::new(DomainConfig::from_env().context("loading the domain configuration")?);

        let mut environments = BTreeMap::new();
        for f in &template.functions {
            environments.insert(
                f.logical_id.clone(),
                resolve_environment(f, &resources, &options.secrets)?,
            );
        }
        let function = |id: &str| {
            template
                .function(id)
                .ok_or_else(|| anyhow!("{id} is not in the template"))
        };

        let api = Arc::new(ApiDeps::from_env(
            &environments[API_FUNCTION],
            &aws,
            Arc::clone(&config),
        )?);
        let intake = Arc::new(IntakeDeps::from_env(
            &environments[INTAKE_FUNCTION],
            &aws,
            Arc::clone(&config),
        )?);

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();

        let listener = TcpListener::bind(options.http_addr)
            .await
            .with_context(|| format!("binding {}", options.http_addr))?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let api_for_http = Arc::clone(&api);
        let handler: HttpHandler = Arc::new(move |request| {
            let deps = Arc::clone(&api_for_http);
            Box::pin(async move { redress_api::handle(&deps, request).await })
        });
        let routes = Route::from_function(function(API_FUNCTION)?);
        let rx = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = http::serve(listener, routes, handler, rx).await {
                tracing::error!(error = format!("{e:#}"), "HTTP server stopped");
            }
        }));

        for (queue_id, batch_size) in &function(INTAKE_FUNCTION)?.sqs_events {
            let (url, arn) = resources.queues.get(queue_id).cloned().ok_or_else(|| {
                anyhow!("intake reads {queue_id}, which is not a queue of the template")
            })?;
            let config = PollerConfig {
                queue_url: url,
                queue_arn: arn,
                region: options.region.clone(),
                batch_size: (*batch_size).clamp(1, 10) as i32,
                wait: Duration::from_secs(1),
                retry_after: options.retry_after,
            };
            let deps = Arc::clone(&intake);
            let handler: SqsHandler = Arc::new(move |event| {
                let deps = Arc::clone(&deps);
                Box::pin(async move { redress_intake::handle(&deps, event).await })
            });
            tasks.push(tokio::spawn(poller::run(
                sqs.clone(),
                config,
                handler,
                shutdown_rx.clone(),
            )));
        }

        Ok(Self {
            base_url,
            resources,
            template,
            environments,
            ddb,
            sqs,
            api,
            shutdown,
            tasks,
        })
    }

    /// Stops serving and polling and waits for the tasks to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
