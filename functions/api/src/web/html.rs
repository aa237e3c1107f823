//! HTML helpers: the language of a page and the security headers of every web answer.
//! (Escaping is the templates' business: every page is a maud template, which escapes
//! each interpolation by type.)

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use redress_domain::Bilingual;

/// The language a page is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The text of this language.
    pub fn pick(self, b: &Bilingual) -> &str {
        match self {
            Lang::Zh => &b.zh,
            Lang::En => &b.en,
        }
    }

    /// The language of a request: `?lang=`, then a `lang` form field, then the browser's
    /// Accept-Language (highest weight of zh or en), else Chinese.
    pub fn of(request: &Request, form_lang: Option<&str>) -> Lang {
        if let Some(l) = request
            .query_string_parameters_ref()
            .and_then(|q| q.first("lang"))
            .and_then(Lang::parse)
        {
            return l;
        }
        if let Some(l) = form_lang.and_then(Lang::parse) {
            return l;
        }
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(from_accept_language)
            .unwrap_or(Lang::Zh)
    }
}

/// The preferred of zh / en in an Accept-Language header (`en-GB,en;q=0.9,zh;q=0.5`).
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for (i, part) in header.split(',').enumerate() {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("zh") => Lang::Zh,
            Some("en") => Lang::En,
            _ => continue,
        };
        // Earlier entries win ties: a tiny penalty by position.
        let score = q - i as f32 * 1e-4;
        if q > 0.0 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// The Content-Security-Policy of every page: only this origin, no inline script or
/// style, no framing. `extra_connect` adds an origin scripts may call (the Cognito
/// domain, when the hosted UI is configured).
pub fn content_security_policy(extra_connect: Option<&str>) -> String {
    let connect = match extra_connect {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_string(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src {connect}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// An HTML answer with the security headers every page carries.
pub fn html_response(status: StatusCode, html: String, cookies: &[String]) -> Response<Body> {
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::from(html))
        .expect("static headers are valid");
    secure_headers(&mut response, None);
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The headers every web answer carries (pages, fragments, assets).
pub fn secure_headers(response: &mut Response<Body>, extra_connect: Option<&str>) {
    let h = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(extra_connect)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_chinese_and_english() {
        assert_eq!(
            from_accept_language("en-GB,en;q=0.9,zh;q=0.5"),
            Some(Lang::En)
        );
        assert_eq!(
            from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::Zh)
        );
        assert_eq!(
            from_accept_language("fr,en;q=0.3,zh-TW;q=0.7"),
            Some(Lang::Zh)
        );
        assert_eq!(from_accept_language("fr,de"), None);
        assert_eq!(from_accept_language("en;q=0,zh;q=0.1"), Some(Lang::Zh));
    }

    #[test]
    fn the_policy_allows_only_this_origin() {
        let csp = content_security_policy(None);
        assert!(csp.contains("script-src 'self'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
