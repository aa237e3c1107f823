//! In-memory staff sign-in: a user pool with passwords, first-sign-in and one-time-code
//! challenges, refresh and sign-out ([`MemorySignIn`]), and a failure counter
//! ([`MemoryThrottle`]). Tokens are minted by a function the test hands in (the api's
//! tests sign RS256 tokens with the test pool's key), so the api checks them exactly as
//! it checks Cognito's. The Cognito adapter itself is proven against moto by
//! `tests/tests/staff_signin.rs`.

use chrono::Duration;
use redress_domain::signin::{
    AuthenticatorSetup, BoxFuture, Challenge, Failures, SignInError, SignInStep, SignInThrottle,
    StaffSignIn, Tokens,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Mints an access token for a user name and their groups.
pub type Mint = Arc<dyn Fn(&str, &[String]) -> String + Send + Sync>;

/// The one-time code every [`MemorySignIn`] user with MFA accepts.
pub const MEMORY_CODE: &str = "123456";

#[derive(Debug, Clone)]
struct PoolUser {
    password: String,
    groups: Vec<String>,
    /// A temporary password: the first sign-in asks for a new one.
    temporary: bool,
    mfa: bool,
    enabled: bool,
}

#[derive(Default)]
struct PoolState {
    users: HashMap<String, PoolUser>,
    /// Open challenge session → user name.
    sessions: HashMap<String, String>,
    /// Live refresh token → user name.
    refresh: HashMap<String, String>,
    next_id: u64,
    /// Calls made (`sign_in`, `refresh`, `sign_out` …), for tests that count them.
    calls: Vec<&'static str>,
}

/// An in-memory user pool. Clones share one pool.
#[derive(Clone)]
pub struct MemorySignIn {
    state: Arc<Mutex<PoolState>>,
    mint: Mint,
}

impl MemorySignIn {
    /// An empty pool whose tokens `mint` signs.
    pub fn new(mint: Mint) -> Self {
        MemorySignIn {
            state: Arc::default(),
            mint,
        }
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a user. `temporary`: the password must be changed at first sign-in; `mfa`:
    /// every sign-in asks for [`MEMORY_CODE`].
    pub fn add_user(
        &self,
        name: &str,
        password: &str,
        groups: &[&str],
        temporary: bool,
        mfa: bool,
    ) {
        self.state().users.insert(
            name.to_string(),
            PoolUser {
                password: password.to_string(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
                temporary,
                mfa,
                enabled: true,
            },
        );
    }

    /// Disables a user: no sign-in, no refresh.
    pub fn disable(&self, name: &str) {
        if let Some(u) = self.state().users.get_mut(name) {
            u.enabled = false;
        }
    }

    /// The calls made so far, oldest first.
    pub fn calls(&self) -> Vec<&'static str> {
        self.state().calls.clone()
    }

    fn challenge(state: &mut PoolState, user: &str, challenge: Challenge) -> SignInStep {
        state.next_id += 1;
        let session = format!("session-{}", state.next_id);
        state.sessions.insert(session.clone(), user.to_string());
        SignInStep::Challenge { challenge, session }
    }

    fn tokens(&self, state: &mut PoolState, user: &str) -> SignInStep {
        state.next_id += 1;
        let refresh = format!("refresh-{}", state.next_id);
        state.refresh.insert(refresh.clone(), user.to_string());
        let groups = state.users[user].groups.clone();
        SignInStep::SignedIn(Tokens {
            access_token: (self.mint)(user, &groups),
            refresh_token: Some(refresh),
            expires_in: 3600,
        })
    }

    /// The user of an open challenge session (taken: a session answers once).
    fn take_session(state: &mut PoolState, user: &str, session: &str) -> Result<(), SignInError> {
        match state.sessions.remove(session) {
            Some(u) if u == user => Ok(()),
            _ => Err(SignInError::SessionExpired),
        }
    }
}

impl StaffSignIn for MemorySignIn {
    fn sign_in<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.push("sign_in");
            let Some(u) = state.users.get(user).cloned() else {
                return Err(SignInError::NotAuthorized);
            };
            if !u.enabled || u.password != password {
                return Err(SignInError::NotAuthorized);
            }
            Ok(if u.temporary {
                Self::challenge(&mut state, user, Challenge::NewPassword)
            } else if u.mfa {
                Self::challenge(&mut state, user, Challenge::MfaCode)
            } else {
                self.tokens(&mut state, user)
            })
        })
    }

    fn set_new_password<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
        new_password: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.push("set_new_password");
            Self::take_session(&mut state, user, session)?;
            if new_password.chars().count() < 12 {
                // Answer again with a fresh session, as the page retries.
                state.sessions.insert(session.to_string(), user.to_string());
                return Err(SignInError::WeakPassword);
            }
            let u = state
                .users
                .get_mut(user)
                .ok_or(SignInError::NotAuthorized)?;
            u.password = new_password.to_string();
            u.temporary = false;
            let mfa = u.mfa;
            Ok(if mfa {
                Self::challenge(&mut state, user, Challenge::MfaCode)
            } else {
                self.tokens(&mut state, user)
            })
        })
    }

    fn answer_code<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<SignInStep, SignInError>> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.push("answer_code");
            if state.sessions.get(session).is_none_or(|u| u != user) {
                return Err(SignInError::SessionExpired);
            }
            if code != MEMORY_CODE {
                return Err(SignInError::WrongCode);
            }
            state.sessions.remove(session);
            Ok(self.tokens(&mut state, user))
        })
    }

    fn begin_mfa_setup<'a>(
        &'a self,
        session: &'a str,
    ) -> BoxFuture<'a, Result<AuthenticatorSetup, SignInError>> {
        Box::pin(async move {
            let state = self.state();
            if !state.sessions.contains_key(session) {
                return Err(SignInError::SessionExpired);
            }
            Ok(AuthenticatorSetup {
                secret: "MEMORYSECRETBASE32".into(),
                session: session.to_string(),
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
            let mut state = self.state();
            if code != MEMORY_CODE {
                return Err(SignInError::WrongCode);
            }
            Self::take_session(&mut state, user, session)?;
            if let Some(u) = state.users.get_mut(user) {
                u.mfa = true;
            }
            Ok(self.tokens(&mut state, user))
        })
    }

    fn refresh<'a>(&'a self, refresh_token: &'a str) -> BoxFuture<'a, Result<Tokens, SignInError>> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.push("refresh");
            let user = state
                .refresh
                .get(refresh_token)
                .cloned()
                .ok_or(SignInError::NotAuthorized)?;
            let u = state.users.get(&user).ok_or(SignInError::NotAuthorized)?;
            if !u.enabled {
                return Err(SignInError::NotAuthorized);
            }
            Ok(Tokens {
                access_token: (self.mint)(&user, &u.groups),
                refresh_token: None,
                expires_in: 3600,
            })
        })
    }

    fn sign_out<'a>(&'a self, _access_token: &'a str) -> BoxFuture<'a, Result<(), SignInError>> {
        Box::pin(async move {
            // Like GlobalSignOut, every refresh token of the pool's users stops working
            // (the fake does not read the access token's user: tests sign one user out).
            let mut state = self.state();
            state.calls.push("sign_out");
            state.refresh.clear();
            Ok(())
        })
    }
}

/// In-memory sign-in failure counters. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct MemoryThrottle {
    counters: Arc<Mutex<HashMap<String, Failures>>>,
}

impl MemoryThrottle {
    /// No failures recorded.
    pub fn new() -> Self {
        Self::default()
    }

    fn counters(&self) -> MutexGuard<'_, HashMap<String, Failures>> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many keys have failures recorded.
    pub fn keys(&self) -> usize {
        self.counters().len()
    }
}

impl SignInThrottle for MemoryThrottle {
    fn failures<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Failures, SignInError>> {
        Box::pin(async move { Ok(self.counters().get(key).copied().unwrap_or_default()) })
    }

    fn store<'a>(
        &'a self,
        key: &'a str,
        failures: Failures,
        _keep: Duration,
    ) -> BoxFuture<'a, Result<(), SignInError>> {
        Box::pin(async move {
            self.counters().insert(key.to_string(), failures);
            Ok(())
        })
    }

    fn clear<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), SignInError>> {
        Box::pin(async move {
            self.counters().remove(key);
            Ok(())
        })
    }
}
