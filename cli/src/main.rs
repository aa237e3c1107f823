//! `redress`: classify complaints offline, check the configuration, and inspect and
//! redrive the complaints dead-letter queue.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use redress_cli::{classify, config, corrections, dlq, keys, reconcile, train};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "redress", version, about = "Redress complaint pipeline tools", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify, route and set deadlines for complaints read as JSON lines on stdin.
    ///
    /// Each input line is a complaint in the API's shape; only "text" is required, e.g.
    /// {"text": "催收电话一天打二十多次"}. Each output line (stdout, same order) is
    /// {"line", "category" (the most likely, even when the team is triage), "confidence",
    /// "candidates" [{category, probability}], "evidence" [terms], "model_category",
    /// "triage", "text_truncated", "category_label", "category_source", "signals", "team",
    /// "priority", "sla_policy", "deadlines", "jrt_0169", "cfpb", "reason"}, or
    /// {"line", "error", "fields"} for a line that is not valid input. Blank lines are
    /// skipped. A summary goes to stderr. Exits 0 unless stdin or stdout fails.
    ///
    /// Deadlines run from the complaint's "submitted_at" if given, else from now.
    ///
    /// Example: redress classify --field complaint < demo/complaints.jsonl
    Classify(ClassifyArgs),
    /// Inspect and redrive the complaints dead-letter queue.
    Dlq(DlqArgs),
    /// Check the domain configuration (classification, routing, SLA policies).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Sign a staff member in through the Cognito user pool and print their access token
    /// (for scripts and curl; people use the sign-in page).
    ///
    /// On the local stack a demo user needs no password (it is read from
    /// demo/users.toml). Example:
    ///   TOKEN=$(redress token --user demo-billing)
    ///   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/tickets
    Token(TokenArgs),
    /// Staff accounts in the Cognito user pool (administrators; Cognito admin APIs).
    User {
        #[command(flatten)]
        pool: PoolArgs,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print a management report (satisfaction, repeat-complaints, deadlines, overview)
    /// as a table, from the same counters as the api's /reports routes.
    ///
    /// Example: redress report --from 2026-11-01 --to 2026-11-30 --by team
    Report(ReportArgs),
    /// Rebuild the text model from the training files (deterministic: fixed seed).
    ///
    /// Reads complaints_en.csv and complaints_zh.csv from --data, derives categories
    /// through config/model/labels.toml, keeps a seeded evaluation split apart, trains,
    /// and writes the model with its data hashes and evaluation figures.
    ///
    /// Example: redress train --out config/model/classifier.model
    Train(TrainArgs),
    /// Print per-category recall and precision, macro recall and the confusion table of
    /// the model (and of the whole classifier) on the evaluation split, per language.
    Evaluate(EvaluateArgs),
    /// Category corrections made by teams on transfer, for the next training run.
    Corrections {
        #[command(subcommand)]
        command: CorrectionsCommand,
    },
    /// List what the notifier delivered: when, sent or skipped (and why), e-mail or SMS,
    /// to whom (masked), which template, which ticket. No message bodies unless
    /// --bodies (local stack only: read from moto's record of SES and SNS).
    ///
    /// Example: redress outbox --days 2 --bodies
    Outbox(OutboxArgs),
    /// List accepted complaints that still have no ticket after --older-than, and with
    /// --requeue put their messages back on the complaints queue.
    ///
    /// Reads the api's record of every accepted complaint (kept AcceptedRecordDays, 30 by
    /// default) and checks each against its ticket. Requeueing is always safe: intake is
    /// idempotent. Prints references and times only.
    ///
    /// Example: redress reconcile --older-than 15m --requeue
    Reconcile(ReconcileArgs),
    /// Create, rotate and show the signing keys in Secrets Manager (docs/deploy.md).
    ///
    /// Example: redress keys rotate --secret-id redress/keys
    Keys(KeysArgs),
    /// Set or clear a ticket's legal hold: a held ticket and its history never expire.
    /// Recorded as an audit event (who, when, why) in the ticket's history.
    ///
    /// Example: redress hold set RD-261123-7KQ2M9XA --by alice --reason "court order 2026-17"
    Hold {
        #[command(subcommand)]
        command: HoldCommand,
        /// The tickets table.
        #[arg(
            long,
            env = "TICKETS_TABLE",
            default_value = "redress-TicketsTable",
            global = true
        )]
        table: String,
        /// Days records are kept after closure (the stack's RetentionDays).
        #[arg(long, env = "RETENTION_DAYS", default_value_t = 2555, global = true)]
        retention_days: i64,
    },
}

#[derive(Subcommand)]
enum HoldCommand {
    /// Put the ticket under legal hold (its expiry is removed).
    Set(HoldArgs),
    /// Lift the hold (retention counts from closure again).
    Clear(HoldArgs),
}

#[derive(Args)]
struct HoldArgs {
    /// The ticket's reference.
    reference: String,
    /// Who orders it (recorded as the event's actor).
    #[arg(long)]
    by: String,
    /// Why (recorded in the event; no personal data).
    #[arg(long)]
    reason: String,
}

#[derive(Args)]
struct OutboxArgs {
    /// How many UTC days back to list, today included.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=366))]
    days: u32,
    /// Show each message's text (subject and body, or the SMS) from moto's record.
    #[arg(long)]
    bodies: bool,
    /// Where moto listens (its /moto-api/ has the messages).
    #[arg(long, env = "AWS_ENDPOINT_URL_SQS", value_name = "URL")]
    moto_url: Option<String>,
    /// The tickets table.
    #[arg(long, env = "TICKETS_TABLE", default_value = "redress-TicketsTable")]
    table: String,
}

#[derive(Args)]
struct ReconcileArgs {
    /// Only complaints accepted at least this long ago (s, m, h or d: 15m, 2h, 3d);
    /// younger ones may simply still be on their way through intake.
    #[arg(long, default_value = "15m", value_parser = reconcile::parse_age)]
    older_than: chrono::Duration,
    /// How far back to look (the records expire after AcceptedRecordDays anyway).
    #[arg(long, default_value = "30d", value_parser = reconcile::parse_age)]
    within: chrono::Duration,
    /// Put each listed complaint's message back on the complaints queue.
    #[arg(long)]
    requeue: bool,
    /// The complaints queue (needed with --requeue).
    #[arg(long, env = "COMPLAINTS_QUEUE_URL", value_name = "URL")]
    queue_url: Option<String>,
    /// The tickets table.
    #[arg(long, env = "TICKETS_TABLE", default_value = "redress-TicketsTable")]
    table: String,
    /// One JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum CorrectionsCommand {
    /// Write every correction as a JSON line to stdout: reference, time, language, the
    /// category before and after, how the old one was decided, the model's pick and the
    /// teams. No complaint text unless --with-text (it is personal data).
    ///
    /// Example: redress corrections export > corrections.jsonl
    Export {
        /// Include each complaint's text (for training; handle the file as personal data)
        #[arg(long)]
        with_text: bool,
        /// The tickets table
        #[arg(long, env = "TICKETS_TABLE", default_value = "redress-TicketsTable")]
        table: String,
    },
}

#[derive(Args)]
struct TrainArgs {
    /// Folder with complaints_en.csv and complaints_zh.csv [default: REDRESS_TRAINING_DATA,
    /// else ../shared/data/training next to the repository]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Label mapping [default: the bundled config/model/labels.toml]
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Where to write the model
    #[arg(
        long,
        value_name = "FILE",
        default_value = "config/model/classifier.model"
    )]
    out: PathBuf,
    /// Version recorded in the model
    #[arg(long, default_value = "1")]
    model_version: String,
    /// Seed of the split and the shuffles
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Args)]
struct EvaluateArgs {
    /// Folder with the training files (as for train)
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Label mapping [default: the bundled one]
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Model file [default: the bundled model]
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigDir,
}

#[derive(Args)]
struct KeysArgs {
    /// The keys secret (the stack's KeysSecretName parameter).
    #[arg(
        long,
        env = "KEYS_SECRET_ID",
        default_value = "redress/keys",
        global = true
    )]
    secret_id: String,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create the secret with fresh random keys (an existing secret is left alone).
    Init,
    /// Sign with new keys from now on; keep the old ones accepted for a grace period.
    Rotate {
        /// Which keys: status (status secrets and CSRF tokens), survey (survey links),
        /// or all.
        #[arg(long, default_value = "all")]
        key: String,
        /// Days the old status key stays accepted.
        #[arg(long, default_value_t = keys::DEFAULT_STATUS_GRACE_DAYS, value_parser = grace_days)]
        status_grace_days: i64,
        /// Days the old survey key stays accepted (a link lives 30 days).
        #[arg(long, default_value_t = keys::DEFAULT_SURVEY_GRACE_DAYS, value_parser = grace_days)]
        survey_grace_days: i64,
    },
    /// Print key versions and deadlines (never the keys).
    Show,
}

#[derive(Args)]
struct ReportArgs {
    /// First day (YYYY-MM-DD, in the reporting time zone).
    #[arg(long)]
    from: String,
    /// Last day, inclusive.
    #[arg(long)]
    to: String,
    /// Group by team, category, channel or priority.
    #[arg(long, default_value = "team")]
    by: String,
    /// satisfaction, repeat-complaints, deadlines or overview; all four when absent.
    #[arg(long)]
    kind: Option<String>,
    /// Print CSV instead of a table.
    #[arg(long)]
    csv: bool,
    /// The tickets table.
    #[arg(long, env = "TICKETS_TABLE", default_value = "redress-TicketsTable")]
    table: String,
}

#[derive(Args)]
struct PoolArgs {
    /// The user pool id [local stack: found by --prefix]
    #[arg(long, env = "USER_POOL_ID", global = true)]
    pool_id: Option<String>,
    /// The console's app client id [local stack: found by --prefix]
    #[arg(long, env = "USER_POOL_CLIENT_ID", global = true)]
    client_id: Option<String>,
    /// The local runner's prefix (its pool is <prefix>-UserPool)
    #[arg(long, default_value = "redress", env = "REDRESS_PREFIX", global = true)]
    prefix: String,
}

impl PoolArgs {
    fn choice(&self) -> redress_cli::user::PoolChoice {
        redress_cli::user::PoolChoice {
            pool_id: self.pool_id.clone(),
            client_id: self.client_id.clone(),
            prefix: self.prefix.clone(),
        }
    }
}

#[derive(Args)]
struct TokenArgs {
    /// The user name.
    #[arg(long)]
    user: String,
    /// The password [default: the demo user's, from --demo-users]
    #[arg(long, env = "REDRESS_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The one-time code, for a user with MFA.
    #[arg(long)]
    code: Option<String>,
    /// Demo users with their passwords (the local shortcut).
    #[arg(long, default_value = "demo/users.toml")]
    demo_users: PathBuf,
    #[command(flatten)]
    pool: PoolArgs,
}

#[derive(Args)]
struct GroupArgs {
    /// A team the user works in (repeatable), e.g. billing, hardship, conduct_compliance.
    #[arg(long = "team")]
    teams: Vec<String>,
    /// A manager: sees every team's tickets and the reports, can reassign any ticket.
    #[arg(long)]
    manager: bool,
    /// May see borrowers' contact details unmasked.
    #[arg(long)]
    contact_access: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a team member or manager with a temporary password (printed; no e-mail is
    /// sent): they choose their own password and set up MFA at first sign-in.
    Add {
        user: String,
        /// Their e-mail address (for account recovery).
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        groups: GroupArgs,
    },
    /// Every user: enabled, status, groups.
    List,
    /// Disable a user (they cannot sign in; their refresh tokens are revoked).
    Disable { user: String },
    /// Enable a disabled user again.
    Enable { user: String },
    /// Show a user's groups, or with --team/--manager/--contact-access make those
    /// exactly their groups.
    Groups {
        user: String,
        #[command(flatten)]
        groups: GroupArgs,
    },
}

#[derive(Args)]
struct ConfigDir {
    /// Folder holding classification.toml, routing.toml and sla.toml [default:
    /// REDRESS_CONFIG_DIR if set, else the configuration built into the binary]
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
}

#[derive(Args)]
struct ClassifyArgs {
    #[command(flatten)]
    config: ConfigDir,
    /// Take the complaint from this field of each line's object instead of the whole
    /// line (demo/complaints.jsonl keeps it under "complaint")
    #[arg(long, value_name = "NAME")]
    field: Option<String>,
    /// Fix the clock (RFC 3339, e.g. 2026-11-23T09:30:00+08:00) for reproducible output
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    now: Option<DateTime<Utc>>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Load and cross-check the configuration and print a one-line summary.
    Check(ConfigDir),
}

#[derive(Args)]
struct DlqArgs {
    /// URL of the complaints dead-letter queue
    #[arg(long, env = "COMPLAINTS_DLQ_URL", global = true, value_name = "URL")]
    dlq_url: Option<String>,
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List dead-lettered messages: id, sent time, receive count, reference, size and
    /// what is wrong with the body. Never prints a body (it holds personal data).
    ///
    /// Listing receives the messages: each one is hidden from other consumers for up to
    /// 5 seconds and its receive count goes up by one. They are made visible again as
    /// soon as the listing is done.
    ///
    /// AWS credentials, region and endpoint come from the usual AWS environment
    /// (AWS_ENDPOINT_URL_SQS for the local stack).
    List {
        /// List at most this many messages
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        max: u32,
        /// Print JSON lines instead of a table
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Move messages from the dead-letter queue back to the complaints queue.
    ///
    /// Each message is sent to the queue, and deleted from the dead-letter queue only
    /// once the send succeeded. Fix what made intake fail first: a message that still
    /// fails comes back here after the queue's maxReceiveCount.
    Redrive {
        /// URL of the complaints queue to send the messages to
        #[arg(long, env = "COMPLAINTS_QUEUE_URL", value_name = "URL")]
        queue_url: Option<String>,
        /// Move at most this many messages [default: all]
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        max: Option<u32>,
        /// Only count the messages that would move (they are hidden for up to 5 s)
        #[arg(long)]
        dry_run: bool,
    },
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 time such as 2026-11-23T09:30:00+08:00: {e}"))?;
    // Deadlines are computed from it: keep it where date arithmetic cannot overflow.
    if !redress_domain::dates::time_in_range(t) {
        return Err(format!(
            "expected a time between {} and {}",
            redress_domain::dates::EARLIEST,
            redress_domain::dates::LATEST
        ));
    }
    Ok(t)
}

/// A key's grace period: one day to ten years (the expiry is computed from it).
fn grace_days(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(days) if (1..=3650).contains(&days) => Ok(days),
        _ => Err("expected a whole number of days from 1 to 3650".to_string()),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole context chain on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Classify(args) => run_classify(args),
        Command::Token(args) => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(run_token(args)),
        Command::User { pool, command } => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(run_user(pool, command)),
        Command::Train(args) => run_train(args),
        Command::Evaluate(args) => run_evaluate(args),
        Command::Corrections {
            command: CorrectionsCommand::Export { with_text, table },
        } => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(async {
                let aws = redress_aws::load_aws_config().await;
                let client = aws_sdk_dynamodb::Client::new(&aws);
                let stdout = std::io::BufWriter::new(std::io::stdout().lock());
                let n = corrections::export(&client, &table, with_text, stdout).await?;
                eprintln!("exported {n} correction(s)");
                Ok(())
            }),
        Command::Report(args) => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(run_report(args)),
        Command::Config {
            command: ConfigCommand::Check(dir),
        } => {
            println!("{}", config::check(dir.config_dir.as_deref())?);
            Ok(())
        }
        Command::Outbox(args) => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(run_outbox(args)),
        Command::Reconcile(args) => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(run_reconcile(args)),
        Command::Dlq(args) => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(run_dlq(args)),
        Command::Keys(args) => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(run_keys(args)),
        Command::Hold {
            command,
            table,
            retention_days,
        } => tokio::runtime::Runtime::new()
            .context("starting the async runtime")?
            .block_on(run_hold(command, table, retention_days)),
    }
}

async fn run_hold(command: HoldCommand, table: String, retention_days: i64) -> Result<()> {
    if !(1..=redress_aws::store::MAX_RETENTION_DAYS).contains(&retention_days) {
        anyhow::bail!("--retention-days must be between 1 and 36500");
    }
    let (hold, args) = match command {
        HoldCommand::Set(a) => (true, a),
        HoldCommand::Clear(a) => (false, a),
    };
    let aws = redress_aws::load_aws_config().await;
    let store = redress_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table)
        .with_retention_days(retention_days);
    let outcome = redress_cli::hold::apply(
        &store,
        &args.reference,
        hold,
        &args.by,
        &args.reason,
        Utc::now(),
    )
    .await?;
    let state = if hold {
        "under legal hold"
    } else {
        "not under legal hold"
    };
    match outcome {
        redress_cli::hold::HoldOutcome::Unchanged => {
            println!("{} was already {state}: nothing changed", args.reference)
        }
        redress_cli::hold::HoldOutcome::Changed {
            version,
            expires_at,
        } => println!(
            "{} is now {state} (version {version}); expires: {}",
            args.reference,
            expires_at.map_or("never".to_string(), |t| t.to_rfc3339())
        ),
    }
    Ok(())
}

async fn run_keys(args: KeysArgs) -> Result<()> {
    let client = aws_sdk_secretsmanager::Client::new(&redress_aws::load_aws_config().await);
    let id = args.secret_id.as_str();
    match args.command {
        KeysCommand::Init => println!("{}", keys::init(&client, id).await?),
        KeysCommand::Show => {
            let (document, _) = redress_aws::secrets::read_document(&client, id).await?;
            for line in keys::describe(&document) {
                println!("{line}");
            }
        }
        KeysCommand::Rotate {
            key,
            status_grace_days,
            survey_grace_days,
        } => {
            let status = ("status_hmac_key", chrono::Duration::days(status_grace_days));
            let survey = (
                "survey_token_key",
                chrono::Duration::days(survey_grace_days),
            );
            let fields = match key.as_str() {
                "status" => vec![status],
                "survey" => vec![survey],
                "all" => vec![status, survey],
                other => anyhow::bail!("--key must be status, survey or all, not {other:?}"),
            };
            if status_grace_days < 1 || survey_grace_days < 1 {
                anyhow::bail!("grace periods must be at least one day");
            }
            for line in keys::rotate(&client, id, &fields, Utc::now()).await? {
                println!("{line}");
            }
        }
    }
    Ok(())
}

fn run_classify(args: ClassifyArgs) -> Result<()> {
    let config = config::load(args.config.config_dir.as_deref())?;
    let now = args.now.unwrap_or_else(Utc::now);
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let summary = classify::run(&config, stdin, stdout, args.field.as_deref(), now)?;
    let mut stderr = std::io::stderr().lock();
    // A closed stderr is no reason to fail a finished run.
    let _ = writeln!(
        stderr,
        "classified {}, errors {}",
        summary.classified, summary.errors
    );
    Ok(())
}

fn run_train(args: TrainArgs) -> Result<()> {
    let data = args.data.unwrap_or_else(train::default_data_dir);
    let inputs = train::read_inputs(&data, args.labels.as_deref())?;
    let rules = redress_domain::classify::Classifier::rules_from_toml(
        redress_domain::config::CLASSIFICATION_TOML,
    )?;
    let categories: Vec<redress_domain::taxonomy::CategoryId> =
        rules.categories().iter().map(|c| c.id.clone()).collect();
    let mut settings = redress_domain::model::train::TrainSettings::default();
    if let Some(seed) = args.seed {
        settings.seed = seed;
    }
    let (model, summary) = train::train(&inputs, &settings, &args.model_version, &categories)?;
    let text = model.to_text();
    std::fs::write(&args.out, &text).with_context(|| format!("writing {}", args.out.display()))?;
    print!("{summary}");
    println!(
        "wrote {} ({} bytes); run `redress evaluate` for the full tables",
        args.out.display(),
        text.len()
    );
    Ok(())
}

fn run_evaluate(args: EvaluateArgs) -> Result<()> {
    use redress_domain::model::TextModel;
    let data = args.data.unwrap_or_else(train::default_data_dir);
    let inputs = train::read_inputs(&data, args.labels.as_deref())?;
    let config = config::load(args.config.config_dir.as_deref())?;
    let (model, classifier) = match &args.model {
        Some(path) => {
            let src = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let model = std::sync::Arc::new(
                TextModel::parse(&src).with_context(|| format!("reading {}", path.display()))?,
            );
            let rules = match &args.config.config_dir {
                Some(dir) => std::fs::read_to_string(dir.join("classification.toml"))
                    .with_context(|| format!("reading {}", dir.display()))?,
                None => redress_domain::config::CLASSIFICATION_TOML.to_string(),
            };
            let classifier =
                redress_domain::classify::Classifier::from_toml_with_model(&rules, model.clone())?;
            (model, classifier)
        }
        None => {
            let model = std::sync::Arc::new(TextModel::bundled()?);
            (model, config.classifier)
        }
    };
    print!(
        "{}",
        train::evaluate(&inputs, &model, &classifier, &config.routing)?
    );
    Ok(())
}

async fn run_dlq(args: DlqArgs) -> Result<()> {
    let dlq_url = required_url(args.dlq_url, "--dlq-url", "COMPLAINTS_DLQ_URL")?;
    let client = aws_sdk_sqs::Client::new(&redress_aws::load_aws_config().await);
    match args.command {
        DlqCommand::List { max, json, config } => {
            let config = config::load(config.config_dir.as_deref())?;
            dlq::list(&client, &dlq_url, max as usize, json, &config).await
        }
        DlqCommand::Redrive {
            queue_url,
            max,
            dry_run,
        } => {
            let queue_url = required_url(queue_url, "--queue-url", "COMPLAINTS_QUEUE_URL")?;
            let r = dlq::redrive(
                &client,
                &dlq_url,
                &queue_url,
                max.map(|m| m as usize),
                dry_run,
            )
            .await?;
            if dry_run {
                println!("dry run: would move {} message(s)", r.moved);
                return Ok(());
            }
            println!("moved {} message(s) to {queue_url}", r.moved);
            if r.sent_not_deleted > 0 {
                eprintln!(
                    "warning: {} message(s) were sent but not deleted from the dead-letter queue; \
                     intake ignores the duplicate delivery, redrive again to clear them",
                    r.sent_not_deleted
                );
            }
            if r.failed > 0 {
                anyhow::bail!(
                    "{} message(s) could not be sent and stay in the dead-letter queue",
                    r.failed
                );
            }
            Ok(())
        }
    }
}

async fn run_reconcile(args: ReconcileArgs) -> Result<()> {
    let aws = redress_aws::load_aws_config().await;
    let queue = if args.requeue {
        let url = required_url(args.queue_url, "--queue-url", "COMPLAINTS_QUEUE_URL")?;
        Some(redress_aws::SqsQueue::new(
            aws_sdk_sqs::Client::new(&aws),
            url,
        ))
    } else {
        None
    };
    let store = redress_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &args.table);
    let now = Utc::now();
    let found =
        reconcile::reconcile(&store, queue.as_ref(), now, args.older_than, args.within).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        print!("{}", reconcile::render(&found, now, args.older_than));
    }
    Ok(())
}

fn required_url(value: Option<String>, flag: &str, env: &str) -> Result<String> {
    value
        .filter(|v| !v.trim().is_empty())
        .with_context(|| format!("no queue URL: pass {flag} or set {env}"))
}

async fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    let aws = redress_aws::load_aws_config().await;
    let (_, client_id) = args.pool.choice().resolve(&aws).await?;
    let password = match args.password {
        Some(p) => p,
        None => redress_cli::user::demo_password(&args.demo_users, &args.user)?,
    };
    let sign_in = redress_aws::cognito::CognitoSignIn::from_config(&aws, client_id);
    let token =
        redress_cli::user::token(&sign_in, &args.user, &password, args.code.as_deref()).await?;
    println!("{token}");
    Ok(())
}

async fn run_user(pool: PoolArgs, command: UserCommand) -> anyhow::Result<()> {
    use redress_cli::user;
    let aws = redress_aws::load_aws_config().await;
    let (pool_id, _) = pool.choice().resolve(&aws).await?;
    let admin = redress_aws::cognito::CognitoAdmin::from_config(&aws, pool_id);
    let groups_of = |g: &GroupArgs| -> anyhow::Result<Vec<String>> {
        let config = redress_domain::config::DomainConfig::from_env()?;
        user::groups_for(&config, &g.teams, g.manager, g.contact_access)
    };
    match command {
        UserCommand::Add {
            user: name,
            email,
            groups,
        } => {
            let password = user::add(&admin, &name, email.as_deref(), &groups_of(&groups)?).await?;
            println!("created {name}; temporary password (changed at first sign-in): {password}");
        }
        UserCommand::List => print!("{}", user::table(&admin.list_users().await?)),
        UserCommand::Disable { user: name } => {
            admin.set_enabled(&name, false).await?;
            println!("{name} is disabled and signed out");
        }
        UserCommand::Enable { user: name } => {
            admin.set_enabled(&name, true).await?;
            println!("{name} is enabled");
        }
        UserCommand::Groups { user: name, groups } => {
            if !groups.teams.is_empty() || groups.manager || groups.contact_access {
                admin.set_groups(&name, &groups_of(&groups)?).await?;
            }
            println!("{name}: {}", admin.groups_of(&name).await?.join(", "));
        }
    }
    Ok(())
}

async fn run_report(args: ReportArgs) -> anyhow::Result<()> {
    use redress_domain::metrics::Dimension;
    use redress_domain::report::{Period, ReportKind};
    let config = redress_domain::config::DomainConfig::from_env()?;
    let period =
        Period::parse(Some(&args.from), Some(&args.to)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let by = Dimension::parse(&args.by)
        .filter(|d| !matches!(d, Dimension::All | Dimension::Signal))
        .ok_or_else(|| anyhow::anyhow!("--by must be team, category, channel or priority"))?;
    let kinds: Vec<ReportKind> = match &args.kind {
        Some(k) => vec![ReportKind::parse(k).ok_or_else(|| {
            anyhow::anyhow!("--kind must be satisfaction, repeat-complaints, deadlines or overview")
        })?],
        None => ReportKind::ALL.to_vec(),
    };
    let aws = redress_aws::load_aws_config().await;
    let store = redress_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &args.table)
        .with_config(&config);
    for kind in kinds {
        let built = redress_cli::report::build(&store, &config, kind, by, &period).await?;
        if args.csv {
            print!("{}", redress_domain::report::to_csv(&built));
        } else {
            println!("{}", redress_cli::report::table(&built));
        }
    }
    Ok(())
}

async fn run_outbox(args: OutboxArgs) -> anyhow::Result<()> {
    let aws = redress_aws::load_aws_config().await;
    let store = redress_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &args.table);
    let today = Utc::now().date_naive();
    let days: Vec<_> = (0..args.days.max(1))
        .rev()
        .map(|back| today - chrono::Duration::days(i64::from(back)))
        .collect();
    let logs = redress_cli::outbox::deliveries(&store, &days).await?;
    let bodies = if args.bodies {
        let url = args
            .moto_url
            .as_deref()
            .context("--bodies reads moto's record: set --moto-url or AWS_ENDPOINT_URL_SQS")?;
        Some(redress_cli::outbox::moto_bodies(url).await?)
    } else {
        None
    };
    print!("{}", redress_cli::outbox::render(&logs, bodies.as_ref()));
    Ok(())
}
