//! The Cognito user pool adapter: staff sign-in for the api ([`StaffSignIn`]), and the
//! administrator's operations for `redress user` and the local runner's demo users.
//!
//! Sign-in uses the app client's `USER_PASSWORD_AUTH` flow: the api's sign-in page
//! receives the password (over TLS) and hands it to Cognito, which checks it, asks for
//! the one-time code or a new password, and issues the tokens. The client has no secret
//! and these calls need no IAM permission; the admin calls (CLI only) do.

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType, MessageActionType,
    SoftwareTokenMfaSettingsType, UserStatusType,
};
use aws_sdk_cognitoidentityprovider::Client;
use redress_domain::signin::{
    AuthenticatorSetup, BoxFuture, Challenge, SignInError, SignInStep, StaffSignIn, Tokens,
};

/// Sign-in against one app client of a user pool.
#[derive(Debug, Clone)]
pub struct CognitoSignIn {
    client: Client,
    client_id: String,
}

impl CognitoSignIn {
    pub fn new(client: Client, client_id: impl Into<String>) -> Self {
        CognitoSignIn {
            client,
            client_id: client_id.into(),
        }
    }

    /// With a client built from the shared AWS configuration.
    pub fn from_config(aws: &aws_config::SdkConfig, client_id: impl Into<String>) -> Self {
        Self::new(Client::new(aws), client_id)
    }

    async fn respond(
        &self,
        challenge: ChallengeNameType,
        session: &str,
        answers: &[(&str, &str)],
    ) -> Result<SignInStep, SignInError> {
        let mut request = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(challenge)
            .session(session);
        for (k, v) in answers {
            request = request.challenge_responses(*k, *v);
        }
        let out = request
            .send()
            .await
            .map_err(|e| sign_in_error(e.code(), Stage::Challenge))?;
        step(
            out.authentication_result,
            out.challenge_name.as_ref(),
            out.session,
        )
    }
}

/// Where in the attempt an error came back (an unknown session means "start again" in a
/// challenge, but a misconfigured client at the start).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    Challenge,
}

/// Sorts Cognito's error codes into what the sign-in page needs to know.
fn sign_in_error(code: Option<&str>, stage: Stage) -> SignInError {
    match code {
        // One answer for every "these credentials are not good", so a page cannot be used
        // to find out which user names exist (moto answers UserNotFoundException where AWS,
        // with PreventUserExistenceErrors, answers NotAuthorizedException).
        Some(
            "NotAuthorizedException"
            | "UserNotFoundException"
            | "UserNotConfirmedException"
            | "PasswordResetRequiredException"
            | "TooManyFailedAttemptsException",
        ) => {
            if stage == Stage::Challenge {
                // AWS answers an expired challenge session with NotAuthorized too; either
                // way the user starts again.
                SignInError::SessionExpired
            } else {
                SignInError::NotAuthorized
            }
        }
        Some("CodeMismatchException" | "EnableSoftwareTokenMFAException") => SignInError::WrongCode,
        Some("InvalidPasswordException") => SignInError::WeakPassword,
        Some("ExpiredCodeException") => SignInError::SessionExpired,
        Some("ResourceNotFoundException") if stage == Stage::Challenge => {
            SignInError::SessionExpired
        }
        Some(other) => SignInError::Unavailable(other.to_string()),
        None => SignInError::Unavailable("no answer from the user pool".to_string()),
    }
}

fn tokens(result: AuthenticationResultType) -> Result<Tokens, SignInError> {
    Ok(Tokens {
        access_token: result
            .access_token
            .ok_or_else(|| SignInError::Unavailable("no access token".into()))?,
        refresh_token: result.refresh_token,
        expires_in: i64::from(result.expires_in),
    })
}

fn step(
    result: Option<AuthenticationResultType>,
    challenge: Option<&ChallengeNameType>,
    session: Option<String>,
) -> Result<SignInStep, SignInError> {
    if let Some(result) = result {
        return Ok(SignInStep::SignedIn(tokens(result)?));
    }
    let challenge = match challenge {
        Some(ChallengeNameType::NewPasswordRequired) => Challenge::NewPassword,
        Some(ChallengeNameType::SoftwareTokenMfa) => Challenge::MfaCode,
        Some(ChallengeNameType::MfaSetup) => Challenge::MfaSetup,
        // SMS, e-mail OTP, custom challenges: the pool is configured for TOTP only.
        other => {
            return Err(SignInError::Unavailable(format!(
                "unsupported challenge {:?}",
                other.map(|c| c.as_str())
            )))
        }
    };
    let session = session.ok_or_else(|| SignInError::Unavailable("no session".into()))?;
    Ok(SignInStep::Challenge { challenge, session })
}

impl StaffSignIn for CognitoSignIn {
    fn sign_in<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>> {
        Box::pin(async move {
            let out = self
                .client
                .initiate_auth()
                .client_id(&self.client_id)
                .auth_flow(AuthFlowType::UserPasswordAuth)
                .auth_parameters("USERNAME", user)
                .auth_parameters("PASSWORD", password)
                .send()
                .await
                .map_err(|e| sign_in_error(e.code(), Stage::Start))?;
            step(
                out.authentication_result,
                out.challenge_name.as_ref(),
                out.session,
            )
        })
    }

    fn set_new_password<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
        new_password: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>> {
        Box::pin(async move {
            self.respond(
                ChallengeNameType::NewPasswordRequired,
                session,
                &[("USERNAME", user), ("NEW_PASSWORD", new_password)],
            )
            .await
        })
    }

    fn answer_code<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>> {
        Box::pin(async move {
            self.respond(
                ChallengeNameType::SoftwareTokenMfa,
                session,
                &[("USERNAME", user), ("SOFTWARE_TOKEN_MFA_CODE", code)],
            )
            .await
        })
    }

    fn begin_mfa_setup<'a>(
        &'a self,
        session: &'a str,
    ) -> BoxFuture<'a, Result<AuthenticatorSetup, SignInError>> {
        Box::pin(async move {
            let out = self
                .client
                .associate_software_token()
                .session(session)
                .send()
                .await
                .map_err(|e| sign_in_error(e.code(), Stage::Challenge))?;
            Ok(AuthenticatorSetup {
                secret: out
                    .secret_code
                    .ok_or_else(|| SignInError::Unavailable("no secret".into()))?,
                session: out.session.unwrap_or_else(|| session.to_string()),
            })
        })
    }

    fn finish_mfa_setup<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>> {
        Box::pin(async move {
            let verified = self
                .client
                .verify_software_token()
                .session(session)
                .user_code(code)
                .friendly_device_name("redress")
                .send()
                .await
                .map_err(|e| sign_in_error(e.code(), Stage::Challenge))?;
            let session = verified.session.unwrap_or_else(|| session.to_string());
            self.respond(ChallengeNameType::MfaSetup, &session, &[("USERNAME", user)])
                .await
        })
    }

    fn refresh<'a>(&'a self, refresh_token: &'a str) -> BoxFuture<'a, Result<Tokens, SignInError>> {
        Box::pin(async move {
            let out = self
                .client
                .initiate_auth()
                .client_id(&self.client_id)
                .auth_flow(AuthFlowType::RefreshTokenAuth)
                .auth_parameters("REFRESH_TOKEN", refresh_token)
                .send()
                .await
                .map_err(|e| sign_in_error(e.code(), Stage::Start))?;
            tokens(
                out.authentication_result
                    .ok_or(SignInError::NotAuthorized)?,
            )
        })
    }

    fn sign_out<'a>(&'a self, access_token: &'a str) -> BoxFuture<'a, Result<(), SignInError>> {
        // GlobalSignOut: every refresh token of the user stops working (RevokeToken would
        // end only this browser's, but moto does not implement it).
        Box::pin(async move {
            self.client
                .global_sign_out()
                .access_token(access_token)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sign_in_error(e.code(), Stage::Start))
        })
    }
}

/// The id of the pool named `name`, if there is one.
pub async fn find_pool(client: &Client, name: &str) -> anyhow::Result<Option<String>> {
    let mut token = None;
    loop {
        let out = client
            .list_user_pools()
            .max_results(60)
            .set_next_token(token)
            .send()
            .await
            .map_err(admin_error("listing user pools"))?;
        if let Some(p) = out.user_pools().iter().find(|p| p.name() == Some(name)) {
            return Ok(p.id().map(str::to_string));
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(None);
        }
    }
}

/// The id of the app client named `name` in `pool_id`, if there is one.
pub async fn find_client(
    client: &Client,
    pool_id: &str,
    name: &str,
) -> anyhow::Result<Option<String>> {
    let out = client
        .list_user_pool_clients()
        .user_pool_id(pool_id)
        .max_results(60)
        .send()
        .await
        .map_err(admin_error("listing app clients"))?;
    Ok(out
        .user_pool_clients()
        .iter()
        .find(|c| c.client_name() == Some(name))
        .and_then(|c| c.client_id().map(str::to_string)))
}

/// Finds a pool by name (`<prefix>-UserPool` on the local stack) and the id of its app
/// client named `client_name`.
pub async fn find_pool_and_client(
    aws: &aws_config::SdkConfig,
    pool_name: &str,
    client_name: &str,
) -> anyhow::Result<(String, String)> {
    let client = Client::new(aws);
    let pool_id = find_pool(&client, pool_name).await?.ok_or_else(|| {
        anyhow::anyhow!("no user pool named {pool_name} (is the local runner up?)")
    })?;
    let client_id = find_client(&client, &pool_id, client_name)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no app client named {client_name} in {pool_name}"))?;
    Ok((pool_id, client_id))
}

/// A staff member as the administrator sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub username: String,
    pub enabled: bool,
    /// `CONFIRMED`, `FORCE_CHANGE_PASSWORD`, …
    pub status: String,
    pub groups: Vec<String>,
}

/// The administrator's operations on the pool (`redress user`, demo users).
#[derive(Debug, Clone)]
pub struct CognitoAdmin {
    client: Client,
    pool_id: String,
}

type AdminResult<T> = anyhow::Result<T>;

fn admin_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    what: &str,
) -> impl FnOnce(aws_sdk_cognitoidentityprovider::error::SdkError<E>) -> anyhow::Error + '_ {
    move |e| {
        let code = e.code().unwrap_or("no answer").to_string();
        let message = e.message().unwrap_or_default().to_string();
        anyhow::anyhow!("{what}: {code} {message}")
    }
}

impl CognitoAdmin {
    pub fn new(client: Client, pool_id: impl Into<String>) -> Self {
        CognitoAdmin {
            client,
            pool_id: pool_id.into(),
        }
    }

    /// With a client built from the shared AWS configuration.
    pub fn from_config(aws: &aws_config::SdkConfig, pool_id: impl Into<String>) -> Self {
        Self::new(Client::new(aws), pool_id)
    }

    pub fn pool_id(&self) -> &str {
        &self.pool_id
    }

    /// Creates a user with a temporary password (changed at first sign-in) and no
    /// invitation message, or with a permanent one when `permanent` (demo users).
    /// Returns false if the user already existed (nothing changed then).
    pub async fn create_user(
        &self,
        username: &str,
        email: Option<&str>,
        password: &str,
        permanent: bool,
    ) -> AdminResult<bool> {
        let mut request = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .temporary_password(password)
            .message_action(MessageActionType::Suppress);
        if let Some(email) = email {
            request = request
                .user_attributes(
                    AttributeType::builder()
                        .name("email")
                        .value(email)
                        .build()?,
                )
                .user_attributes(
                    AttributeType::builder()
                        .name("email_verified")
                        .value("true")
                        .build()?,
                );
        }
        match request.send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("UsernameExistsException") => return Ok(false),
            Err(e) => return Err(admin_error("creating the user")(e)),
        }
        if permanent {
            self.client
                .admin_set_user_password()
                .user_pool_id(&self.pool_id)
                .username(username)
                .password(password)
                .permanent(true)
                .send()
                .await
                .map_err(admin_error("setting the password"))?;
        }
        Ok(true)
    }

    /// Makes `groups` exactly the user's groups.
    pub async fn set_groups(&self, username: &str, groups: &[String]) -> AdminResult<()> {
        let current = self.groups_of(username).await?;
        for g in groups.iter().filter(|g| !current.contains(g)) {
            self.client
                .admin_add_user_to_group()
                .user_pool_id(&self.pool_id)
                .username(username)
                .group_name(g)
                .send()
                .await
                .map_err(admin_error("adding to a group"))?;
        }
        for g in current.iter().filter(|g| !groups.contains(g)) {
            self.client
                .admin_remove_user_from_group()
                .user_pool_id(&self.pool_id)
                .username(username)
                .group_name(g)
                .send()
                .await
                .map_err(admin_error("removing from a group"))?;
        }
        Ok(())
    }

    /// The user's groups.
    pub async fn groups_of(&self, username: &str) -> AdminResult<Vec<String>> {
        let out = self
            .client
            .admin_list_groups_for_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
            .map_err(admin_error("listing the user's groups"))?;
        let mut groups: Vec<String> = out
            .groups()
            .iter()
            .filter_map(|g| g.group_name().map(str::to_string))
            .collect();
        groups.sort();
        Ok(groups)
    }

    /// The pool's groups.
    pub async fn groups(&self) -> AdminResult<Vec<String>> {
        let out = self
            .client
            .list_groups()
            .user_pool_id(&self.pool_id)
            .send()
            .await
            .map_err(admin_error("listing groups"))?;
        Ok(out
            .groups()
            .iter()
            .filter_map(|g| g.group_name().map(str::to_string))
            .collect())
    }

    /// Every user with their groups.
    pub async fn list_users(&self) -> AdminResult<Vec<StaffUser>> {
        let mut users = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_users()
                .user_pool_id(&self.pool_id)
                .set_pagination_token(token)
                .send()
                .await
                .map_err(admin_error("listing users"))?;
            for u in out.users() {
                let Some(name) = u.username() else { continue };
                users.push(StaffUser {
                    username: name.to_string(),
                    enabled: u.enabled(),
                    status: u
                        .user_status()
                        .map(UserStatusType::as_str)
                        .unwrap_or("UNKNOWN")
                        .to_string(),
                    groups: self.groups_of(name).await?,
                });
            }
            token = out.pagination_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    /// Disables (or enables again) a user: a disabled user cannot sign in, and their
    /// sessions end.
    pub async fn set_enabled(&self, username: &str, enabled: bool) -> AdminResult<()> {
        if enabled {
            self.client
                .admin_enable_user()
                .user_pool_id(&self.pool_id)
                .username(username)
                .send()
                .await
                .map_err(admin_error("enabling the user"))?;
        } else {
            self.client
                .admin_disable_user()
                .user_pool_id(&self.pool_id)
                .username(username)
                .send()
                .await
                .map_err(admin_error("disabling the user"))?;
            self.client
                .admin_user_global_sign_out()
                .user_pool_id(&self.pool_id)
                .username(username)
                .send()
                .await
                .map_err(admin_error("signing the user out"))?;
        }
        Ok(())
    }

    /// Registers an authenticator for a signed-in user and makes it their MFA (demo
    /// users that show the one-time-code step). Returns the authenticator's secret.
    pub async fn enable_totp(&self, access_token: &str, first_code: &str) -> AdminResult<String> {
        let associated = self
            .client
            .associate_software_token()
            .access_token(access_token)
            .send()
            .await
            .map_err(admin_error("registering an authenticator"))?;
        let secret = associated.secret_code.unwrap_or_default();
        self.client
            .verify_software_token()
            .access_token(access_token)
            .user_code(first_code)
            .send()
            .await
            .map_err(admin_error("verifying the authenticator"))?;
        Ok(secret)
    }

    /// Makes the verified authenticator the user's preferred MFA.
    pub async fn prefer_totp(&self, username: &str) -> AdminResult<()> {
        self.client
            .admin_set_user_mfa_preference()
            .user_pool_id(&self.pool_id)
            .username(username)
            .software_token_mfa_settings(
                SoftwareTokenMfaSettingsType::builder()
                    .enabled(true)
                    .preferred_mfa(true)
                    .build(),
            )
            .send()
            .await
            .map_err(admin_error("making TOTP the user's MFA"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_failure_reads_the_same_at_the_start() {
        for code in [
            "NotAuthorizedException",
            "UserNotFoundException",
            "UserNotConfirmedException",
            "PasswordResetRequiredException",
            "TooManyFailedAttemptsException",
        ] {
            assert_eq!(
                sign_in_error(Some(code), Stage::Start),
                SignInError::NotAuthorized
            );
        }
        assert_eq!(
            sign_in_error(Some("CodeMismatchException"), Stage::Challenge),
            SignInError::WrongCode
        );
        assert_eq!(
            sign_in_error(Some("ResourceNotFoundException"), Stage::Challenge),
            SignInError::SessionExpired
        );
        assert!(matches!(
            sign_in_error(Some("ResourceNotFoundException"), Stage::Start),
            SignInError::Unavailable(_)
        ));
        assert!(matches!(
            sign_in_error(None, Stage::Start),
            SignInError::Unavailable(_)
        ));
    }
}
