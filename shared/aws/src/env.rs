//! Typed access to a function's environment: a missing variable fails at cold start, by
//! name. The source is a trait so the local runner can hand a function the environment
//! it resolved from the template, without touching the process environment.

use chrono::{DateTime, Utc};
use redress_domain::config::{ConfigError, DomainConfig};
use redress_domain::keyring::{KeyRing, KeyRingError};
use redress_domain::sla::CALENDAR_WARNING_DAYS;
use std::collections::BTreeMap;

/// A required environment variable is missing, empty or unusable.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} {problem}")]
pub struct EnvError {
    pub name: &'static str,
    pub problem: &'static str,
}

/// Where variables come from.
pub trait VarSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment (in Lambda).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl VarSource for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The value of `name`, or an error naming it.
pub fn required(source: &dyn VarSource, name: &'static str) -> Result<String, EnvError> {
    match source.var(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(EnvError {
            name,
            problem: "must be set",
        }),
    }
}

/// A secret key: at least 16 bytes, or it is refused.
pub fn required_key(source: &dyn VarSource, name: &'static str) -> Result<Vec<u8>, EnvError> {
    let v = required(source, name)?;
    if v.len() < 16 {
        return Err(EnvError {
            name,
            problem: "must hold a key of at least 16 bytes",
        });
    }
    Ok(v.into_bytes())
}

/// A whole number.
pub fn required_number(source: &dyn VarSource, name: &'static str) -> Result<i64, EnvError> {
    required(source, name)?
        .trim()
        .parse()
        .map_err(|_| EnvError {
            name,
            problem: "must be a whole number",
        })
}

/// A versioned key ring (see [`KeyRing`]): the ring's JSON, or a plain key string
/// (version 1). [`crate::secrets::with_keys`] puts the rings from Secrets Manager here.
pub fn required_keyring(source: &dyn VarSource, name: &'static str) -> Result<KeyRing, EnvError> {
    let v = required(source, name)?;
    KeyRing::parse(&v).map_err(|e| EnvError {
        name,
        problem: match e {
            KeyRingError::ShortKey(_) => "must hold keys of at least 16 bytes",
            KeyRingError::DuplicateVersion(_) => "must not use a key version twice",
            KeyRingError::RetiredWithoutDeadline(_) => {
                "must give every retired key an accept_until"
            }
            KeyRingError::Shape(_) => "must be a key or a key ring",
        },
    })
}

/// The domain configuration (`REDRESS_CONFIG_DIR`, else the bundled files), loading on a
/// blocking thread from cold start on, so that its parse overlaps the SDK set-up and the
/// keys secret's round trip instead of adding to them.
pub struct PendingConfig(tokio::task::JoinHandle<Result<DomainConfig, ConfigError>>);

impl PendingConfig {
    /// The whole configuration, with the classifier's learned model (about 2 MB to parse):
    /// for the functions that classify text (intake).
    pub fn with_model() -> Self {
        Self(tokio::task::spawn_blocking(DomainConfig::from_env))
    }

    /// The rules, routing and SLA policies without the model
    /// ([`DomainConfig::rules_only_from_env`]): for the functions that only look
    /// categories, teams and policies up.
    pub fn rules_only() -> Self {
        Self(tokio::task::spawn_blocking(
            DomainConfig::rules_only_from_env,
        ))
    }

    /// The configuration, or a failed cold start naming what is wrong. Warns when a
    /// holiday list is about to run out.
    pub async fn ready(self) -> DomainConfig {
        let config = match self.0.await {
            Ok(loaded) => loaded.unwrap_or_else(|e| fail_cold_start(&e)),
            Err(e) => fail_cold_start(&format!("loading the configuration: {e}")),
        };
        warn_if_calendars_run_out(&config, Utc::now());
        config
    }
}

/// One warning per SLA policy whose holiday list ends within
/// [`CALENDAR_WARNING_DAYS`] of `now` (in the policy's own time zone's terms, a day either
/// way does not matter here); returns how many. Deadlines are still computed: past the
/// list, only weekends are days off, so the warning is what makes someone extend it.
pub fn warn_if_calendars_run_out(config: &DomainConfig, now: DateTime<Utc>) -> usize {
    let running_out = config
        .sla
        .calendars_running_out(now.date_naive(), CALENDAR_WARNING_DAYS);
    for calendar in &running_out {
        tracing::warn!(
            policy = %calendar.policy,
            holidays_through = %calendar.holidays_through,
            days_left = calendar.days_left,
            "{calendar}"
        );
    }
    running_out.len()
}

/// Ends a cold start that cannot succeed: one line on stderr naming what is wrong (a
/// variable, the secret, the configuration; never a value), reported to the Lambda
/// Runtime API as an init error when there is one, then exit status 1. Lambda shows the
/// line in the function's log and fails the invocation with `Runtime.ConfigError`.
pub fn fail_cold_start(error: &dyn std::fmt::Display) -> ! {
    let message = format!("cold start failed: {error}");
    eprintln!("{message}");
    if let Some(api) = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .ok()
        .filter(|a| !a.is_empty())
    {
        // Best effort, and blocking on purpose: the process is about to exit anyway.
        let _ = report_init_error(&api, &message);
    }
    std::process::exit(1)
}

/// `POST /2018-06-01/runtime/init/error`, over a plain socket (the runtime crate has no
/// public call for it, and this needs no client of its own).
fn report_init_error(api: &str, message: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    use std::time::Duration;
    let body = serde_json::json!({"errorMessage": message, "errorType": "Runtime.ConfigError"})
        .to_string();
    let addr = api
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: Runtime.ConfigError\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = [0u8; 64];
    let _ = stream.read(&mut answer)?;
    Ok(())
}
