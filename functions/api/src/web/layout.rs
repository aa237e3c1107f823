//! The page layout, in maud: the one base every page is rendered into (borrower pages,
//! console, dashboard, and the staff sign-in page).
//!
//! Why maud rather than askama: our templates are small and full of logic on typed
//! values (enums, options, the lifecycle's allowed actions); in maud they are plain Rust,
//! checked by the compiler like the rest of the handler (a missing field or an
//! unhandled enum variant fails to compile), partials are ordinary functions, and there
//! is no second template language or template folder to keep in step. Every
//! interpolation `(x)` is escaped; markup we trust has its own type (`Markup`, or
//! `PreEscaped` where a trusted string is wrapped on purpose), so escaped and raw text
//! can no longer be mixed up in one `String`.

use super::html::{html_response, Lang};
use super::messages::Msg;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use maud::{html, Markup, DOCTYPE};

/// What the layout needs to know about a page.
pub struct PageMeta<'a> {
    pub lang: Lang,
    pub title: &'a str,
    /// Route name, for the body's `data-page` (the script keys its behaviour on it).
    pub name: &'a str,
    /// The path the language switch links to (`/complain`).
    pub path: &'a str,
}

/// A whole page: head, brand bar with the language switch, `main`, footer.
pub fn page(meta: &PageMeta<'_>, main: Markup) -> Markup {
    let l = meta.lang;
    let other = l.other();
    html! {
        (DOCTYPE)
        html lang=(l.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (meta.title) " · Redress" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body data-page=(meta.name) data-lang=(l.code()) {
                header class="top" {
                    a class="brand" href={ "/?lang=" (l.code()) } { (l.msg(Msg::Brand)) }
                    nav {
                        a href={ (meta.path) "?lang=" (other.code()) } lang=(other.html_lang())
                            hreflang=(other.html_lang()) class="lang" { (other.msg(Msg::LanguageName)) }
                    }
                }
                main { (main) }
                footer { p { (l.msg(Msg::Footer)) } }
            }
        }
    }
}

/// A page as an HTML answer with the security headers.
pub fn page_response(status: StatusCode, meta: &PageMeta<'_>, main: Markup) -> Response<Body> {
    html_response(status, page(meta, main).into_string(), &[])
}

/// An HTML fragment (inserted into the console or dashboard by its script).
pub fn fragment(status: StatusCode, markup: Markup) -> Response<Body> {
    html_response(status, markup.into_string(), &[])
}

/// The sign-in panel of the console and dashboard shells: the sign-in page (user name
/// and password, back to `next` afterwards), the hosted-UI button when configured, and
/// the token form for scripts. `intro` is shown above the token form.
pub fn token_sign_in(lang: Lang, next: &str, intro: Markup, hint: Msg) -> Markup {
    html! {
        section id="signin" class="panel" {
            h2 { (lang.msg(Msg::SignIn)) }
            p {
                a class="button primary" id="password-signin"
                    href={ "/signin?lang=" (lang.code()) "&next=" (next) } { (lang.msg(Msg::SignInWithPassword)) }
            }
            (intro)
            form id="token-form" class="stack" {
                div class="field" {
                    label for="token" { (lang.msg(Msg::SignInToken)) }
                    textarea id="token" rows="3" autocomplete="off" spellcheck="false" {}
                    p class="hint" { (lang.msg(hint)) }
                }
                p { button type="submit" class="button primary" { (lang.msg(Msg::SignIn)) } }
            }
        }
    }
}

/// The signed-in bar of a workspace: who, and sign out.
pub fn who_bar(lang: Lang) -> Markup {
    html! {
        p class="who" {
            span id="who" {} " "
            button type="button" class="button small" id="signout" { (lang.msg(Msg::SignOut)) }
        }
    }
}
