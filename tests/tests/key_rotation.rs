//! Key rotation mid-scenario, against the local stack: the keys live in the local
//! Secrets Manager (moto), the api reads them at cold start, `redress keys rotate`
//! rotates them. A status secret and a survey link issued before the rotation still
//! work after it, at an api cold-started with the rotated keys; a forged one does not;
//! an api still running with the old keys accepts what the new keys sign.

use chrono::{Duration, Utc};
use redress_domain::reference::Reference;
use redress_domain::survey::TokenError;
use redress_e2e::{complaint_form, spawn_app, workspace_root};
use redress_local::{LocalOptions, LocalPipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_secrets_and_survey_links_issued_before_a_rotation_still_work_after_it() {
    let app = spawn_app().await;
    let (reference, secret) = app.submit_ok(&complaint_form()).await;
    app.wait_for_ticket(&reference).await;
    let status = |base: String, secret: String| {
        let http = app.http.clone();
        let reference = reference.clone();
        async move {
            http.get(format!("{base}/complaints/{reference}"))
                .header("x-status-secret", secret)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        status(app.pipeline.base_url.clone(), secret.clone()).await,
        200
    );
    // A survey link as the api issues it on resolution, with the keys it read.
    let link = app.pipeline.api.survey_tokens.issue(
        &reference,
        Utc::now() + Duration::days(30),
        "beforerotation",
    );

    // Rotate, as `redress keys rotate` does.
    let secret_id = app.pipeline.resources.parameters["KeysSecretName"].clone();
    let sm = aws_sdk_secretsmanager::Client::new(&redress_aws::load_aws_config().await);
    let changed = redress_cli::keys::rotate(
        &sm,
        &secret_id,
        &[
            ("status_hmac_key", Duration::days(400)),
            ("survey_token_key", Duration::days(31)),
        ],
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(changed.len(), 2, "{changed:?}");
    let (document, _) = redress_aws::secrets::read_document(&sm, &secret_id)
        .await
        .unwrap();
    assert!(redress_cli::keys::describe(&document)[0].contains("current v2"));

    // A cold start on the same tables and queues reads the rotated keys.
    let prefix = secret_id.trim_end_matches("-keys").to_string();
    let rotated = LocalPipeline::start(LocalOptions::new(workspace_root(), prefix))
        .await
        .expect("a second pipeline starts on the same resources");
    let parsed = Reference::parse(&reference).unwrap();
    let new_secret = rotated.api.secrets.secret_for(&parsed);
    assert_ne!(
        new_secret, secret,
        "new status secrets come from the new key"
    );

    // Issued before: still good, over HTTP, at the api with the rotated keys.
    assert_eq!(status(rotated.base_url.clone(), secret.clone()).await, 200);
    let claim = rotated
        .api
        .survey_tokens
        .verify(&link, Utc::now())
        .expect("a link sent before the rotation still verifies");
    assert_eq!(claim.reference, reference);
    // The api still running with the old keys accepts what the new keys sign.
    assert_eq!(
        status(app.pipeline.base_url.clone(), new_secret.clone()).await,
        200
    );

    // Forged: refused by both.
    let forged_secret = "ABCD-EFGH-JKMN-PQRS";
    assert_eq!(
        status(rotated.base_url.clone(), forged_secret.into()).await,
        404
    );
    let forged_link = redress_domain::survey::SurveyTokens::new(b"an-attacker-guessed-key").issue(
        &reference,
        Utc::now() + Duration::days(30),
        "forged",
    );
    assert_eq!(
        rotated.api.survey_tokens.verify(&forged_link, Utc::now()),
        Err(TokenError::BadSignature)
    );
    // Past the survey key's grace period the old link is refused.
    assert_eq!(
        rotated
            .api
            .survey_tokens
            .verify(&link, Utc::now() + Duration::days(32))
            .map(|c| c.reference),
        Err(TokenError::BadSignature)
    );

    rotated.stop().await;
    app.stop().await;
}
