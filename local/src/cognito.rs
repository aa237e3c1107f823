//! The template's Cognito user pool, app client and groups, created on moto's Cognito
//! (idempotently, named `<prefix>-<LogicalId>` like the tables and queues), and the demo
//! staff from `demo/users.toml`.
//!
//! Where moto differs from AWS (see the README): every moto pool signs with the same
//! fixed key (so the issuer check is what tells pools apart), one-time codes are not
//! checked unless moto runs with `MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true`, a user
//! without an authenticator signs in without MFA even when the pool requires it (AWS
//! asks them to set one up), `RevokeToken` is missing (sign-out uses `GlobalSignOut`),
//! and token lifetimes are one hour whatever the client says.

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, PasswordPolicyType, PreventUserExistenceErrorTypes,
    SoftwareTokenMfaConfigType, UserPoolMfaType, UserPoolPolicyType,
};
use aws_sdk_cognitoidentityprovider::Client;
use redress_aws::cognito::{find_client, find_pool, CognitoAdmin, CognitoSignIn};
use redress_domain::signin::{SignInStep, StaffSignIn};
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A user pool of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    pub logical_id: String,
    /// `ON`, `OPTIONAL` or `OFF`.
    pub mfa: String,
    /// TOTP (`SOFTWARE_TOKEN_MFA`) is among the pool's MFA methods.
    pub totp: bool,
    pub min_password_length: i32,
    pub require_lowercase: bool,
    pub require_uppercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
}

/// An app client of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSpec {
    pub logical_id: String,
    pub pool: String,
    pub auth_flows: Vec<String>,
}

/// A group of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub pool: String,
    pub name: String,
    pub description: Option<String>,
}

/// The Cognito part of the template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CognitoSpec {
    pub pools: Vec<PoolSpec>,
    pub clients: Vec<ClientSpec>,
    pub groups: Vec<GroupSpec>,
}

fn ref_of(v: Option<&Value>) -> Option<String> {
    v?.get("Ref")?.as_str().map(str::to_string)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence)
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl CognitoSpec {
    /// Reads the pools, clients and groups of a template.
    pub fn parse(text: &str) -> Result<Self> {
        let doc: Value = serde_yaml_ng::from_str(text).context("not valid YAML")?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| anyhow!("no Resources section"))?;
        let mut spec = CognitoSpec::default();
        for (id, resource) in resources {
            let id = id.as_str().unwrap_or_default().to_string();
            let props = resource.get("Properties");
            let prop = |name: &str| props.and_then(|p| p.get(name));
            match resource.get("Type").and_then(Value::as_str) {
                Some("AWS::Cognito::UserPool") => {
                    let policy = prop("Policies").and_then(|p| p.get("PasswordPolicy"));
                    let flag = |name: &str| {
                        policy
                            .and_then(|p| p.get(name))
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                    };
                    spec.pools.push(PoolSpec {
                        logical_id: id,
                        mfa: prop("MfaConfiguration")
                            .and_then(Value::as_str)
                            .unwrap_or("OFF")
                            .to_string(),
                        totp: strings(prop("EnabledMfas"))
                            .iter()
                            .any(|m| m == "SOFTWARE_TOKEN_MFA"),
                        min_password_length: policy
                            .and_then(|p| p.get("MinimumLength"))
                            .and_then(Value::as_i64)
                            .unwrap_or(8) as i32,
                        require_lowercase: flag("RequireLowercase"),
                        require_uppercase: flag("RequireUppercase"),
                        require_numbers: flag("RequireNumbers"),
                        require_symbols: flag("RequireSymbols"),
                    });
                }
                Some("AWS::Cognito::UserPoolClient") => spec.clients.push(ClientSpec {
                    logical_id: id.clone(),
                    pool: ref_of(prop("UserPoolId"))
                        .ok_or_else(|| anyhow!("{id}: UserPoolId is not a Ref"))?,
                    auth_flows: strings(prop("ExplicitAuthFlows")),
                }),
                Some("AWS::Cognito::UserPoolGroup") => spec.groups.push(GroupSpec {
                    pool: ref_of(prop("UserPoolId"))
                        .ok_or_else(|| anyhow!("{id}: UserPoolId is not a Ref"))?,
                    name: prop("GroupName")
                        .and_then(Value::as_str)
                        .ok_or_else(|| anyhow!("{id}: no GroupName"))?
                        .to_string(),
                    description: prop("Description")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }),
                _ => {}
            }
        }
        Ok(spec)
    }
}

/// A pool as created locally.
#[derive(Debug, Clone)]
pub struct LocalPool {
    pub logical_id: String,
    pub pool_id: String,
    /// Client logical id → client id.
    pub clients: BTreeMap<String, String>,
}

/// Creates the template's pools, clients and groups on moto, reusing those that exist.
/// Returns every created resource's logical id → physical id.
pub async fn provision(
    client: &Client,
    spec: &CognitoSpec,
    prefix: &str,
) -> Result<Vec<LocalPool>> {
    let mut pools = Vec::new();
    for pool in &spec.pools {
        let name = format!("{prefix}-{}", pool.logical_id);
        let pool_id = match find_pool(client, &name).await? {
            Some(id) => id,
            None => create_pool(client, pool, &name).await?,
        };
        let mut clients = BTreeMap::new();
        for c in spec.clients.iter().filter(|c| c.pool == pool.logical_id) {
            let client_name = format!("{prefix}-{}", c.logical_id);
            let id = match find_client(client, &pool_id, &client_name).await? {
                Some(id) => id,
                None => client
                    .create_user_pool_client()
                    .user_pool_id(&pool_id)
                    .client_name(&client_name)
                    .generate_secret(false)
                    .set_explicit_auth_flows(Some(
                        c.auth_flows
                            .iter()
                            .map(|f| ExplicitAuthFlowsType::from(f.as_str()))
                            .collect(),
                    ))
                    .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
                    .send()
                    .await
                    .with_context(|| format!("creating app client {client_name}"))?
                    .user_pool_client
                    .and_then(|c| c.client_id)
                    .ok_or_else(|| anyhow!("no id for app client {client_name}"))?,
            };
            clients.insert(c.logical_id.clone(), id);
        }
        let existing = CognitoAdmin::new(client.clone(), &pool_id).groups().await?;
        for g in spec
            .groups
            .iter()
            .filter(|g| g.pool == pool.logical_id && !existing.contains(&g.name))
        {
            client
                .create_group()
                .user_pool_id(&pool_id)
                .group_name(&g.name)
                .set_description(g.description.clone())
                .send()
                .await
                .with_context(|| format!("creating group {}", g.name))?;
        }
        pools.push(LocalPool {
            logical_id: pool.logical_id.clone(),
            pool_id,
            clients,
        });
    }
    Ok(pools)
}

async fn create_pool(client: &Client, pool: &PoolSpec, name: &str) -> Result<String> {
    let policy = PasswordPolicyType::builder()
        .minimum_length(pool.min_password_length)
        .require_lowercase(pool.require_lowercase)
        .require_uppercase(pool.require_uppercase)
        .require_numbers(pool.require_numbers)
        .require_symbols(pool.require_symbols)
        .build();
    let id = client
        .create_user_pool()
        .pool_name(name)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(policy)
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("creating user pool {name}"))?
        .user_pool
        .and_then(|p| p.id)
        .ok_or_else(|| anyhow!("no id for user pool {name}"))?;
    // As in CloudFormation, MFA is switched on with its method in one step.
    if pool.mfa != "OFF" {
        if !pool.totp {
            bail!("{}: only TOTP MFA is supported locally", pool.logical_id);
        }
        client
            .set_user_pool_mfa_config()
            .user_pool_id(&id)
            .software_token_mfa_configuration(
                SoftwareTokenMfaConfigType::builder().enabled(true).build(),
            )
            .mfa_configuration(UserPoolMfaType::from(pool.mfa.as_str()))
            .send()
            .await
            .context("setting the pool's MFA")?;
    }
    Ok(id)
}

/// A demo staff member (`demo/users.toml`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DemoUser {
    pub name: String,
    /// What they do, for the run command's output.
    pub role: String,
    pub groups: Vec<String>,
    pub password: String,
    /// The password is temporary: the first sign-in asks for a new one (and, as the pool
    /// requires MFA, to set up an authenticator).
    #[serde(default)]
    pub temporary: bool,
    /// An authenticator is registered: every sign-in asks for the one-time code.
    #[serde(default)]
    pub mfa: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    user: Vec<DemoUser>,
}

/// Reads the demo users.
pub fn demo_users(path: &Path) -> Result<Vec<DemoUser>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: DemoFile =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    Ok(file.user)
}

/// The one-time code the demo's authenticator registration is confirmed with (moto does
/// not check codes unless told to).
pub const DEMO_TOTP_CODE: &str = "123456";

/// Creates the demo users that do not exist yet, and gives every one their groups.
/// Returns how many were created.
pub async fn load_demo_users(
    admin: &CognitoAdmin,
    sign_in: &CognitoSignIn,
    users: &[DemoUser],
) -> Result<usize> {
    let mut created = 0;
    for u in users {
        let new = admin
            .create_user(&u.name, None, &u.password, !u.temporary)
            .await
            .with_context(|| format!("demo user {}", u.name))?;
        admin.set_groups(&u.name, &u.groups).await?;
        if new && u.mfa {
            let step = sign_in
                .sign_in(&u.name, &u.password)
                .await
                .map_err(|e| anyhow!("signing {} in to register MFA: {e}", u.name))?;
            let SignInStep::SignedIn(tokens) = step else {
                bail!("{}: expected a plain sign-in before MFA is set up", u.name);
            };
            admin
                .enable_totp(&tokens.access_token, DEMO_TOTP_CODE)
                .await?;
            admin.prefer_totp(&u.name).await?;
        }
        created += usize::from(new);
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_declares_the_pool_client_and_groups() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"),
        )
        .unwrap();
        let spec = CognitoSpec::parse(&text).unwrap();
        assert_eq!(spec.pools.len(), 1);
        let pool = &spec.pools[0];
        assert_eq!((pool.mfa.as_str(), pool.totp), ("ON", true));
        assert!(pool.min_password_length >= 12);
        let client = &spec.clients[0];
        assert_eq!(client.pool, pool.logical_id);
        assert!(client
            .auth_flows
            .contains(&"ALLOW_USER_PASSWORD_AUTH".to_string()));
        assert!(client
            .auth_flows
            .contains(&"ALLOW_REFRESH_TOKEN_AUTH".to_string()));
        for g in ["managers", "contact-access", "team-billing"] {
            assert!(spec.groups.iter().any(|s| s.name == g), "{g}");
        }
    }

    #[test]
    fn the_demo_users_cover_every_sign_in_path_and_meet_the_policy() {
        let users =
            demo_users(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/users.toml")).unwrap();
        assert!(users
            .iter()
            .any(|u| u.groups.iter().any(|g| g.starts_with("team-"))));
        assert!(users
            .iter()
            .any(|u| u.groups.contains(&"managers".to_string())));
        assert!(users.iter().any(|u| u.temporary));
        assert!(users.iter().any(|u| u.mfa));
        for u in &users {
            let p = &u.password;
            assert!(
                p.len() >= 12
                    && p.chars().any(|c| c.is_ascii_lowercase())
                    && p.chars().any(|c| c.is_ascii_uppercase())
                    && p.chars().any(|c| c.is_ascii_digit()),
                "{}'s password does not meet the pool's policy",
                u.name
            );
        }
    }
}
