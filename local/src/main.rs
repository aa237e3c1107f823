//! `redress-local`: runs the whole pipeline on this machine.
// The SDK's nested futures need more than the default query depth.
#![recursion_limit = "256"]

use anyhow::{Context, Result};
use clap::Parser;
use redress_local::{demo, LocalOptions, LocalPipeline};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Run Redress locally: api on HTTP, intake polling SQS, the deadline sweeper on a timer,
/// against DynamoDB Local and moto (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`).
#[derive(Parser, Debug)]
#[command(name = "redress-local", version)]
struct Args {
    /// Address to serve the api on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "REDRESS_HTTP_ADDR")]
    listen: SocketAddr,
    /// Prefix of table and queue names.
    #[arg(long, default_value = "redress", env = "REDRESS_PREFIX")]
    prefix: String,
    /// Workspace root (where infra/template.yaml is).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Demo complaints to load at start (JSON lines); skipped if absent.
    #[arg(long)]
    demo: Option<PathBuf>,
    /// Demo staff to create in the local user pool (`demo/users.toml`).
    #[arg(long)]
    demo_users: Option<PathBuf>,
    /// Retry failed messages after this many seconds instead of the queue's visibility
    /// timeout (a faster way to watch poison messages reach the dead-letter queue).
    #[arg(long)]
    retry_after: Option<u64>,
    /// Run the deadline sweeper every this many seconds (AWS runs it every 5 minutes);
    /// 0 turns it off.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        env = "REDRESS_SWEEP_EVERY"
    )]
    sweep_every: u64,
    /// Leave notifications on their queue instead of delivering them through the
    /// notifier (the browser tests read survey invitations from the queue).
    #[arg(long)]
    no_deliver: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    redress_aws::telemetry::init();
    let args = Args::parse();
    let mut options = LocalOptions::new(&args.root, &args.prefix);
    options.http_addr = args.listen;
    options.retry_after = args.retry_after.map(Duration::from_secs);
    options.sweep_every = (args.sweep_every > 0).then(|| Duration::from_secs(args.sweep_every));
    options.deliver_notifications = !args.no_deliver;
    let pipeline = LocalPipeline::start(options).await.context(
        "starting the local pipeline (is the local stack up? `bash scripts/stack.sh start`)",
    )?;

    println!("Redress is running.");
    println!("  API:                {}", pipeline.base_url);
    println!(
        "  tickets table:      {}",
        pipeline.resources.table("TicketsTable")?
    );
    println!(
        "  complaints queue:   {}",
        pipeline.resources.queue_url("ComplaintsQueue")?
    );
    println!(
        "  dead-letter queue:  {}",
        pipeline.resources.queue_url("ComplaintsDeadLetterQueue")?
    );
    println!(
        "  notifications:      {}",
        pipeline.resources.queue_url("NotificationsQueue")?
    );
    println!("  notifier:           SES and SNS on moto (redress outbox lists what was sent)");
    println!("  staff user pool:    {} (moto)", pipeline.staff.pool_id);
    match args.sweep_every {
        0 => println!("  deadline sweeper:   off"),
        secs => println!("  deadline sweeper:   every {secs} s"),
    }
    if let Some(path) = &args.demo {
        let (accepted, refused) = demo::load(&pipeline, path).await?;
        println!(
            "  demo complaints:    {accepted} accepted, {refused} refused ({})",
            path.display()
        );
    }
    if let Some(path) = &args.demo_users {
        let users = pipeline
            .staff
            .load_demo_users(path)
            .await
            .with_context(|| format!("creating the demo staff of {}", path.display()))?;
        println!();
        println!(
            "Staff sign in at {}/signin (console /console, dashboard /dashboard).",
            pipeline.base_url
        );
        println!("Demo staff ({}; this machine only):", path.display());
        let width = users.iter().map(|u| u.name.len()).max().unwrap_or(0);
        for u in &users {
            println!("  {:width$}  {:20}  {}", u.name, u.password, u.role);
        }
        if users.iter().any(|u| u.mfa || u.temporary) {
            println!(
                "  (one-time codes: any 6 digits on the local stack, e.g. {})",
                redress_local::cognito::DEMO_TOTP_CODE
            );
        }
    }
    println!();
    println!("Try:");
    println!(
        "  curl -s -X POST {}/complaints -H 'content-type: application/json' -H 'Idempotency-Key: my-first-complaint' \\\n    -d '{{\"borrower\":{{\"phone\":\"13812345678\"}},\"product\":\"personal_loan\",\"text\":\"They added a hidden service fee to my loan.\",\"consent_to_contact\":true}}'",
        pipeline.base_url
    );
    println!(
        "  curl -s {}/complaints/<reference> -H 'X-Status-Secret: <status_secret>'",
        pipeline.base_url
    );
    println!(
        "  COMPLAINTS_DLQ_URL={} COMPLAINTS_QUEUE_URL={} target/debug/redress dlq list",
        pipeline.resources.queue_url("ComplaintsDeadLetterQueue")?,
        pipeline.resources.queue_url("ComplaintsQueue")?
    );
    println!(
        "  TICKETS_TABLE={} target/debug/redress outbox --bodies",
        pipeline.resources.table("TicketsTable")?
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("Stopping…");
    pipeline.stop().await;
    Ok(())
}
