//! Staff sign-in, as the api sees it: the user pool's answers as plain types, the port
//! the sign-in pages talk to, and the rule that slows down repeated failures.
//!
//! The user pool (Cognito in AWS, moto's Cognito locally) checks passwords and one-time
//! codes and issues the tokens; nothing here stores a password. The adapter lives in
//! `redress-aws` (`cognito.rs`).

use chrono::{DateTime, Duration, Utc};
use std::future::Future;
use std::pin::Pin;

/// A boxed future, so the ports below can be held as trait objects in the api's deps.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The tokens of a signed-in session.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The access token (an RS256 JWT with `token_use=access`): what every request shows.
    pub access_token: String,
    /// The refresh token: turns into new access tokens until it expires or is revoked.
    /// Absent when tokens were refreshed (Cognito does not rotate it).
    pub refresh_token: Option<String>,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

impl std::fmt::Debug for Tokens {
    // Tokens are credentials: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What the pool asks for before it issues tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// First sign-in with a temporary password: choose a new one.
    NewPassword,
    /// The one-time code of the user's authenticator app.
    MfaCode,
    /// The pool requires MFA and the user has no authenticator yet: set one up.
    MfaSetup,
}

impl Challenge {
    /// The form field the page asks for.
    pub fn as_str(self) -> &'static str {
        match self {
            Challenge::NewPassword => "new_password",
            Challenge::MfaCode => "mfa_code",
            Challenge::MfaSetup => "mfa_setup",
        }
    }

    /// Parses [`Challenge::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Challenge::NewPassword,
            Challenge::MfaCode,
            Challenge::MfaSetup,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One step of signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInStep {
    SignedIn(Tokens),
    /// The pool wants more; `session` (opaque, a few minutes long) continues the attempt.
    Challenge {
        challenge: Challenge,
        session: String,
    },
}

/// An authenticator to register (MFA set-up): the shared secret and the session that
/// continues the attempt.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthenticatorSetup {
    /// Base32 secret for the authenticator app.
    pub secret: String,
    pub session: String,
}

impl std::fmt::Debug for AuthenticatorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthenticatorSetup { .. }")
    }
}

/// Why a sign-in step failed. Everything that says "these credentials are not good" is
/// one variant, so the page cannot tell an unknown user from a wrong password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Wrong user name or password, unknown or disabled user, revoked or expired refresh
    /// token, the pool's own lockout.
    #[error("not authorized")]
    NotAuthorized,
    /// The one-time code is wrong.
    #[error("wrong one-time code")]
    WrongCode,
    /// The new password does not meet the pool's password policy.
    #[error("password does not meet the policy")]
    WeakPassword,
    /// The challenge session expired or is unknown: start again.
    #[error("sign-in session expired")]
    SessionExpired,
    /// The pool is unreachable, throttled us, or is misconfigured: try again later.
    #[error("user pool unavailable: {0}")]
    Unavailable(String),
}

/// Signs staff in against the user pool (api). Every method is one call to the pool.
pub trait StaffSignIn: Send + Sync {
    /// User name and password.
    fn sign_in<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>>;

    /// Answers [`Challenge::NewPassword`].
    fn set_new_password<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
        new_password: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>>;

    /// Answers [`Challenge::MfaCode`].
    fn answer_code<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>>;

    /// Starts [`Challenge::MfaSetup`]: a secret for the authenticator app.
    fn begin_mfa_setup<'a>(
        &'a self,
        session: &'a str,
    ) -> BoxFuture<'a, Result<AuthenticatorSetup, SignInError>>;

    /// Finishes [`Challenge::MfaSetup`] with the app's first code.
    fn finish_mfa_setup<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>>;

    /// New access token from a refresh token.
    fn refresh<'a>(&'a self, refresh_token: &'a str) -> BoxFuture<'a, Result<Tokens, SignInError>>;

    /// Ends the user's sessions: their refresh tokens stop working.
    fn sign_out<'a>(&'a self, access_token: &'a str) -> BoxFuture<'a, Result<(), SignInError>>;
}

/// Failed attempts remembered for one key (a user name or a client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    /// Failures since the window started.
    pub count: u32,
    /// When the latest failure happened.
    pub last: Option<DateTime<Utc>>,
}

/// How failures slow down further attempts: the first few are free, then each one
/// doubles the wait, up to a ceiling; a quiet window forgets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before any wait.
    pub free: u32,
    /// The first wait.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

impl ThrottlePolicy {
    /// Per user name: 3 free, then 2 s, 4 s, … up to 15 minutes; forgotten after an hour
    /// without failures. (Cognito adds its own lockout on top.)
    pub const PER_USER: ThrottlePolicy = ThrottlePolicy {
        free: 3,
        base: Duration::seconds(2),
        max: Duration::minutes(15),
        window: Duration::hours(1),
    };
    /// Per client address: more free tries (an office shares one address), same growth.
    pub const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
        free: 10,
        base: Duration::seconds(2),
        max: Duration::minutes(15),
        window: Duration::hours(1),
    };

    /// When the next attempt may be made after `failures`, or `None` if it may be made
    /// now.
    pub fn wait_until(&self, failures: Failures, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let last = failures.last?;
        if now - last > self.window || failures.count <= self.free {
            return None;
        }
        let doublings = (failures.count - self.free - 1).min(20);
        let wait = (self.base * 2i32.pow(doublings)).min(self.max);
        let until = last + wait;
        (until > now).then_some(until)
    }

    /// The failures after one more failure at `now`.
    pub fn record(&self, failures: Failures, now: DateTime<Utc>) -> Failures {
        let fresh = failures.last.is_none_or(|last| now - last > self.window);
        Failures {
            count: if fresh {
                1
            } else {
                failures.count.saturating_add(1)
            },
            last: Some(now),
        }
    }
}

/// Remembers failed sign-in attempts (api). Keys are opaque (the adapter is handed
/// keyed hashes, never a user name or an address in clear).
pub trait SignInThrottle: Send + Sync {
    /// The failures recorded under `key`.
    fn failures<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Failures, SignInError>>;
    /// Stores `failures` under `key` (expiring after `keep`).
    fn store<'a>(
        &'a self,
        key: &'a str,
        failures: Failures,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), SignInError>>;
    /// Forgets `key` (after a successful sign-in).
    fn clear<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), SignInError>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn the_first_failures_are_free_then_waits_double_up_to_the_ceiling() {
        let p = ThrottlePolicy::PER_USER;
        let mut f = Failures::default();
        for _ in 0..3 {
            f = p.record(f, at(0));
            assert_eq!(p.wait_until(f, at(0)), None, "{f:?}");
        }
        f = p.record(f, at(0));
        assert_eq!(p.wait_until(f, at(0)), Some(at(2)));
        assert_eq!(p.wait_until(f, at(2)), None);
        f = p.record(f, at(0));
        assert_eq!(p.wait_until(f, at(0)), Some(at(4)));
        for _ in 0..30 {
            f = p.record(f, at(0));
        }
        assert_eq!(p.wait_until(f, at(0)), Some(at(15 * 60)));
    }

    #[test]
    fn a_quiet_window_forgets_failures() {
        let p = ThrottlePolicy::PER_USER;
        let mut f = Failures::default();
        for _ in 0..10 {
            f = p.record(f, at(0));
        }
        assert!(p.wait_until(f, at(1)).is_some());
        assert_eq!(p.wait_until(f, at(3601)), None);
        assert_eq!(p.record(f, at(3601)).count, 1);
    }

    #[test]
    fn challenges_round_trip_through_their_form_names() {
        for c in [
            Challenge::NewPassword,
            Challenge::MfaCode,
            Challenge::MfaSetup,
        ] {
            assert_eq!(Challenge::parse(c.as_str()), Some(c));
        }
        assert_eq!(Challenge::parse("sms"), None);
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        let t = Tokens {
            access_token: "eyJsecret".into(),
            refresh_token: Some("refresh-secret".into()),
            expires_in: 3600,
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
