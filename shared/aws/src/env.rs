//! Typed access to a function's environment: a missing variable fails at cold start, by
//! name. The source is a trait so the local runner can hand a function the environment
//! it resolved from the template, without touching the process environment.

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
