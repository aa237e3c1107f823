//! Loads the demo complaints through the api: as a borrower's browser would, or, for the
//! calls and letters (a staff-only channel or an earlier receipt time), as a team member
//! entering them on `POST /tickets/entered`.

use crate::pipeline::LocalPipeline;
use anyhow::{Context, Result};
use lambda_http::http::StatusCode;
use serde_json::Value;
use std::path::Path;

/// Submits every complaint in a demo file (`{"complaint": {...}}` per line) through the
/// api handler. Each line has a fixed idempotency key, so loading twice adds nothing.
/// Returns (accepted, refused).
pub async fn load(pipeline: &LocalPipeline, path: &Path) -> Result<(usize, usize)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (mut accepted, mut refused) = (0, 0);
    let mut staff_token: Option<String> = None;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}", path.display(), n + 1))?;
        let complaint = value.get("complaint").unwrap_or(&value);
        let mut request = lambda_http::http::Request::builder().method("POST");
        if redress_api::is_staff_entry(complaint) {
            if staff_token.is_none() {
                let groups = ["team-customer_care".to_string()];
                staff_token = Some(pipeline.staff.token("demo-entry", &groups).await?);
            }
            let token = staff_token.as_deref().unwrap_or_default();
            request = request
                .uri("/tickets/entered")
                .header("authorization", format!("Bearer {token}"));
        } else {
            request = request.uri("/complaints");
        }
        let request = request
            .header("content-type", "application/json")
            .header("idempotency-key", format!("demo-{}", n + 1))
            .body(lambda_http::Body::from(complaint.to_string()))?;
        let response = redress_api::handle(&pipeline.api, request).await;
        if response.status() == StatusCode::ACCEPTED {
            accepted += 1;
        } else {
            refused += 1;
            tracing::warn!(
                line = n + 1,
                status = response.status().as_u16(),
                "demo complaint refused"
            );
        }
    }
    Ok((accepted, refused))
}
