//! Typed access to environment variables: a missing one fails at cold start, by name.

/// A required environment variable is missing or empty.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} must be set")]
pub struct MissingEnv(pub &'static str);

/// The value of `name`, or an error naming it.
pub fn required(name: &'static str) -> Result<String, MissingEnv> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(MissingEnv(name)),
    }
}

/// A secret key from the environment: at least 16 bytes, or it is refused.
pub fn required_key(name: &'static str) -> Result<Vec<u8>, MissingEnv> {
    let v = required(name)?;
    if v.len() < 16 {
        return Err(MissingEnv(name));
    }
    Ok(v.into_bytes())
}
