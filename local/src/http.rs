//! Serves the api handler over HTTP on localhost, the way API Gateway (HTTP API, payload
//! format 2.0) calls it in AWS: each request becomes the same JSON event, and only the
//! routes the template declares reach the function.

use crate::auth::GatewayAuthorizer;
use crate::template::FunctionSpec;
use anyhow::{Context, Result};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The largest body the local gateway passes on (API Gateway's own limit is 10 MB; the
/// function enforces its smaller one).
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

/// A handler for lambda_http requests (the api function's `handle`).
pub type HttpHandler = Arc<
    dyn Fn(
            lambda_http::Request,
        )
            -> Pin<Box<dyn Future<Output = lambda_http::Response<lambda_http::Body>> + Send>>
        + Send
        + Sync,
>;

/// A route declared in the template: method, path template (`/complaints/{reference}`),
/// and whether the JWT authorizer guards it.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub authorized: bool,
}

impl Route {
    /// The routes of a function's HttpApi events.
    pub fn from_function(function: &FunctionSpec) -> Vec<Route> {
        function
            .http_events
            .iter()
            .map(|e| Route {
                method: e.method.clone(),
                path: e.path.clone(),
                authorized: e.authorized,
            })
            .collect()
    }

    /// Path parameters if `path` matches this route's path template.
    fn match_path(&self, path: &str) -> Option<Map<String, Value>> {
        let want: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        let got: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if want.len() != got.len() {
            return None;
        }
        let mut params = Map::new();
        for (w, g) in want.iter().zip(&got) {
            if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                let decoded = percent_decode(g);
                params.insert(name.to_string(), Value::String(decoded));
            } else if w != g {
                return None;
            }
        }
        Some(params)
    }
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Why the gateway answered instead of the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayRefusal {
    /// No declared route matches (API Gateway: 404 Not Found).
    NoRoute,
    /// The route needs a valid bearer token (API Gateway: 401 Unauthorized).
    Unauthorized,
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &hyper::HeaderMap) -> Option<&str> {
    headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// Builds the API Gateway v2 event for a request: the route must be declared, and a
/// guarded route needs a valid token, whose claims the event then carries.
#[allow(clippy::too_many_arguments)]
pub fn gateway_event(
    routes: &[Route],
    authorizer: &GatewayAuthorizer,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &hyper::HeaderMap,
    body: &[u8],
    source_ip: &str,
) -> Result<Value, GatewayRefusal> {
    let (route, params) = routes
        .iter()
        .find_map(|r| {
            if r.method != method && r.method != "ANY" {
                return None;
            }
            r.match_path(path).map(|p| (r, p))
        })
        .ok_or(GatewayRefusal::NoRoute)?;
    let claims = if route.authorized {
        let token = bearer(headers).ok_or(GatewayRefusal::Unauthorized)?;
        Some(
            authorizer
                .authorize(token)
                .map_err(|_| GatewayRefusal::Unauthorized)?,
        )
    } else {
        None
    };
    let mut header_map = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == hyper::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(|c| Value::String(c.trim().to_string())),
            );
            continue;
        }
        // API Gateway joins repeated headers with commas.
        match header_map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                header_map.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    let mut query_params = Map::new();
    if let Some(q) = query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match query_params.get_mut(k.as_ref()) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(&v);
                }
                _ => {
                    query_params.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            }
        }
    }
    let (body_value, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_string()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        ),
    };
    let now = chrono::Utc::now();
    let route_key = format!("{} {}", route.method, route.path);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query.unwrap_or(""),
        "headers": header_map,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get(hyper::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get(hyper::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": is_base64,
    });
    if !body_value.is_null() {
        event["body"] = body_value;
    }
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query_params.is_empty() {
        event["queryStringParameters"] = Value::Object(query_params);
    }
    if !params.is_empty() {
        event["pathParameters"] = Value::Object(params);
    }
    if let Some(claims) = claims {
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    Ok(event)
}

fn plain(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response is valid")
}

async fn serve_one(
    routes: Arc<Vec<Route>>,
    authorizer: GatewayAuthorizer,
    handler: HttpHandler,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(413, r#"{"message":"Request Entity Too Large"}"#),
    };
    if let Some(token) = bearer(&parts.headers) {
        authorizer.prepare(token).await;
    }
    let event = match gateway_event(
        &routes,
        &authorizer,
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        &bytes,
        &peer.ip().to_string(),
    ) {
        Ok(event) => event,
        // What API Gateway answers itself, before the function is called.
        Err(GatewayRefusal::NoRoute) => return plain(404, r#"{"message":"Not Found"}"#),
        Err(GatewayRefusal::Unauthorized) => return plain(401, r#"{"message":"Unauthorized"}"#),
    };
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "could not build the lambda request");
            return plain(500, r#"{"message":"Internal Server Error"}"#);
        }
    };
    let response = handler(request).await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Serves until `shutdown` turns true. Returns once the listener is closed.
pub async fn serve(
    listener: TcpListener,
    routes: Vec<Route>,
    authorizer: GatewayAuthorizer,
    handler: HttpHandler,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let routes = Arc::new(routes);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted.context("accepting a connection")?,
            _ = shutdown.changed() => return Ok(()),
        };
        let routes = Arc::clone(&routes);
        let handler = Arc::clone(&handler);
        let authorizer = authorizer.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let routes = Arc::clone(&routes);
                let handler = Arc::clone(&handler);
                let authorizer = authorizer.clone();
                async move {
                    Ok::<_, Infallible>(serve_one(routes, authorizer, handler, peer, req).await)
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redress_aws::jwks::testing;

    fn authorizer() -> GatewayAuthorizer {
        GatewayAuthorizer::new(std::sync::Arc::new(testing::verifier()))
    }

    fn routes() -> Vec<Route> {
        vec![
            Route {
                method: "POST".into(),
                path: "/complaints".into(),
                authorized: false,
            },
            Route {
                method: "GET".into(),
                path: "/complaints/{reference}".into(),
                authorized: false,
            },
            Route {
                method: "GET".into(),
                path: "/tickets".into(),
                authorized: true,
            },
        ]
    }

    #[test]
    fn declared_routes_become_gateway_events_with_path_parameters() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("x-status-secret", "abc".parse().unwrap());
        let event = gateway_event(
            &routes(),
            &authorizer(),
            "GET",
            "/complaints/RD-1",
            Some("secret=a%20b"),
            &headers,
            b"",
            "127.0.0.1",
        )
        .unwrap();
        assert_eq!(event["pathParameters"]["reference"], "RD-1");
        assert_eq!(event["queryStringParameters"]["secret"], "a b");
        assert_eq!(event["routeKey"], "GET /complaints/{reference}");
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(request.uri().path(), "/complaints/RD-1");
        assert_eq!(request.headers()["x-status-secret"], "abc");
    }

    #[test]
    fn undeclared_routes_and_methods_find_nothing() {
        let headers = hyper::HeaderMap::new();
        let refused = |method: &str, path: &str| {
            gateway_event(
                &routes(),
                &authorizer(),
                method,
                path,
                None,
                &headers,
                b"",
                "127.0.0.1",
            )
            .unwrap_err()
        };
        assert_eq!(
            refused("DELETE", "/complaints/RD-1"),
            GatewayRefusal::NoRoute
        );
        assert_eq!(refused("GET", "/admin"), GatewayRefusal::NoRoute);
    }

    #[test]
    fn guarded_routes_need_a_valid_token_and_pass_its_claims() {
        let mut headers = hyper::HeaderMap::new();
        let event = |headers: &hyper::HeaderMap| {
            gateway_event(
                &routes(),
                &authorizer(),
                "GET",
                "/tickets",
                None,
                headers,
                b"",
                "127.0.0.1",
            )
        };
        assert_eq!(event(&headers), Err(GatewayRefusal::Unauthorized));
        headers.insert("authorization", "Bearer nonsense".parse().unwrap());
        assert_eq!(event(&headers), Err(GatewayRefusal::Unauthorized));
        // Signed by a key the pool does not publish.
        let mut claims = testing::access_claims("mallory", &["managers"]);
        let forged = testing::sign(&claims, testing::OTHER_KEY, testing::POOL_KID);
        headers.insert("authorization", format!("Bearer {forged}").parse().unwrap());
        assert_eq!(event(&headers), Err(GatewayRefusal::Unauthorized));
        claims["exp"] = serde_json::json!(chrono::Utc::now().timestamp() - 3600);
        let expired = testing::sign(&claims, testing::POOL_KEY, testing::POOL_KID);
        headers.insert(
            "authorization",
            format!("Bearer {expired}").parse().unwrap(),
        );
        assert_eq!(event(&headers), Err(GatewayRefusal::Unauthorized));
        let token = testing::access_token("alice", &["team-billing", "contact-access"]);
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        let built = event(&headers).unwrap();
        let claims = &built["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(claims["username"], "alice");
        // As API Gateway flattens lists.
        assert_eq!(claims["cognito:groups"], "[team-billing contact-access]");
        let request = lambda_http::request::from_str(&built.to_string()).unwrap();
        use lambda_http::RequestExt;
        assert!(matches!(
            request.request_context_ref(),
            Some(lambda_http::request::RequestContext::ApiGatewayV2(_))
        ));
    }
}
