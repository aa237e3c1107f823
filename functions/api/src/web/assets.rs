//! The pages' one stylesheet and one script, compiled into the binary.

use super::html::secure_headers;
use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};

const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");

/// `/assets/{name}`; `None` (the API's 404) for anything else.
pub fn serve(name: &str) -> Option<Response<Body>> {
    let (body, content_type) = match name {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return None,
    };
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        // Short: a deploy changes them, and they are small.
        .header(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        )
        .body(Body::from(body))
        .expect("static headers are valid");
    secure_headers(&mut response, None);
    Some(response)
}
