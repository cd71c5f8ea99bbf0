//! Browser transport (`TOKEN_TRANSPORT=cookie`): tokens in HttpOnly cookies, the refresh and
//! logout routes reading them, the authorizer accepting the access cookie, and the double-submit
//! CSRF check on every cookie-authenticated change — against both stores.

use std::collections::BTreeMap;

use bytes::Bytes;
use e2e::{TestApp, TestResponse, request, unique_email};
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use shared::domain::Role;
use shared::http::auth;
use shared::store::UserChanges;
use shared::transport::{ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE, TokenTransport};

use e2e::PASSWORD;

/// What a browser keeps: cookie name → value, updated from each response's `Set-Cookie`s.
#[derive(Clone, Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn store(&mut self, response: &TestResponse) {
        for set_cookie in response.headers.get_all("set-cookie") {
            let set_cookie = set_cookie.to_str().unwrap();
            let (name, value) = set_cookie.split(';').next().unwrap().split_once('=').unwrap();
            if set_cookie.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or_else(|| panic!("no {name} cookie in {:?}", self.0.keys()))
    }

    fn header(&self) -> String {
        self.0.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }
}

#[derive(Clone, Copy)]
enum Csrf<'t> {
    /// The page's own: the jar's CSRF cookie, echoed in the header.
    Sent,
    Missing,
    /// A CSRF cookie and header pair the sender chose (planted by a sibling subdomain, or another
    /// session's), with the jar's other cookies.
    Chosen(&'t str),
}

/// A request as the page (or another site's form) would send it: cookies, no Authorization.
async fn send(
    app: &TestApp,
    jar: &mut Jar,
    method: Method,
    path: &str,
    body: Option<Value>,
    csrf: Csrf<'_>,
) -> TestResponse {
    let mut request = request(method, path, body, None);
    let mut sent = jar.clone();
    let header = match csrf {
        Csrf::Sent => jar.0.get(CSRF_COOKIE).cloned(),
        Csrf::Missing => None,
        Csrf::Chosen(token) => {
            sent.0.insert(CSRF_COOKIE.to_owned(), token.to_owned());
            Some(token.to_owned())
        }
    };
    if !sent.0.is_empty() {
        request.headers.insert("cookie", HeaderValue::from_str(&sent.header()).unwrap());
    }
    if let Some(token) = header {
        request.headers.insert("x-csrf-token", HeaderValue::from_str(&token).unwrap());
    }
    let response = app.send(request).await;
    jar.store(&response);
    response
}

async fn signed_in(app: &TestApp, email: &str) -> Jar {
    let mut jar = Jar::default();
    let registered = send(
        app,
        &mut jar,
        Method::POST,
        "/auth/register",
        Some(json!({"email": email, "password": PASSWORD})),
        Csrf::Missing,
    )
    .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    jar
}

/// Logs in as the page does; the jar then holds the session's cookies.
async fn log_in(app: &TestApp, email: &str) -> (Jar, TestResponse) {
    let mut jar = Jar::default();
    let body = json!({"email": email, "password": PASSWORD});
    let response = send(app, &mut jar, Method::POST, "/auth/login", Some(body), Csrf::Missing).await;
    (jar, response)
}

async fn login_sets_cookies_and_keeps_tokens_out_of_the_body(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let email = unique_email();
    signed_in(&app, &email).await;
    let (mut jar, login) = log_in(&app, &email).await;
    assert_eq!(login.status, 200);
    assert!(login.body.get("access_token").is_none() && login.body.get("refresh_token").is_none(), "{}", login.body);
    assert_eq!(login.body["token_type"], "Bearer");
    assert!(login.body["expires_in"].as_u64().unwrap() > 0 && login.body["refresh_expires_in"].as_u64().unwrap() > 0);
    assert_eq!(login.body["user"]["email"], email.as_str());
    let set_cookies: Vec<_> =
        login.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    // The session's three, and the device cookie every login sets (the throttle's trusted device).
    assert_eq!(set_cookies.len(), 4, "{set_cookies:?}");
    let attributes = |name: &str| -> Vec<String> {
        let cookie = set_cookies.iter().find(|c| c.starts_with(name)).unwrap();
        cookie.split(';').map(|part| part.trim().to_owned()).collect()
    };
    let access = attributes(ACCESS_COOKIE);
    let access_max_age = format!("Max-Age={}", login.body["expires_in"]);
    for expected in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", access_max_age.as_str()] {
        assert!(access.iter().any(|a| a == expected), "access cookie lacks {expected}: {access:?}");
    }
    let refresh = attributes(REFRESH_COOKIE);
    let refresh_max_age = format!("Max-Age={}", login.body["refresh_expires_in"]);
    for expected in ["HttpOnly", "Secure", "Path=/auth", refresh_max_age.as_str()] {
        assert!(refresh.iter().any(|a| a == expected), "refresh cookie lacks {expected}: {refresh:?}");
    }
    assert!(!attributes(CSRF_COOKIE).iter().any(|a| a == "HttpOnly"), "the page must read the CSRF token");
    // The cookies authenticate: /auth/me through the authorizer with no Authorization header.
    let me = send(&app, &mut jar, Method::GET, "/auth/me", None, Csrf::Missing).await;
    assert_eq!((me.status, me.body["email"].as_str()), (200, Some(email.as_str())));
}

async fn cookie_refresh_needs_the_csrf_header(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let mut jar = signed_in(&app, &unique_email()).await;
    let csrf_before = jar.get(CSRF_COOKIE).to_owned();
    let refresh_before = jar.get(REFRESH_COOKIE).to_owned();

    let forged = send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Missing).await;
    assert_eq!((forged.status, forged.code()), (403, "csrf_failed"));
    assert_eq!(forged.headers["content-type"], "application/problem+json");
    assert_eq!(jar.get(REFRESH_COOKIE), refresh_before, "a refused request must not rotate anything");

    let refreshed = send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Sent).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert_ne!(jar.get(REFRESH_COOKIE), refresh_before, "the refresh cookie rotates");
    assert_eq!(jar.get(CSRF_COOKIE), csrf_before, "the page's CSRF token survives a refresh");
    assert_eq!(send(&app, &mut jar, Method::GET, "/auth/me", None, Csrf::Missing).await.status, 200);
}

async fn a_cross_site_form_post_cannot_log_out(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let mut jar = signed_in(&app, &unique_email()).await;
    // What a form on another site submits: the browser attaches our cookies, but no header.
    let mut form = request(Method::POST, "/auth/logout", None, None);
    form.headers.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
    form.headers.insert("cookie", HeaderValue::from_str(&jar.header()).unwrap());
    form.body = Bytes::from_static(b"scope=global");
    let refused = app.send(form).await;
    assert_eq!((refused.status, refused.code()), (403, "csrf_failed"));
    assert_eq!(send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Sent).await.status, 200);
}

/// RFC 7009 revocation by the refresh cookie: a cross-site form cannot sign the user out, the
/// page (with its CSRF header) can.
async fn revoking_by_the_refresh_cookie_needs_the_csrf_header(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let mut jar = signed_in(&app, &unique_email()).await;
    let revoke = |jar: &Jar, csrf: Option<&str>| {
        let mut form = request(Method::POST, "/auth/revoke", None, None);
        form.headers.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
        form.headers.insert("cookie", HeaderValue::from_str(&jar.header()).unwrap());
        if let Some(token) = csrf {
            form.headers.insert("x-csrf-token", HeaderValue::from_str(token).unwrap());
        }
        form
    };
    let cross_site = app.send(revoke(&jar, None)).await;
    assert_eq!((cross_site.status, cross_site.code()), (403, "csrf_failed"));
    let planted = app.send(revoke(&jar, Some("planted"))).await;
    assert_eq!((planted.status, planted.code()), (403, "csrf_failed"));
    assert_eq!(send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Sent).await.status, 200);
    let csrf = jar.get(CSRF_COOKIE).to_owned();
    let revoked = app.send(revoke(&jar, Some(&csrf))).await;
    assert_eq!((revoked.status, revoked.body.clone()), (200, Value::Null));
    let after = send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Sent).await;
    assert_eq!((after.status, after.code()), (401, "token_revoked"));
}

async fn cookie_logout_clears_the_cookies_and_ends_the_session(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let mut jar = signed_in(&app, &unique_email()).await;
    let refresh_token = jar.get(REFRESH_COOKIE).to_owned();
    let access_token = jar.get(ACCESS_COOKIE).to_owned();
    let logout = send(&app, &mut jar, Method::POST, "/auth/logout", None, Csrf::Sent).await;
    assert_eq!(logout.status, 204);
    assert!(jar.0.is_empty(), "cookies left: {:?}", jar.0.keys());
    // The session is gone, whoever presents its tokens.
    let refused = app.refresh(&refresh_token).await;
    assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    let claims = app.gateway.accounts.verifier.verify_access(&access_token, shared::time::UnixTime::now()).unwrap();
    let revoked = shared::store::AccessTokenRef { jti: claims.jti, session_id: claims.sid, user_id: claims.sub };
    assert!(app.gateway.accounts.store.is_access_revoked(&revoked, shared::time::UnixTime::now()).await.unwrap());
}

async fn cookie_authenticated_changes_need_csrf_but_bearer_ones_do_not(app: TestApp) {
    let app = app.with_transport(TokenTransport::Both);
    let email = unique_email();
    let mut jar = signed_in(&app, &email).await;
    let change = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
    let forged = send(&app, &mut jar, Method::POST, "/auth/password", Some(change.clone()), Csrf::Missing).await;
    assert_eq!((forged.status, forged.code()), (403, "csrf_failed"));
    let csrf_before = jar.get(CSRF_COOKIE).to_owned();
    let changed = send(&app, &mut jar, Method::POST, "/auth/password", Some(change), Csrf::Sent).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    // The renewed session keeps its binding: the page's CSRF token still works.
    assert_eq!(jar.get(CSRF_COOKIE), csrf_before);
    assert_eq!(send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Sent).await.status, 200);

    // An API client with a bearer token needs no CSRF token, even where cookies are on.
    let login = app.login(&email, "a brand new passphrase").await;
    let bearer = login.text("access_token");
    let back = json!({"current_password": "a brand new passphrase", "new_password": PASSWORD});
    let by_bearer = app.send(request(Method::POST, "/auth/password", Some(back), Some(&bearer))).await;
    assert_eq!(by_bearer.status, 200, "{:?}", by_bearer.body);
}

/// An administrator's cookie session, and the path of another account for it to change.
async fn admin_session(app: &TestApp) -> (Jar, String) {
    let email = unique_email();
    let mut jar = signed_in(app, &email).await;
    let me = send(app, &mut jar, Method::GET, "/auth/me", None, Csrf::Missing).await;
    let admin_id = me.body["id"].as_str().unwrap().to_owned();
    let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
    app.gateway.accounts.store.update_user(&admin_id, &promote, None).await.unwrap();
    let (mut jar, _) = log_in(app, &email).await;
    signed_in(app, &unique_email()).await;
    let listed = send(app, &mut jar, Method::GET, "/admin/users?limit=100", None, Csrf::Missing).await;
    assert_eq!(listed.status, 200, "reads need no CSRF token: {:?}", listed.body);
    let victim = listed.body["users"].as_array().unwrap().iter().find(|user| user["id"] != admin_id.as_str());
    (jar, format!("/admin/users/{}", victim.unwrap()["id"].as_str().unwrap()))
}

async fn admin_writes_by_cookie_need_csrf(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let (mut jar, path) = admin_session(&app).await;
    let victim = path.rsplit('/').next().unwrap().to_owned();
    let forged = send(&app, &mut jar, Method::PATCH, &path, Some(json!({"disabled": true})), Csrf::Missing).await;
    assert_eq!((forged.status, forged.code()), (403, "csrf_failed"));
    assert!(
        !app.gateway.accounts.store.user_by_id(&victim).await.unwrap().unwrap().disabled,
        "a refused write changed the user"
    );
    let done = send(&app, &mut jar, Method::PATCH, &path, Some(json!({"disabled": true})), Csrf::Sent).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
}

/// Every cookie-authenticated change, as `jar`'s session would make it with `csrf`.
async fn changes(app: &TestApp, jar: &mut Jar, admin_path: &str, csrf: Csrf<'_>) -> [(&'static str, TestResponse); 4] {
    let password = json!({"current_password": PASSWORD, "new_password": PASSWORD});
    let disable = json!({"disabled": true});
    [
        ("admin PATCH", send(app, jar, Method::PATCH, admin_path, Some(disable), csrf).await),
        ("password", send(app, jar, Method::POST, "/auth/password", Some(password), csrf).await),
        ("refresh", send(app, jar, Method::POST, "/auth/refresh", None, csrf).await),
        ("logout", send(app, jar, Method::POST, "/auth/logout", None, csrf).await),
    ]
}

fn assert_all_refused(responses: &[(&str, TestResponse)], why: &str) {
    for (route, response) in responses {
        assert_eq!((response.status, response.code()), (403, "csrf_failed"), "{why}: {route}: {:?}", response.body);
    }
}

/// A sibling subdomain can set cookies for ours (`Domain=.example.com`): a CSRF cookie and header
/// pair it chose matches itself, but is not the session's CSRF token.
async fn a_planted_csrf_pair_is_refused_on_every_change(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let (mut jar, path) = admin_session(&app).await;
    let before = jar.clone();
    let planted = changes(&app, &mut jar, &path, Csrf::Chosen("planted-by-a-sibling")).await;
    assert_all_refused(&planted, "a planted pair");
    assert_eq!(jar.0, before.0, "a refused request sets no cookie");
    assert!(!app.gateway.accounts.store.user_by_id(path.rsplit('/').next().unwrap()).await.unwrap().unwrap().disabled);
    // The session's own token passes each of them.
    let own = changes(&app, &mut jar, &path, Csrf::Sent).await;
    let statuses = own.each_ref().map(|(_, response)| response.status);
    assert_eq!(statuses, [200, 200, 200, 204], "{:?}", own.map(|(_, response)| response.body));
}

async fn another_sessions_csrf_token_is_refused(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let (mut jar, path) = admin_session(&app).await;
    // Another session's page holds a CSRF token of its own, genuinely issued by us.
    let other = signed_in(&app, &unique_email()).await;
    let foreign = other.get(CSRF_COOKIE).to_owned();
    assert_ne!(foreign, jar.get(CSRF_COOKIE));
    let refused = changes(&app, &mut jar, &path, Csrf::Chosen(&foreign)).await;
    assert_all_refused(&refused, "session A's CSRF token with session B's cookies");
    assert_eq!(send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Sent).await.status, 200);
}

async fn two_csrf_cookies_are_refused_not_picked_from(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let jar = signed_in(&app, &unique_email()).await;
    let own = jar.get(CSRF_COOKIE);
    let mut refresh = request(Method::POST, "/auth/refresh", None, None);
    let cookies = format!("{}; {CSRF_COOKIE}=planted", jar.header());
    refresh.headers.insert("cookie", HeaderValue::from_str(&cookies).unwrap());
    refresh.headers.insert("x-csrf-token", HeaderValue::from_str(own).unwrap());
    let refused = app.send(refresh).await;
    assert_eq!((refused.status, refused.code()), (403, "csrf_failed"), "{:?}", refused.body);
}

async fn each_login_issues_a_new_csrf_token(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let email = unique_email();
    let mut jar = signed_in(&app, &email).await;
    let mut seen = vec![jar.get(CSRF_COOKIE).to_owned()];
    for _ in 0..2 {
        // The browser still holds the last session's CSRF cookie and sends it along.
        let body = json!({"email": email, "password": PASSWORD});
        let login = send(&app, &mut jar, Method::POST, "/auth/login", Some(body), Csrf::Sent).await;
        assert_eq!(login.status, 200, "{:?}", login.body);
        let token = jar.get(CSRF_COOKIE).to_owned();
        assert!(!seen.contains(&token), "a login kept a CSRF token: {token}");
        seen.push(token);
    }
    // The newest token is the one the new session is bound to.
    assert_eq!(send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Sent).await.status, 200);
    assert_eq!(jar.get(CSRF_COOKIE), seen[2], "the refresh keeps it");
}

/// Tokens without the `csrf` claim (issued before the binding) no longer pass in cookie mode.
async fn tokens_without_a_binding_fail_the_cookie_check(app: TestApp) {
    let app = app.with_transport(TokenTransport::Cookie);
    let body = json!({"email": unique_email(), "password": PASSWORD});
    let old = auth::register(&app.gateway.accounts, TokenTransport::Body, request(Method::POST, "/", Some(body), None));
    let old: Value = serde_json::from_str(old.await.body()).unwrap();
    let mut jar = Jar::default();
    jar.0.insert(ACCESS_COOKIE.into(), old["access_token"].as_str().unwrap().into());
    jar.0.insert(REFRESH_COOKIE.into(), old["refresh_token"].as_str().unwrap().into());
    let change = json!({"current_password": PASSWORD, "new_password": PASSWORD});
    let password = send(&app, &mut jar, Method::POST, "/auth/password", Some(change), Csrf::Chosen("any")).await;
    let refresh = send(&app, &mut jar, Method::POST, "/auth/refresh", None, Csrf::Chosen("any")).await;
    assert_all_refused(&[("password", password), ("refresh", refresh)], "an unbound session");
    // Bearer requests never needed the binding.
    assert_eq!(app.get("/auth/me", old["access_token"].as_str()).await.status, 200);
}

/// `TOKEN_TRANSPORT=both`: a refresh by the body's token keeps the binding if the page holds the
/// session's CSRF cookie; without one, the new tokens are bound to a fresh CSRF token it sets.
async fn a_body_refresh_keeps_a_held_binding_else_binds_anew(app: TestApp) {
    let app = app.with_transport(TokenTransport::Both);
    let mut jar = Jar::default();
    let body = json!({"email": unique_email(), "password": PASSWORD});
    let registered = send(&app, &mut jar, Method::POST, "/auth/register", Some(body), Csrf::Missing).await;
    let held = jar.get(CSRF_COOKIE).to_owned();
    let by_body = json!({"refresh_token": registered.text("refresh_token")});
    let kept = send(&app, &mut jar, Method::POST, "/auth/refresh", Some(by_body), Csrf::Missing).await;
    assert_eq!((kept.status, jar.get(CSRF_COOKIE)), (200, held.as_str()), "{:?}", kept.body);

    // An API client: no cookies at all. The response's CSRF cookie is bound to its tokens.
    let api_client = app.refresh(&kept.text("refresh_token")).await;
    let mut fresh = Jar::default();
    fresh.store(&api_client);
    assert_ne!(fresh.get(CSRF_COOKIE), held);
    assert_eq!(send(&app, &mut fresh, Method::POST, "/auth/refresh", None, Csrf::Sent).await.status, 200);
    // The old page's token is not bound to the rebound session.
    let stale = send(&app, &mut fresh, Method::POST, "/auth/refresh", None, Csrf::Chosen(&held)).await;
    assert_eq!((stale.status, stale.code()), (403, "csrf_failed"));
}

async fn with_body_transport_cookies_are_ignored(app: TestApp) {
    // Default deployment: tokens only in the body, and the authorizer does not read cookies.
    let registered = app.register(&unique_email(), PASSWORD).await;
    assert!(registered.headers.get("set-cookie").is_none());
    let mut me = request(Method::GET, "/auth/me", None, None);
    let cookie = format!("{ACCESS_COOKIE}={}", registered.text("access_token"));
    me.headers.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    assert_eq!(app.send(me).await.status, 401);
}

e2e::on_both_stores!(
    login_sets_cookies_and_keeps_tokens_out_of_the_body,
    cookie_refresh_needs_the_csrf_header,
    a_cross_site_form_post_cannot_log_out,
    cookie_logout_clears_the_cookies_and_ends_the_session,
    cookie_authenticated_changes_need_csrf_but_bearer_ones_do_not,
    admin_writes_by_cookie_need_csrf,
    with_body_transport_cookies_are_ignored,
    a_planted_csrf_pair_is_refused_on_every_change,
    another_sessions_csrf_token_is_refused,
    two_csrf_cookies_are_refused_not_picked_from,
    each_login_issues_a_new_csrf_token,
    tokens_without_a_binding_fail_the_cookie_check,
    a_body_refresh_keeps_a_held_binding_else_binds_anew,
    revoking_by_the_refresh_cookie_needs_the_csrf_header,
);
