//! The whole pipeline on one machine: resources from the template, the api behind a
//! local HTTP gateway, the intake function behind a local SQS poller, the sweeper on a
//! timer (EventBridge's schedule, locally).

use crate::auth::GatewayAuthorizer;
use crate::cognito::{self, CognitoSpec};
use crate::http::{self, HttpHandler, Route};
use crate::poller::{self, PollerConfig, SqsHandler};
use crate::provision::{
    provision, provision_keys_secret, resolve_environment, Resources, KEYS_SECRET_PARAMETER,
};
use crate::template::{Template, TEMPLATE_PATH};
use anyhow::{anyhow, Context, Result};
use redress_api::ApiDeps;
use redress_aws::cognito::{CognitoAdmin, CognitoSignIn};
use redress_aws::jwks::{PoolSettings, TokenVerifier};
use redress_domain::config::DomainConfig;
use redress_domain::signin::{SignInStep, StaffSignIn, Tokens};
use redress_intake::IntakeDeps;
use redress_surveys::SurveysDeps;
use redress_sweeper::SweeperDeps;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use redress_sweeper::SweepReport;

/// Logical ids in the template that the runner wires together.
pub const API_FUNCTION: &str = "ApiFunction";
pub const INTAKE_FUNCTION: &str = "IntakeFunction";
pub const SURVEYS_FUNCTION: &str = "SurveysFunction";
pub const SWEEPER_FUNCTION: &str = "SweeperFunction";
pub const NOTIFIER_FUNCTION: &str = "NotifierFunction";

/// The notifier's dependencies as the runner builds them.
pub type LocalNotifierDeps =
    redress_notifier::NotifierDeps<redress_aws::DynamoStore, redress_notifier::senders::AwsSenders>;

/// The sweeper's dependencies as the runner builds them.
pub type LocalSweeperDeps = SweeperDeps<redress_aws::DynamoStore, redress_aws::SqsQueue>;

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
        (
            "survey_token_key".to_string(),
            "local-development-survey-key".to_string(),
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
    /// Run the sweeper this often (the template's schedule is every 5 minutes; locally
    /// more often shows alerts sooner). `None`: never on its own — tests call
    /// [`LocalPipeline::sweep_now`].
    pub sweep_every: Option<Duration>,
    /// Local values of the template parameters functions reference. `PublicBaseUrl`
    /// defaults to the local server's address.
    pub parameters: BTreeMap<String, String>,
    /// Run the notifier on the notifications queue (SES and SNS are moto's). Off, the
    /// messages stay on the queue for a test to read.
    pub deliver_notifications: bool,
    /// Poll the complaints queue into intake. Off, the messages wait on the queue (a
    /// test that loses one on purpose runs intake itself with [`run_intake`]).
    pub run_intake: bool,
    /// Poll the queues into their functions (intake, surveys, notifier). Off, only the
    /// api is served: the load-and-fault benchmark runs intake in a process of its own,
    /// so that it can kill it.
    pub consume_queues: bool,
}

/// Lambda's default Timeout, for a function whose template entry names none.
const DEFAULT_TIMEOUT_SECS: u32 = 3;

/// How long an intake invocation may run: its `Timeout` in the template.
fn intake_timeout(function: &crate::template::FunctionSpec) -> chrono::Duration {
    chrono::Duration::seconds(i64::from(function.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS)))
}

/// One intake invocation as Lambda runs it: a deadline `timeout` from now, and a failed
/// invocation (a configuration fault) leaves every message of the batch to SQS.
pub async fn run_intake(
    deps: &IntakeDeps<redress_aws::DynamoStore, redress_aws::SqsQueue>,
    event: aws_lambda_events::event::sqs::SqsEvent,
    timeout: chrono::Duration,
) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let invocation = redress_intake::Invocation::until(chrono::Utc::now() + timeout);
    match redress_intake::handle_within(deps, &event, &invocation).await {
        Ok(report) => report.response,
        Err(fault) => {
            tracing::error!(error = %fault, "intake invocation failed");
            redress_intake::every_message_failed(&event)
        }
    }
}

/// Local values of the notifier's template parameters.
pub fn development_parameters() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "NotificationsFromAddress".to_string(),
            "notifications@redress.example".to_string(),
        ),
        (
            "NotificationsSesIdentity".to_string(),
            "redress.example".to_string(),
        ),
        ("SmsSenderId".to_string(), String::new()),
        // The template's default: twice a dead-letter queue's 14 days.
        (
            "AcceptedRecordDays".to_string(),
            redress_aws::accepted::DEFAULT_ACCEPTED_DAYS.to_string(),
        ),
        // The template's default, seven years.
        (
            "RetentionDays".to_string(),
            redress_aws::store::DEFAULT_RETENTION_DAYS.to_string(),
        ),
    ])
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
            sweep_every: None,
            parameters: development_parameters(),
            deliver_notifications: true,
            run_intake: true,
            consume_queues: true,
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
    pub api: Arc<ApiDeps<redress_aws::DynamoStore, redress_aws::SqsQueues>>,
    pub sweeper: Arc<LocalSweeperDeps>,
    /// SES and SNS clients on the local stack (moto).
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
    /// moto's own address (its `/moto-api/` shows what SES and SNS "sent").
    pub moto_url: Option<String>,
    /// The staff user pool on moto.
    pub staff: LocalStaff,
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
        let mut resources = provision(&ddb, &sqs, &template, &options.prefix).await?;
        let sm = aws_sdk_secretsmanager::Client::new(&aws);
        let keys_secret = provision_keys_secret(&sm, &options.prefix, &options.secrets).await?;
        resources
            .parameters
            .insert(KEYS_SECRET_PARAMETER.to_string(), keys_secret);
        let staff_pool = provision_staff_pool(&aws, &options).await?;
        resources.cognito.extend(staff_pool.clone());
        let config =
            Arc::new(DomainConfig::from_env().context("loading the domain configuration")?);
        redress_aws::env::warn_if_calendars_run_out(&config, chrono::Utc::now());

        let listener = TcpListener::bind(options.http_addr)
            .await
            .with_context(|| format!("binding {}", options.http_addr))?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let mut parameters = options.parameters.clone();
        parameters
            .entry("PublicBaseUrl".to_string())
            .or_insert_with(|| base_url.clone());
        let mut environments = BTreeMap::new();
        for f in &template.functions {
            environments.insert(
                f.logical_id.clone(),
                resolve_environment(f, &resources, &options.secrets, &parameters)?,
            );
        }
        // moto serves SES and SNS on the same port as SQS.
        let moto_url = std::env::var("AWS_ENDPOINT_URL_SQS").ok();
        let endpoint = |service_var: &str| std::env::var(service_var).ok().or(moto_url.clone());
        let mut ses_config = aws_sdk_sesv2::config::Builder::from(&aws);
        if let Some(url) = endpoint("AWS_ENDPOINT_URL_SESV2") {
            ses_config = ses_config.endpoint_url(url);
        }
        let ses = aws_sdk_sesv2::Client::from_conf(ses_config.build());
        let mut sns_config = aws_sdk_sns::config::Builder::from(&aws);
        if let Some(url) = endpoint("AWS_ENDPOINT_URL_SNS") {
            sns_config = sns_config.endpoint_url(url);
        }
        let sns = aws_sdk_sns::Client::from_conf(sns_config.build());
        // Each function's keys from the secret its KEYS_SECRET_ID names, read once here
        // as a cold start reads them; the map then carries them as the variables
        // `from_env` reads, so tests and benchmarks can build handlers from it.
        for environment in environments.values_mut() {
            redress_aws::secrets::resolve_keys(environment, &aws).await?;
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
        let staff = LocalStaff::new(&aws, &environments[API_FUNCTION])?;
        let intake = Arc::new(IntakeDeps::from_env(
            &environments[INTAKE_FUNCTION],
            &aws,
            Arc::clone(&config),
        )?);
        let surveys = Arc::new(SurveysDeps::from_env(
            &environments[SURVEYS_FUNCTION],
            &aws,
            Arc::clone(&config),
        )?);
        let sweeper = Arc::new(SweeperDeps::from_env(
            &environments[SWEEPER_FUNCTION],
            &aws,
            Arc::clone(&config),
        )?);

        let notifier_config = Arc::new(
            redress_notifier::config::NotifyConfig::from_env(&config)
                .context("loading config/notifications.toml")?,
        );
        let mut notifier = LocalNotifierDeps::from_env(
            &environments[NOTIFIER_FUNCTION],
            &aws,
            &config,
            notifier_config,
        )?;
        notifier.sender.ses = ses.clone();
        notifier.sender.sns = sns.clone();
        if options.deliver_notifications {
            crate::provision::verify_sender(&ses, &notifier.sender.from).await?;
        }
        let notifier = Arc::new(notifier);

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let api_for_http = Arc::clone(&api);
        let handler: HttpHandler = Arc::new(move |request| {
            let deps = Arc::clone(&api_for_http);
            Box::pin(async move { redress_api::handle(&deps, request).await })
        });
        let routes = Route::from_function(function(API_FUNCTION)?);
        let authorizer = GatewayAuthorizer::new(Arc::new(TokenVerifier::new(staff.pool.clone())));
        let rx = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = http::serve(listener, routes, authorizer, handler, rx).await {
                tracing::error!(error = format!("{e:#}"), "HTTP server stopped");
            }
        }));

        // Each batch gets the deadline Lambda would give it: the function's Timeout.
        let intake_timeout = intake_timeout(function(INTAKE_FUNCTION)?);
        let intake_handler: SqsHandler = Arc::new(move |event| {
            let deps = Arc::clone(&intake);
            Box::pin(async move { run_intake(&deps, event, intake_timeout).await })
        });
        let surveys_handler: SqsHandler = Arc::new(move |event| {
            let deps = Arc::clone(&surveys);
            Box::pin(async move { redress_surveys::handle(&deps, event).await })
        });
        let notifier_for_poller = Arc::clone(&notifier);
        let notifier_handler: SqsHandler = Arc::new(move |event| {
            let deps = Arc::clone(&notifier_for_poller);
            Box::pin(async move { redress_notifier::handle(&deps, event).await })
        });
        let mut consumers = vec![(SURVEYS_FUNCTION, surveys_handler)];
        if options.run_intake {
            consumers.push((INTAKE_FUNCTION, intake_handler));
        }
        if options.deliver_notifications {
            consumers.push((NOTIFIER_FUNCTION, notifier_handler));
        }
        if !options.consume_queues {
            consumers.clear();
        }
        // Each queue consumer of the template gets a poller, as an event source mapping.
        for (function_id, handler) in consumers {
            for (queue_id, batch_size) in &function(function_id)?.sqs_events {
                let (url, arn) = resources.queues.get(queue_id).cloned().ok_or_else(|| {
                    anyhow!("{function_id} reads {queue_id}, which is not a queue of the template")
                })?;
                let config = PollerConfig {
                    queue_url: url,
                    queue_arn: arn,
                    region: options.region.clone(),
                    batch_size: (*batch_size).clamp(1, 10) as i32,
                    wait: Duration::from_secs(1),
                    retry_after: options.retry_after,
                };
                tasks.push(tokio::spawn(poller::run(
                    sqs.clone(),
                    config,
                    Arc::clone(&handler),
                    shutdown_rx.clone(),
                )));
            }
        }

        if let Some(every) = options.sweep_every {
            if function(SWEEPER_FUNCTION)?.schedules.is_empty() {
                tracing::warn!("SweeperFunction has no schedule in the template; sweeping anyway");
            }
            tasks.push(tokio::spawn(sweep_timer(
                Arc::clone(&sweeper),
                every,
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
            sweeper,
            ses,
            sns,
            moto_url,
            staff,
            shutdown,
            tasks,
        })
    }

    /// Runs one sweep now, as a scheduled invocation would (with `now` as the clock).
    pub async fn sweep_now(&self, now: chrono::DateTime<chrono::Utc>) -> Result<SweepReport> {
        redress_sweeper::handle(&self.sweeper, now)
            .await
            .context("sweeping due tickets")
    }

    /// Stops serving and polling and waits for the tasks to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Creates the template's user pool, app client and groups on moto; their logical ids →
/// physical ids. Refuses to run without a Cognito endpoint override: the SDK would
/// otherwise reach for the real Cognito.
async fn provision_staff_pool(
    aws: &redress_aws::SdkConfig,
    options: &LocalOptions,
) -> Result<BTreeMap<String, String>> {
    if PoolSettings::endpoint_from_env().is_none() {
        anyhow::bail!(
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER is not set: point it at moto \
             (`eval \"$(bash scripts/stack.sh start)\"` exports it)"
        );
    }
    let text = std::fs::read_to_string(options.root.join(TEMPLATE_PATH))?;
    let spec = CognitoSpec::parse(&text)?;
    let client = aws_sdk_cognitoidentityprovider::Client::new(aws);
    let mut ids = BTreeMap::new();
    for pool in cognito::provision(&client, &spec, &options.prefix).await? {
        ids.insert(pool.logical_id, pool.pool_id);
        ids.extend(pool.clients);
    }
    Ok(ids)
}

/// The api's user pool on moto, with the administrator's and the sign-in operations:
/// demo users, and tokens for tests and `redress token`.
#[derive(Debug, Clone)]
pub struct LocalStaff {
    /// The pool and client the api trusts.
    pub pool: PoolSettings,
    pub pool_id: String,
    pub client_id: String,
    pub admin: CognitoAdmin,
    pub sign_in: CognitoSignIn,
}

impl LocalStaff {
    /// For the pool and client of the api function's environment.
    pub fn new(aws: &redress_aws::SdkConfig, api_env: &BTreeMap<String, String>) -> Result<Self> {
        let var = |name: &str| {
            api_env
                .get(name)
                .cloned()
                .ok_or_else(|| anyhow!("the api function has no {name}"))
        };
        let (pool_id, client_id) = (var("USER_POOL_ID")?, var("USER_POOL_CLIENT_ID")?);
        let region = aws
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        Ok(LocalStaff {
            pool: PoolSettings::new(
                &region,
                &pool_id,
                &client_id,
                PoolSettings::endpoint_from_env().as_deref(),
            ),
            admin: CognitoAdmin::from_config(aws, &pool_id),
            sign_in: CognitoSignIn::from_config(aws, &client_id),
            pool_id,
            client_id,
        })
    }

    /// Creates `user` (if new) with a permanent `password` and exactly `groups`.
    pub async fn add_user(&self, user: &str, password: &str, groups: &[String]) -> Result<()> {
        self.admin.create_user(user, None, password, true).await?;
        self.admin.set_groups(user, groups).await
    }

    /// Signs `user` in with `password` (no MFA) and returns their tokens.
    pub async fn tokens(&self, user: &str, password: &str) -> Result<Tokens> {
        match self
            .sign_in
            .sign_in(user, password)
            .await
            .map_err(|e| anyhow!("signing {user} in: {e}"))?
        {
            SignInStep::SignedIn(tokens) => Ok(tokens),
            SignInStep::Challenge { challenge, .. } => {
                anyhow::bail!("signing {user} in: the pool asks for {challenge:?}")
            }
        }
    }

    /// An access token for `user` in `groups`: the user is created with a generated
    /// password if new, given exactly those groups, and signed in through Cognito.
    pub async fn token(&self, user: &str, groups: &[String]) -> Result<String> {
        let password = generated_password(user);
        self.add_user(user, &password, groups).await?;
        Ok(self.tokens(user, &password).await?.access_token)
    }

    /// Creates the demo users of `path` (`demo/users.toml`) that do not exist yet.
    pub async fn load_demo_users(&self, path: &std::path::Path) -> Result<Vec<cognito::DemoUser>> {
        let users = cognito::demo_users(path)?;
        cognito::load_demo_users(&self.admin, &self.sign_in, &users).await?;
        Ok(users)
    }
}

/// A password that meets the pool's policy, derived from the user name and the pool's
/// client (local users only: tests, `redress token`).
fn generated_password(user: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("redress-local-password:{user}").as_bytes());
    format!("Local-{}-Pw1", hex::encode(&digest[..8]))
}

/// Sweeps every `every` until `shutdown` turns true. A failed run is logged and the next
/// one tries again, as the next scheduled invocation would.
async fn sweep_timer(
    deps: Arc<LocalSweeperDeps>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    // A slow run delays the next one instead of causing a burst.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let run = redress_sweeper::handle(&deps, chrono::Utc::now());
        tokio::select! {
            result = run => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "sweep failed; the next one retries");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
