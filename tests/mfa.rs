//! Multi-factor authentication: enrolment with its QR code, the second step of a
//! login, codes that work once, the attempt limits, turning it off, and the administrators'
//! removal, through the gateway on both stores.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use e2e::{PASSWORD, TestApp, TestResponse, request, unique_email};
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use shared::authorizer::Authorizer;
use shared::domain::mfa::{STEP_SECS, TotpKey};
use shared::time::UnixTime;
use shared::transport::TokenTransport;

const PHONE: &str = "MyApp/3.0 (iOS 19)";

/// A request from the test's one client (its `User-Agent`, which an `mfa_token` is bound to).
fn from_phone(method: Method, path: &str, body: Option<Value>, bearer: Option<&str>) -> shared::http::ApiRequest {
    let mut request = request(method, path, body, bearer);
    request.headers.insert("user-agent", HeaderValue::from_static(PHONE));
    request
}

/// An account with MFA on: its address, the key as the app holds it, the recovery codes, and the
/// session that enrolled (whose code's step is now spent).
struct Enrolled {
    email: String,
    key: TotpKey,
    /// When the confirming code was computed: its step is spent.
    confirmed_at: u64,
    recovery_codes: Vec<String>,
    session: TestResponse,
}

/// The code an authenticator app shows `steps` steps from now.
fn code(key: &TotpKey, steps: i64) -> String {
    let now = UnixTime::now().secs() as i64;
    key.code_at((now + steps * STEP_SECS as i64) as u64)
}

async fn enrol(app: &TestApp) -> Enrolled {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(registered.status, 201);
    // Only a proved address may have a factor set up on it.
    let token = app.mailed_token(&email, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": token })).await.status, 200);
    let access = registered.text("access_token");
    let started = app.send(from_phone(Method::POST, "/auth/mfa/totp", None, Some(&access))).await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    assert_eq!(started.headers["cache-control"], "no-store");
    let secret = started.text("secret");
    let uri = started.text("otpauth_uri");
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains(&email.replace('@', "%40")), "the account is labelled: {uri}");
    assert!(started.text("qr_svg").starts_with("<?xml") || started.text("qr_svg").contains("<svg"));
    let key = TotpKey::from_base32(&secret).expect("the secret is base32");

    let confirm = |code: String| {
        let body = json!({ "code": code, "current_password": PASSWORD });
        app.send(from_phone(Method::POST, "/auth/mfa/totp/confirm", Some(body), Some(&access)))
    };
    let wrong = confirm(wrong_code(&key)).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_code"), "{:?}", wrong.body);
    let confirmed_at = UnixTime::now().secs();
    let confirmed = confirm(key.code_at(confirmed_at)).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    let recovery_codes: Vec<String> = confirmed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery_codes.len(), 10);
    // The caller's session is renewed, with the second factor proved: its tokens answer.
    let session = confirmed;
    Enrolled { email, key, confirmed_at, recovery_codes, session }
}

/// A code of none of the three steps the server accepts now.
fn wrong_code(key: &TotpKey) -> String {
    let taken = [code(key, -1), code(key, 0), code(key, 1)];
    (0..10).map(|digit| format!("{digit}{digit}{digit}{digit}{digit}{digit}")).find(|c| !taken.contains(c)).unwrap()
}

async fn login(app: &TestApp, email: &str) -> TestResponse {
    let body = json!({ "email": email, "password": PASSWORD });
    app.send(from_phone(Method::POST, "/auth/login", Some(body), None)).await
}

/// A login that stops at the second step: its `mfa_token`.
async fn challenged(app: &TestApp, email: &str) -> String {
    let response = login(app, email).await;
    assert_eq!((response.status, response.code()), (401, "mfa_required"), "{:?}", response.body);
    assert_eq!(response.headers["content-type"], "application/problem+json");
    assert_eq!(response.body["methods"], json!(["totp", "recovery_code"]));
    assert!(response.body.get("access_token").is_none() && response.body.get("refresh_token").is_none());
    assert!(response.headers.get("set-cookie").is_none(), "no session cookie before the second step");
    response.text("mfa_token")
}

async fn verify(app: &TestApp, mfa_token: &str, factor: (&str, &str)) -> TestResponse {
    let body = json!({ "mfa_token": mfa_token, factor.0: factor.1 });
    app.send(from_phone(Method::POST, "/auth/mfa/verify", Some(body), None)).await
}

fn amr(app: &TestApp, tokens: &TestResponse) -> Value {
    let claims = app.gateway.accounts.verifier.verify_access(&tokens.text("access_token"), UnixTime::now()).unwrap();
    json!(claims.amr)
}

async fn a_login_needs_the_code_and_each_code_works_once(app: TestApp) {
    let enrolled = enrol(&app).await;
    let me = app.get("/auth/me", Some(&enrolled.session.text("access_token"))).await;
    assert_eq!(me.body["mfa_enabled"], true);
    let plain = app.register(&unique_email(), PASSWORD).await;
    assert_eq!((amr(&app, &plain), plain.body["user"]["mfa_enabled"].clone()), (json!(["pwd"]), json!(false)));

    // The confirming code's step is spent: the next step's code (within the skew) signs in.
    let token = challenged(&app, &enrolled.email).await;
    let spent = verify(&app, &token, ("code", &enrolled.key.code_at(enrolled.confirmed_at))).await;
    assert_eq!((spent.status, spent.code()), (401, "invalid_code"), "{:?}", spent.body);
    let next = code(&enrolled.key, 1);
    let signed_in = verify(&app, &token, ("code", &next)).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(signed_in.headers["cache-control"], "no-store");
    assert_eq!(amr(&app, &signed_in), json!(["pwd", "otp"]));
    assert_eq!(signed_in.body["user"]["mfa_enabled"], true);
    // The mfa_token is spent with it, and the code is spent for every later login.
    let again = verify(&app, &token, ("code", &next)).await;
    assert_eq!((again.status, again.code()), (401, "invalid_token"));
    let replayed = verify(&app, &challenged(&app, &enrolled.email).await, ("code", &next)).await;
    assert_eq!((replayed.status, replayed.code()), (401, "invalid_code"));

    // The session works like any other, and its rotations keep saying how it began.
    let refreshed = app.refresh(&signed_in.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200);
    assert_eq!(amr(&app, &refreshed), json!(["pwd", "otp"]));
    let sessions = app.get("/auth/sessions", Some(&refreshed.text("access_token"))).await;
    assert_eq!(sessions.body["sessions"][0]["user_agent"], PHONE);
    let logout = app.logout(&refreshed.text("refresh_token"), "local", None).await;
    assert_eq!(logout.status, 204);
}

async fn a_recovery_code_works_once_and_the_owner_hears_of_it(app: TestApp) {
    let enrolled = enrol(&app).await;
    let recovery = enrolled.recovery_codes[3].to_uppercase();
    let signed_in = verify(&app, &challenged(&app, &enrolled.email).await, ("recovery_code", &recovery)).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(amr(&app, &signed_in), json!(["pwd", "otp"]));
    let again = verify(&app, &challenged(&app, &enrolled.email).await, ("recovery_code", &recovery)).await;
    assert_eq!((again.status, again.code()), (401, "invalid_code"));
    let notices: Vec<_> = app.mail_to(&enrolled.email).into_iter().map(|message| message.subject).collect();
    assert!(notices.iter().any(|subject| subject.contains("recovery code")), "{notices:?}");
    let mail = app.mail_to(&enrolled.email);
    assert!(!mail.iter().any(|message| message.text.contains(&enrolled.recovery_codes[3])), "a code in a mail");
    // Another unused code still works.
    let token = challenged(&app, &enrolled.email).await;
    assert_eq!(verify(&app, &token, ("recovery_code", &enrolled.recovery_codes[0])).await.status, 200);
}

async fn five_wrong_codes_end_the_mfa_token_and_new_tokens_share_the_accounts_budget(app: TestApp) {
    let enrolled = enrol(&app).await;
    let wrong = wrong_code(&enrolled.key);
    let token = challenged(&app, &enrolled.email).await;
    for attempt in 1..=5 {
        let refused = verify(&app, &token, ("code", &wrong)).await;
        assert_eq!((refused.status, refused.code()), (401, "invalid_code"), "attempt {attempt}");
    }
    let ended = verify(&app, &token, ("code", &code(&enrolled.key, 1))).await;
    assert_eq!((ended.status, ended.code()), (429, "too_many_attempts"), "{:?}", ended.body);
    assert!(ended.headers.get("retry-after").is_some());
    // A second login's token gets five more, and then this client's budget at the account (ten
    // codes) is spent: a new login does not reset it.
    let second = challenged(&app, &enrolled.email).await;
    for _ in 1..=5 {
        assert_eq!(verify(&app, &second, ("code", &wrong)).await.code(), "invalid_code");
    }
    let third = challenged(&app, &enrolled.email).await;
    let throttled = verify(&app, &third, ("code", &code(&enrolled.key, 1))).await;
    assert_eq!((throttled.status, throttled.code()), (429, "too_many_attempts"), "{:?}", throttled.body);
}

async fn the_mfa_token_is_bound_to_its_login_and_is_no_token_anywhere_else(app: TestApp) {
    let enrolled = enrol(&app).await;
    let token = challenged(&app, &enrolled.email).await;
    // Another client (another User-Agent) cannot finish this login.
    let body = json!({ "mfa_token": token, "code": code(&enrolled.key, 1) });
    let elsewhere = app.send(request(Method::POST, "/auth/mfa/verify", Some(body), None)).await;
    assert_eq!((elsewhere.status, elsewhere.code()), (401, "invalid_token"));
    // Not an access token, not a refresh token.
    assert_eq!(app.get("/auth/me", Some(&token)).await.status, 403);
    let refresh = app.refresh(&token).await;
    assert_eq!((refresh.status, refresh.code()), (401, "invalid_token"));
    assert_eq!(app.logout(&token, "local", None).await.code(), "invalid_token");
    // Nor does a refresh token pass for an mfa_token.
    let refresh_token = enrolled.session.text("refresh_token");
    let swapped = verify(&app, &refresh_token, ("code", &code(&enrolled.key, 1))).await;
    assert_eq!((swapped.status, swapped.code()), (401, "invalid_token"));
    // A password change between the two steps ends the challenge.
    let change = json!({ "current_password": PASSWORD, "new_password": "another long password" });
    let access = enrolled.session.text("access_token");
    assert_eq!(app.send(request(Method::POST, "/auth/password", Some(change), Some(&access))).await.status, 200);
    let stale = verify(&app, &token, ("code", &code(&enrolled.key, 1))).await;
    assert_eq!((stale.status, stale.code()), (401, "invalid_token"));
    for bad in [
        json!({ "mfa_token": "x" }),
        json!({ "code": "123456" }),
        json!({ "mfa_token": "x", "code": "1", "recovery_code": "2" }),
    ] {
        let response = app.send(from_phone(Method::POST, "/auth/mfa/verify", Some(bad), None)).await;
        assert_eq!((response.status, response.code()), (400, "validation_failed"), "{:?}", response.body);
    }
}

async fn turning_mfa_off_takes_a_code(app: TestApp) {
    let enrolled = enrol(&app).await;
    let access = enrolled.session.text("access_token");
    let disable = |body: Option<Value>| app.send(from_phone(Method::DELETE, "/auth/mfa/totp", body, Some(&access)));
    assert_eq!(disable(None).await.code(), "validation_failed");
    let wrong = disable(Some(json!({ "code": wrong_code(&enrolled.key) }))).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_code"));
    let again = app.send(from_phone(Method::POST, "/auth/mfa/totp", None, Some(&access))).await;
    assert_eq!((again.status, again.code()), (409, "conflict"), "enrolling twice");
    let off = disable(Some(json!({ "recovery_code": enrolled.recovery_codes[9] }))).await;
    assert_eq!(off.status, 204, "{:?}", off.body);
    assert_eq!(disable(Some(json!({ "code": code(&enrolled.key, 1) }))).await.code(), "not_found");
    let subjects: Vec<_> = app.mail_to(&enrolled.email).into_iter().map(|message| message.subject).collect();
    assert!(subjects.iter().any(|subject| subject.contains("off")), "{subjects:?}");
    // The password alone signs in again, and nothing is pending.
    let plain = login(&app, &enrolled.email).await;
    assert_eq!(plain.status, 200, "{:?}", plain.body);
    assert_eq!(amr(&app, &plain), json!(["pwd"]));
    let confirm = json!({ "code": code(&enrolled.key, 1), "current_password": PASSWORD });
    let nothing = app.send(from_phone(Method::POST, "/auth/mfa/totp/confirm", Some(confirm), Some(&access))).await;
    assert_eq!((nothing.status, nothing.code()), (404, "not_found"));
}

async fn an_admin_removes_mfa_and_every_session_and_users_cannot(app: TestApp) {
    let enrolled = enrol(&app).await;
    let user_id = enrolled.session.body["user"]["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/users/{user_id}/mfa");
    let own = app.send(request(Method::DELETE, &path, None, Some(&enrolled.session.text("access_token")))).await;
    assert_eq!(own.status, 403, "a user is refused by the authorizer");
    let admin = app.sign_in_admin().await.text("access_token");
    let viewed = app.get(&format!("/admin/users/{user_id}"), Some(&admin)).await;
    assert_eq!(viewed.body["mfa_enabled"], true);
    let unknown = app
        .send(request(Method::DELETE, "/admin/users/0190a5b2-0000-7000-8000-00000000dead/mfa", None, Some(&admin)))
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));
    let removed = app.send(request(Method::DELETE, &path, None, Some(&admin))).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let refresh = app.refresh(&enrolled.session.text("refresh_token")).await;
    assert_eq!((refresh.status, refresh.code()), (401, "token_revoked"));
    assert_eq!(app.get(&format!("/admin/users/{user_id}"), Some(&admin)).await.body["mfa_enabled"], false);
    assert_eq!(login(&app, &enrolled.email).await.status, 200);
}

/// A table dump (the user as stored) holds the key sealed and the recovery codes as digests only.
async fn nothing_secret_is_stored_in_the_clear(app: TestApp) {
    let enrolled = enrol(&app).await;
    let user_id = enrolled.session.body["user"]["id"].as_str().unwrap().to_owned();
    let stored = app.gateway.accounts.store.user_by_id(&user_id).await.unwrap().unwrap();
    let factor = stored.mfa.expect("MFA is on");
    let secret = enrolled.key.base32();
    assert!(factor.sealed_key.starts_with("v1.") && !factor.sealed_key.contains(&secret));
    assert_eq!(factor.recovery_digests.len(), 10);
    for code in &enrolled.recovery_codes {
        let bare = code.replace('-', "");
        assert!(!factor.recovery_digests.iter().any(|digest| digest.contains(code) || digest.contains(&bare)));
    }
}

async fn the_cookie_transport_sets_the_session_cookies_at_the_second_step(app: TestApp) {
    // Tokens in the body too, so the test can enrol with a bearer token.
    let app = app.with_transport(TokenTransport::Both);
    let enrolled = enrol(&app).await;
    let token = challenged(&app, &enrolled.email).await;
    let signed_in = verify(&app, &token, ("code", &code(&enrolled.key, 1))).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    let cookies = [shared::transport::ACCESS_COOKIE, shared::transport::REFRESH_COOKIE, shared::transport::CSRF_COOKIE];
    for cookie in cookies {
        assert!(signed_in.cookie(cookie).is_some_and(|value| !value.is_empty()), "{cookie} not set");
    }
    assert_eq!(signed_in.cookie(shared::transport::REFRESH_COOKIE), Some(signed_in.text("refresh_token")));
}

async fn the_authorizer_hands_amr_to_the_handler(app: TestApp) {
    let enrolled = enrol(&app).await;
    let signed_in = verify(&app, &challenged(&app, &enrolled.email).await, ("code", &code(&enrolled.key, 1))).await;
    let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
    event.route_key = Some("GET /auth/me".into());
    let bearer = format!("Bearer {}", signed_in.text("access_token"));
    event.headers.insert("authorization", HeaderValue::from_str(&bearer).unwrap());
    let decision = Authorizer::new(&app.gateway.accounts.verifier, None).http_api(&event, UnixTime::now()).await;
    assert!(decision.is_authorized);
    assert_eq!(decision.context["amr"], "pwd otp");
}

e2e::on_both_stores!(
    a_login_needs_the_code_and_each_code_works_once,
    a_recovery_code_works_once_and_the_owner_hears_of_it,
    five_wrong_codes_end_the_mfa_token_and_new_tokens_share_the_accounts_budget,
    the_mfa_token_is_bound_to_its_login_and_is_no_token_anywhere_else,
    turning_mfa_off_takes_a_code,
    an_admin_removes_mfa_and_every_session_and_users_cannot,
    nothing_secret_is_stored_in_the_clear,
    the_cookie_transport_sets_the_session_cookies_at_the_second_step,
    the_authorizer_hands_amr_to_the_handler,
);

/// The raw DynamoDB items, read past the store: no plaintext key or code in the user item, and
/// the waiting records keyed by digests only.
#[tokio::test]
async fn a_dynamodb_dump_holds_no_plaintext_secret() {
    let store = e2e::dynamo_store().await;
    let app = e2e::spawn_app(store.clone());
    let enrolled = enrol(&app).await;
    let token = challenged(&app, &enrolled.email).await;
    let user_id = enrolled.session.body["user"]["id"].as_str().unwrap().to_owned();
    let dump = |table: String, pk: String| {
        let client = store.client().clone();
        async move {
            let key = aws_sdk_dynamodb::types::AttributeValue::S(pk);
            client.get_item().table_name(table).key("pk", key).consistent_read(true).send().await.unwrap().item
        }
    };
    let user = dump(store.tables().users.clone(), format!("user#{user_id}")).await.expect("the user item");
    let text = format!("{user:?}");
    let secret = enrolled.key.base32();
    assert!(text.contains("mfa_totp") && text.contains("mfa_recovery"), "{text}");
    assert!(!text.contains(&secret) && !text.to_lowercase().contains(&secret.to_lowercase()));
    for code in &enrolled.recovery_codes {
        assert!(!text.contains(code.as_str()) && !text.contains(&code.replace('-', "")), "{code} stored");
    }
    assert!(matches!(user["mfa_recovery"], aws_sdk_dynamodb::types::AttributeValue::Ss(_)));
    let digest = shared::domain::sha256_hex(&token);
    let challenge = dump(store.tables().revocations.clone(), format!("mfa_challenge#{digest}")).await;
    let challenge = challenge.expect("the challenge is keyed by the token's digest");
    assert!(!format!("{challenge:?}").contains(&token));
    assert!(challenge.contains_key("expires_at"), "TTL attribute");
}
