//! `redress user …` and `redress token`: staff accounts in the Cognito user pool.
//!
//! The pool is named by `--pool-id` / `USER_POOL_ID` (and the app client by
//! `--client-id` / `USER_POOL_CLIENT_ID`); on the local stack they are found by name
//! from `--prefix` (the runner creates `<prefix>-UserPool` and `<prefix>-ConsoleClient`).
//! AWS credentials, region and endpoint come from the usual AWS environment
//! (`AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` for the local stack).

use anyhow::{bail, Context, Result};
use redress_aws::cognito::{find_pool_and_client, CognitoAdmin, CognitoSignIn, StaffUser};
use redress_domain::config::DomainConfig;
use redress_domain::signin::{Challenge, SignInStep, StaffSignIn};

/// Which pool and client.
#[derive(Debug, Clone, Default)]
pub struct PoolChoice {
    pub pool_id: Option<String>,
    pub client_id: Option<String>,
    /// The local runner's prefix, used when the ids are not given.
    pub prefix: String,
}

impl PoolChoice {
    /// The pool and client ids.
    pub async fn resolve(&self, aws: &redress_aws::SdkConfig) -> Result<(String, String)> {
        match (&self.pool_id, &self.client_id) {
            (Some(p), Some(c)) => Ok((p.clone(), c.clone())),
            _ => {
                let (pool, client) = find_pool_and_client(
                    aws,
                    &format!("{}-UserPool", self.prefix),
                    &format!("{}-ConsoleClient", self.prefix),
                )
                .await
                .context("give --pool-id and --client-id (or USER_POOL_ID, USER_POOL_CLIENT_ID)")?;
                Ok((
                    self.pool_id.clone().unwrap_or(pool),
                    self.client_id.clone().unwrap_or(client),
                ))
            }
        }
    }
}

/// The groups a staff member gets: `team-<id>` for each team (checked against the
/// routing configuration), `managers`, `contact-access`.
pub fn groups_for(
    config: &DomainConfig,
    teams: &[String],
    manager: bool,
    contact_access: bool,
) -> Result<Vec<String>> {
    let mut groups = Vec::new();
    for team in teams {
        if config.routing.team(team).is_none() {
            let known: Vec<&str> = config
                .routing
                .teams()
                .iter()
                .map(|t| t.id.as_str())
                .collect();
            bail!("unknown team '{team}'; teams are: {}", known.join(", "));
        }
        groups.push(format!("team-{team}"));
    }
    if manager {
        groups.push("managers".into());
    }
    if contact_access {
        groups.push("contact-access".into());
    }
    Ok(groups)
}

/// A temporary password meeting the pool's policy (12+ characters, upper, lower, digit),
/// from the system's random source.
pub fn temporary_password() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Tmp-{}-{}9a", &random[..8].to_uppercase(), &random[8..16])
}

/// `redress user add`: creates the user with a temporary password (no invitation is
/// sent: give them the password yourself) and their groups. Prints the password.
pub async fn add(
    admin: &CognitoAdmin,
    user: &str,
    email: Option<&str>,
    groups: &[String],
) -> Result<String> {
    if groups.is_empty() {
        bail!("give at least one --team, or --manager");
    }
    let password = temporary_password();
    if !admin.create_user(user, email, &password, false).await? {
        bail!("user {user} exists already (use `redress user groups` to change their groups)");
    }
    admin.set_groups(user, groups).await?;
    Ok(password)
}

/// `redress user list` as a table.
pub fn table(users: &[StaffUser]) -> String {
    let width = users
        .iter()
        .map(|u| u.username.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:width$}  {:8}  {:22}  groups\n",
        "user", "enabled", "status"
    );
    for u in users {
        out.push_str(&format!(
            "{:width$}  {:8}  {:22}  {}\n",
            u.username,
            if u.enabled { "yes" } else { "no" },
            u.status,
            u.groups.join(", ")
        ));
    }
    out
}

/// `redress token`: signs a user in through the pool and returns the access token.
/// `code` answers the one-time-code step when the user has MFA.
pub async fn token(
    sign_in: &CognitoSignIn,
    user: &str,
    password: &str,
    code: Option<&str>,
) -> Result<String> {
    let mut step = sign_in
        .sign_in(user, password)
        .await
        .map_err(|e| anyhow::anyhow!("signing {user} in: {e}"))?;
    loop {
        match step {
            SignInStep::SignedIn(tokens) => return Ok(tokens.access_token),
            SignInStep::Challenge {
                challenge: Challenge::MfaCode,
                session,
            } => {
                let Some(code) = code else {
                    bail!("{user} has MFA: give the one-time code with --code");
                };
                step = sign_in
                    .answer_code(user, &session, code)
                    .await
                    .map_err(|e| anyhow::anyhow!("one-time code: {e}"))?;
            }
            SignInStep::Challenge { challenge, .. } => bail!(
                "{user} must finish signing in on the sign-in page first (the pool asks for {})",
                challenge.as_str()
            ),
        }
    }
}

/// The password of a demo user in `demo/users.toml` (the local shortcut).
pub fn demo_password(path: &std::path::Path, user: &str) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct File {
        user: Vec<toml::Table>,
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: File =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    file.user
        .iter()
        .find(|u| u.get("name").and_then(|n| n.as_str()) == Some(user))
        .and_then(|u| u.get("password").and_then(|p| p.as_str()))
        .map(str::to_string)
        .with_context(|| {
            format!(
                "{user} is not a demo user of {}: give --password",
                path.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_passwords_meet_the_pool_policy_and_differ() {
        let a = temporary_password();
        assert!(a.len() >= 12);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert_ne!(a, temporary_password());
    }

    #[test]
    fn groups_name_known_teams_only() {
        let config = DomainConfig::from_env().unwrap();
        assert_eq!(
            groups_for(&config, &["billing".into()], true, true).unwrap(),
            ["team-billing", "managers", "contact-access"]
        );
        assert!(groups_for(&config, &["nope".into()], false, false).is_err());
    }
}
