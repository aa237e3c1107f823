//! Staff sign-in end to end, against moto's Cognito: the sign-in page (password, new
//! password, MFA set-up, one-time code), the session cookies and their refresh,
//! sign-out, the throttle, and every kind of token that must be refused — by the local
//! gateway (as API Gateway's JWT authorizer) and by the api's own check.

use redress_domain::signin::{SignInError, StaffSignIn};
use redress_e2e::{spawn_app, workspace_root, TestApp};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use std::collections::BTreeMap;

const PASSWORD: &str = "Correct-Horse-2026";

/// A browser without script: follows nothing by itself, keeps cookies.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: app.pipeline.base_url.clone(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status,
            location,
            set_cookies,
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self
            .cookies
            .get("redress_csrf")
            .cloned()
            .unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        form.extend_from_slice(fields);
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(&form)
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    /// Opens the sign-in page (for its CSRF cookie) and sends user name and password.
    async fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let page = self.get("/signin?lang=en").await;
        assert_eq!(page.status, 200);
        self.post(
            "/signin",
            &[
                ("step", "password"),
                ("lang", "en"),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }
}

/// The `<p class="alert">` text of a page.
fn alert(body: &str) -> String {
    let start = body.find("class=\"alert\"").expect("an alert");
    let rest = &body[start..];
    rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()].to_string()
}

#[tokio::test]
async fn a_team_member_signs_in_with_a_password_and_the_session_opens_their_queue() {
    let app = spawn_app().await;
    let staff = &app.pipeline.staff;
    staff
        .add_user("alice", PASSWORD, &["team-billing".into()])
        .await
        .unwrap();
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser.get("/console/queue").await.status,
        401,
        "no session yet"
    );

    let page = browser.sign_in("alice", PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/console"));
    let session: Vec<&String> = page
        .set_cookies
        .iter()
        .filter(|c| c.starts_with("redress_session=") || c.starts_with("redress_refresh="))
        .collect();
    assert_eq!(session.len(), 2, "{:?}", page.set_cookies);
    for c in session {
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
    }

    let queue = browser.get("/console/queue?lang=en").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(queue.body.contains("Billing"), "{}", queue.body);
    // A signed-in user opening the sign-in page goes straight on.
    assert_eq!(browser.get("/signin").await.status, 303);

    // The pages' script learns who is signed in (never the token) and the CSRF token
    // its ticket actions must carry.
    let info = browser.get("/signin/session").await;
    assert_eq!(info.status, 200);
    let info: serde_json::Value = serde_json::from_str(&info.body).unwrap();
    assert_eq!(info["user"], "alice");
    assert_eq!(info["teams"], serde_json::json!(["billing"]));
    assert!(!info.to_string().contains("eyJ"), "no token in the answer");
    let act = |csrf: Option<String>| {
        let mut request = browser
            .http
            .post(format!(
                "{}/console/tickets/RD-261123-ZZZZZZZZ/actions",
                browser.base
            ))
            .header(COOKIE, browser.cookie_header())
            .header("content-type", "application/json")
            .body(r#"{"action":"acknowledge","expected_version":1}"#);
        if let Some(c) = csrf {
            request = request.header("x-csrf-token", c);
        }
        request.send()
    };
    assert_eq!(act(None).await.unwrap().status(), 403, "no CSRF header");
    let csrf = info["csrf_token"].as_str().unwrap().to_string();
    // Past the CSRF check and the session: the (unknown) ticket is looked up.
    assert_eq!(act(Some(csrf)).await.unwrap().status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_manager_lands_on_the_dashboard() {
    let app = spawn_app().await;
    app.pipeline
        .staff
        .add_user("mary", PASSWORD, &["managers".into()])
        .await
        .unwrap();
    let mut browser = Browser::new(&app);
    let page = browser.sign_in("mary", PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/dashboard"));
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_one_message_and_repeats_are_slowed_down() {
    let app = spawn_app().await;
    app.pipeline
        .staff
        .add_user("alice", PASSWORD, &["team-billing".into()])
        .await
        .unwrap();
    let mut browser = Browser::new(&app);
    let wrong = browser.sign_in("alice", "Not-The-Password-1").await;
    assert_eq!(wrong.status, 401);
    let unknown = browser.sign_in("nobody-here", "Not-The-Password-1").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(alert(&wrong.body), alert(&unknown.body));
    assert_eq!(
        alert(&wrong.body),
        "The user name or password is not right."
    );
    assert!(
        !wrong.body.contains("Not-The-Password-1"),
        "the password is never shown back"
    );

    // Three failures for a user name are free; after the fourth, even the right password
    // must wait.
    for _ in 0..3 {
        assert_eq!(
            browser.sign_in("alice", "Not-The-Password-1").await.status,
            401
        );
    }
    let slowed = browser.sign_in("alice", PASSWORD).await;
    assert_eq!(slowed.status, 429, "{}", slowed.body);
    assert!(alert(&slowed.body).contains("Too many failed attempts"));
    // The counter is a keyed hash: no user name in the table.
    let items = app.items_with_pk_prefix("SIGNIN#").await.unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert!(!format!("{item:?}").contains("alice"));
    }
    app.stop().await;
}

#[tokio::test]
async fn first_sign_in_with_a_temporary_password_asks_for_a_new_one_and_an_authenticator() {
    let app = spawn_app().await;
    let staff = &app.pipeline.staff;
    staff
        .admin
        .create_user("newcomer", None, "Temporary-Pass-1", false)
        .await
        .unwrap();
    staff
        .admin
        .set_groups("newcomer", &["team-customer_care".into()])
        .await
        .unwrap();
    let mut browser = Browser::new(&app);
    let page = browser.sign_in("newcomer", "Temporary-Pass-1").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-step=\"new_password\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Temporary-Pass-1"));

    let mismatch = browser
        .post(
            "/signin",
            &[
                ("step", "new_password"),
                ("lang", "en"),
                ("new_password", "Brand-New-Pass-2026"),
                ("confirm_password", "Brand-New-Pass-2027"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    let setup = browser
        .post(
            "/signin",
            &[
                ("step", "new_password"),
                ("lang", "en"),
                ("new_password", "Brand-New-Pass-2026"),
                ("confirm_password", "Brand-New-Pass-2026"),
            ],
        )
        .await;
    // The pool requires MFA and the user has none yet: set up an authenticator.
    assert_eq!(setup.status, 200, "{}", setup.body);
    assert!(
        setup.body.contains("data-step=\"mfa_setup\""),
        "{}",
        setup.body
    );
    assert!(setup
        .body
        .contains("otpauth://totp/Redress:newcomer?secret="));
    let done = browser
        .post(
            "/signin",
            &[("step", "mfa_setup"), ("lang", "en"), ("code", "123456")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/console"));
    // From now on the new password works and the old one does not.
    assert!(staff.tokens("newcomer", "Temporary-Pass-1").await.is_err());
    app.stop().await;
}

#[tokio::test]
async fn a_user_with_an_authenticator_is_asked_for_the_one_time_code() {
    let app = spawn_app().await;
    let staff = &app.pipeline.staff;
    staff
        .add_user("hana", PASSWORD, &["team-hardship".into()])
        .await
        .unwrap();
    let tokens = staff.tokens("hana", PASSWORD).await.unwrap();
    staff
        .admin
        .enable_totp(&tokens.access_token, "123456")
        .await
        .unwrap();
    staff.admin.prefer_totp("hana").await.unwrap();

    let mut browser = Browser::new(&app);
    let page = browser.sign_in("hana", PASSWORD).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("data-step=\"mfa_code\""));
    let bad = browser
        .post(
            "/signin",
            &[("step", "mfa_code"), ("lang", "en"), ("code", "12ab")],
        )
        .await;
    assert_eq!(bad.status, 422);
    let done = browser
        .post(
            "/signin",
            &[("step", "mfa_code"), ("lang", "en"), ("code", "654321")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    // A challenge answer without the sign-in that started it is refused.
    let mut stranger = Browser::new(&app);
    stranger.get("/signin").await;
    let orphan = stranger
        .post(
            "/signin",
            &[("step", "mfa_code"), ("lang", "en"), ("code", "654321")],
        )
        .await;
    assert_eq!(orphan.status, 422);
    app.stop().await;
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.get("/signin").await;
    browser.cookies.remove("redress_csrf");
    let page = browser
        .post(
            "/signin",
            &[("step", "password"), ("username", "a"), ("password", "b")],
        )
        .await;
    assert_eq!(page.status, 403);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_session_is_renewed_from_the_refresh_cookie_and_sign_out_ends_it() {
    let app = spawn_app().await;
    let staff = &app.pipeline.staff;
    staff
        .add_user("alice", PASSWORD, &["team-billing".into()])
        .await
        .unwrap();
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in("alice", PASSWORD).await.status, 303);
    let refresh = browser.cookies["redress_refresh"].clone();

    // The access token is gone (expired, in a real browser): the refresh token renews it.
    browser.cookies.remove("redress_session");
    let queue = browser.get("/console/queue").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(queue
        .set_cookies
        .iter()
        .any(|c| c.starts_with("redress_session=") && c.contains("HttpOnly")));

    let out = browser.post("/signout", &[("lang", "en")]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/signin?signed_out=1"));
    assert!(!browser.cookies.contains_key("redress_session"));
    assert!(!browser.cookies.contains_key("redress_refresh"));
    assert_eq!(browser.get("/console/queue").await.status, 401);
    // The pool no longer honours the refresh token either.
    assert_eq!(
        staff.sign_in.refresh(&refresh).await,
        Err(SignInError::NotAuthorized)
    );
    app.stop().await;
}

/// Signs claims with moto's own pool key (moto signs every pool's tokens with one fixed
/// key, shipped with it), so a test can make a token Cognito could have issued but with
/// the claims it needs (an expiry in the past).
fn moto_signed(claims: &serde_json::Value) -> String {
    let python = workspace_root().join(".local/venv/bin/python3");
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(
            "import sys, json, gzip, importlib.resources as r\n\
from joserfc import jwk, jwt\n\
p = r.files('moto') / 'cognitoidp/resources/jwks-private.json.gz'\n\
key = jwk.RSAKey.import_key(json.loads(gzip.decompress(p.read_bytes())))\n\
print(jwt.encode({'kid': 'dummy', 'alg': 'RS256'}, json.loads(sys.argv[1]), key))",
        )
        .arg(claims.to_string())
        .output()
        .expect("the local venv's python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn payload(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_expired_foreign_and_id_tokens_are_all_refused() {
    let app = spawn_app().await;
    let staff = &app.pipeline.staff;
    staff
        .add_user("alice", PASSWORD, &["team-billing".into()])
        .await
        .unwrap();
    let good = staff.tokens("alice", PASSWORD).await.unwrap().access_token;
    assert_eq!(app.get_as(&good, "/tickets").await.0, 200);

    // Expired: signed with the pool's key, but past its expiry.
    let mut claims = payload(&good);
    claims["exp"] = serde_json::json!(chrono::Utc::now().timestamp() - 600);
    let expired = moto_signed(&claims);
    assert_eq!(app.get_as(&expired, "/tickets").await.0, 401);
    // Re-signed by the pool key with our claims intact, it passes: the test's signing is
    // sound, so the refusal above is the expiry.
    let mut fresh = payload(&good);
    fresh["exp"] = serde_json::json!(chrono::Utc::now().timestamp() + 600);
    assert_eq!(app.get_as(&moto_signed(&fresh), "/tickets").await.0, 200);

    // Forged: a manager's claims under alice's signature.
    let mut forged_claims = payload(&good);
    forged_claims["cognito:groups"] = serde_json::json!(["managers"]);
    let parts: Vec<&str> = good.split('.').collect();
    use base64::Engine;
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    );
    assert_eq!(app.get_as(&forged, "/tickets").await.0, 401);

    // Another pool (same moto signing key, other issuer) and another app client.
    let other = redress_local::cognito::provision(
        &aws_sdk_cognitoidentityprovider::Client::new(&redress_aws::load_aws_config().await),
        &redress_local::cognito::CognitoSpec::parse(
            &std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap(),
        )
        .unwrap(),
        &format!("other{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    )
    .await
    .unwrap()
    .remove(0);
    let aws = redress_aws::load_aws_config().await;
    let other_admin = redress_aws::cognito::CognitoAdmin::from_config(&aws, &other.pool_id);
    other_admin
        .create_user("alice", None, PASSWORD, true)
        .await
        .unwrap();
    other_admin
        .set_groups("alice", &["managers".into()])
        .await
        .unwrap();
    let other_client = other.clients.values().next().unwrap();
    let foreign = match redress_aws::cognito::CognitoSignIn::from_config(&aws, other_client)
        .sign_in("alice", PASSWORD)
        .await
        .unwrap()
    {
        redress_domain::signin::SignInStep::SignedIn(t) => t.access_token,
        other => panic!("{other:?}"),
    };
    assert_eq!(app.get_as(&foreign, "/tickets").await.0, 401);
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&aws);
    let second_client = cognito
        .create_user_pool_client()
        .user_pool_id(&staff.pool_id)
        .client_name("another-app")
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowUserPasswordAuth,
        )
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let auth = |client: &str| {
        cognito
            .initiate_auth()
            .client_id(client)
            .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", "alice")
            .auth_parameters("PASSWORD", PASSWORD)
            .send()
    };
    let other_client_token = auth(&second_client)
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .access_token
        .unwrap();
    assert_eq!(app.get_as(&other_client_token, "/tickets").await.0, 401);

    // An ID token of our own pool and client: API Gateway's authorizer would let it
    // through (its `aud` is our client); the api refuses it.
    let id_token = auth(&staff.client_id)
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .id_token
        .unwrap();
    assert_eq!(payload(&id_token)["token_use"], "id");
    assert_eq!(app.get_as(&id_token, "/tickets").await.0, 401);
    let mut browser = Browser::new(&app);
    browser
        .cookies
        .insert("redress_session".into(), id_token.clone());
    assert_eq!(browser.get("/console/queue").await.status, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_direct_invocation_with_made_up_claims_gets_nothing() {
    let app = spawn_app().await;
    let staff = &app.pipeline.staff;
    // Claims that name our pool and client exactly, as the authorizer would pass them,
    // but no token: invoking the function directly must not make a manager.
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /tickets",
        "rawPath": "/tickets",
        "rawQueryString": "",
        "headers": {"host": "api.example"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "x", "domainName": "api.example",
            "domainPrefix": "api", "requestId": "r", "routeKey": "GET /tickets",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/tickets", "protocol": "HTTP/1.1",
                     "sourceIp": "10.0.0.1", "userAgent": "x"},
            "authorizer": {"jwt": {"scopes": null, "claims": {
                "iss": staff.pool.issuer, "client_id": staff.client_id,
                "token_use": "access", "username": "mallory",
                "cognito:groups": "[managers contact-access]",
                "exp": (chrono::Utc::now().timestamp() + 3600).to_string()
            }}}
        },
        "isBase64Encoded": false
    });
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = redress_api::handle(&app.pipeline.api, request).await;
    assert_eq!(response.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn administrators_add_list_regroup_and_disable_users() {
    let app = spawn_app().await;
    let staff = &app.pipeline.staff;
    let password = redress_cli::user::add(
        &staff.admin,
        "tom",
        Some("tom@example.com"),
        &["team-fraud".into()],
    )
    .await
    .unwrap();
    let listed = staff.admin.list_users().await.unwrap();
    let tom = listed.iter().find(|u| u.username == "tom").unwrap();
    assert_eq!(tom.groups, ["team-fraud"]);
    assert_eq!(tom.status, "FORCE_CHANGE_PASSWORD");
    // `redress user groups tom --team hardship --contact-access` moves him.
    staff
        .admin
        .set_groups("tom", &["team-hardship".into(), "contact-access".into()])
        .await
        .unwrap();
    let mut groups = staff.admin.groups_of("tom").await.unwrap();
    groups.sort();
    assert_eq!(groups, ["contact-access", "team-hardship"]);
    // The temporary password works (and asks for a new one) until the user is disabled.
    assert!(matches!(
        staff.sign_in.sign_in("tom", &password).await,
        Ok(redress_domain::signin::SignInStep::Challenge { .. })
    ));
    staff.admin.set_enabled("tom", false).await.unwrap();
    assert_eq!(
        staff.sign_in.sign_in("tom", &password).await,
        Err(SignInError::NotAuthorized)
    );
    let mut browser = Browser::new(&app);
    let page = browser.sign_in("tom", &password).await;
    assert_eq!(page.status, 401);
    assert_eq!(alert(&page.body), "The user name or password is not right.");
    app.stop().await;
}
