//! Federation on both stores, against a real OpenID provider (panva's oidc-provider, RS256): a
//! first sign-in makes an account, a linked identity signs in again, an address match links only
//! when both sides verified it, linking and unlinking while signed in, the MFA step after a
//! provider, and every refusal the issue lists.

use e2e::upstream::{self, APP_REDIRECT, Browser, PROVIDER, fragment, location};
use e2e::{PASSWORD, TestApp, request, unique_email};
use http::Method;
use serde_json::json;
use shared::domain::mfa::TotpKey;
use shared::domain::sha256_hex;
use shared::email::{Mail, Verification};
use shared::service::{ClientInfo, federation};
use shared::time::UnixTime;

async fn with_provider(app: TestApp, auto_link: &str) -> TestApp {
    app.with_federation(upstream::federation(auto_link).await)
}

fn claims(app: &TestApp, access_token: &str) -> shared::tokens::AccessClaims {
    app.gateway.accounts.verifier.verify_access(access_token, UnixTime::now()).unwrap()
}

/// Signs in through the provider as `login` and trades the code: the token response.
async fn federated_sign_in(app: &TestApp, login: &str) -> e2e::TestResponse {
    let mut browser = Browser::default();
    let back = browser.sign_in(app, login).await;
    let code = fragment(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    browser.exchange(app, &code).await
}

async fn a_first_sign_in_makes_an_account_and_the_identity_signs_in_again(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    let mut browser = Browser::default();
    let back = browser.sign_in(&app, &email).await;
    assert!(back.starts_with(&format!("{APP_REDIRECT}#code=")), "{back}");
    let signed_in = browser.exchange(&app, &fragment(&back, "code").unwrap()).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(signed_in.body["user"]["email"], email.as_str());
    assert_eq!(signed_in.body["user"]["email_verified"], true, "the provider asserted it");
    let access = claims(&app, &signed_in.text("access_token"));
    assert_eq!(access.amr, ["fed"], "no password was used");
    assert_eq!(access.idp.as_deref(), Some(PROVIDER));
    // Everything else works as after a password login; the refresh keeps how it signed in.
    let refreshed = app.refresh(&signed_in.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200);
    let access = claims(&app, &refreshed.text("access_token"));
    assert_eq!((access.amr, access.idp.as_deref()), (vec!["fed".to_owned()], Some(PROVIDER)));
    // The grace answer (the spent token again, moments later) says the same.
    let grace = app.refresh(&signed_in.text("refresh_token")).await;
    assert_eq!(grace.status, 200, "{:?}", grace.body);
    let access = claims(&app, &grace.text("access_token"));
    assert_eq!((access.amr, access.idp.as_deref()), (vec!["fed".to_owned()], Some(PROVIDER)));
    let identities = app.get("/auth/identities", Some(&refreshed.text("access_token"))).await;
    assert_eq!(identities.body["identities"][0]["provider"], PROVIDER);
    assert_eq!(identities.body["identities"][0]["subject"], email.as_str());
    assert_eq!(identities.body["identities"][0]["email"], email.as_str());
    // No password: a password login does not get in, and "forgot password" can set one.
    assert_eq!(app.login(&email, PASSWORD).await.code(), "invalid_credentials");
    app.post("/auth/password/forgot", json!({ "email": email })).await;
    let reset = app.mailed_token(&email, "/reset-password");
    let set = app.post("/auth/password/reset", json!({ "token": reset, "new_password": PASSWORD })).await;
    assert_eq!(set.status, 204, "{:?}", set.body);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    // The same identity again: the same account.
    let again = federated_sign_in(&app, &email).await;
    assert_eq!(again.body["user"]["id"], signed_in.body["user"]["id"]);
    let registered = app.events.events().into_iter().filter(|event| event.kind.name() == "user.registered").count();
    assert_eq!(registered, 1);
}

async fn an_address_match_links_only_when_both_sides_verified_it(app: TestApp) {
    let app = with_provider(app, "verified").await;
    // A verified account: the provider's verified address links to it, with a notice.
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let token = app.mailed_token(&email, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": token })).await.status, 200);
    let linked = federated_sign_in(&app, &email).await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    assert_eq!(linked.body["user"]["id"], registered.body["user"]["id"]);
    assert!(app.mail_to(&email).last().unwrap().subject.contains("sign-in method was added"));

    // An unverified provider address never reaches an account (anyone can type one).
    let mut browser = Browser::default();
    let back = browser.sign_in(&app, &format!("unverified:{email}")).await;
    assert_eq!(fragment(&back, "error").as_deref(), Some("account_exists"), "{back}");
    // An account that never proved its address may be someone's placeholder (pre-hijacking).
    let unproved = unique_email();
    app.register(&unproved, PASSWORD).await;
    let back = Browser::default().sign_in(&app, &unproved).await;
    assert_eq!(fragment(&back, "error").as_deref(), Some("account_exists"), "{back}");
    // Another subject with the same (verified) address cannot join the one already linked.
    let back = Browser::default().sign_in(&app, &format!("other:{email}")).await;
    assert_eq!(fragment(&back, "error").as_deref(), Some("account_exists"), "{back}");

    // OAUTH_AUTO_LINK=never: never by address.
    let never = with_provider(e2e::spawn_app(app.gateway.accounts.store.clone()), "never").await;
    let verified = unique_email();
    never.register(&verified, PASSWORD).await;
    let token = never.mailed_token(&verified, "/verify-email");
    never.post("/auth/email/verify", json!({ "token": token })).await;
    let back = Browser::default().sign_in(&never, &verified).await;
    assert_eq!(fragment(&back, "error").as_deref(), Some("account_exists"));
}

async fn refusals_of_the_state_the_browser_and_the_redirect(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    // A redirect_uri not on the list: 400 and no redirect at all.
    let browser = Browser::default();
    let evil = browser.authorize_path().replace(&upstream::urlencode(APP_REDIRECT), "https%3A%2F%2Fevil.example%2F");
    let refused = app.send(request(Method::GET, &evil, None, None)).await;
    assert_eq!((refused.status, refused.code()), (400, "invalid_redirect_uri"));
    assert!(refused.headers.get("location").is_none());
    let unknown = app.get("/auth/oauth/nope/authorize?redirect_uri=x", None).await;
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));
    let plain = browser.authorize_path().replace("S256", "plain");
    let refused = app.send(request(Method::GET, &plain, None, None)).await;
    assert_eq!(
        (refused.code(), &refused.body["errors"][0]["field"]),
        ("validation_failed", &json!("code_challenge_method"))
    );
    let base = format!("/auth/oauth/{PROVIDER}/authorize?redirect_uri={}", upstream::urlencode(APP_REDIRECT));
    for challenge in ["", "&code_challenge=short", "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"] {
        let refused = app.send(request(Method::GET, &format!("{base}{challenge}"), None, None)).await;
        assert_eq!(refused.status, 400, "{challenge}: {:?}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], "code_challenge", "{challenge}");
    }

    // A callback in another browser than the one that started: refused, and the state is spent.
    let mut started = Browser::default();
    let authorize = started.authorize(&app, &email).await;
    let callback = Browser::at_provider(location(&authorize)).await;
    let elsewhere =
        Browser { cookie: Some("another-browsers-cookie-value-0000000000000".into()), ..Browser::default() };
    let refused = elsewhere.callback(&app, &callback).await;
    assert_eq!((refused.status, refused.code()), (400, "invalid_token"));
    let replayed = started.callback(&app, &callback).await;
    assert_eq!((replayed.status, replayed.code()), (400, "invalid_token"), "a state works once");

    // A replayed state after a good callback; an unknown one.
    let mut browser = Browser::default();
    let authorize = browser.authorize(&app, &email).await;
    let callback = Browser::at_provider(location(&authorize)).await;
    assert_eq!(browser.callback(&app, &callback).await.status, 302);
    assert_eq!(browser.callback(&app, &callback).await.code(), "invalid_token");
    let made_up = callback.replace("state=", "state=x");
    assert_eq!(browser.callback(&app, &made_up).await.code(), "invalid_token");

    // RFC 9207: the callback names another issuer than the provider's (a mix-up).
    let mut browser = Browser::default();
    let authorize = browser.authorize(&app, &email).await;
    let callback = Browser::at_provider(location(&authorize)).await;
    assert!(callback.contains("iss="), "oidc-provider sends RFC 9207's iss: {callback}");
    let mixed_up = format!("{}&iss=https%3A%2F%2Fevil.example", callback.split("&iss=").next().unwrap());
    let back = browser.callback(&app, &mixed_up).await;
    assert_eq!(fragment(location(&back), "error").as_deref(), Some("invalid_token"));

    // The user declines at the provider.
    let back = Browser::default().sign_in(&app, &format!("deny:{email}")).await;
    assert_eq!(fragment(&back, "error").as_deref(), Some("access_denied"));
    // No address from the provider: no account to make.
    let back = Browser::default().sign_in(&app, "noemail:someone").await;
    assert_eq!(fragment(&back, "error").as_deref(), Some("access_denied"));
}

async fn a_wrong_nonce_is_refused(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let store = app.gateway.accounts.store.clone();
    let mut browser = Browser::default();
    let authorize = browser.authorize(&app, &unique_email()).await;
    let callback = Browser::at_provider(location(&authorize)).await;
    // The stored login expects another nonce than the one the provider put in the ID token.
    let state = callback.split("state=").nth(1).unwrap().split('&').next().unwrap();
    let mut login = store.take_upstream_login(&sha256_hex(state), UnixTime::now()).await.unwrap().unwrap();
    login.nonce = "not-the-nonce-the-provider-signed".into();
    store.put_upstream_login(&login).await.unwrap();
    let back = browser.callback(&app, &callback).await;
    assert_eq!(fragment(location(&back), "error").as_deref(), Some("invalid_token"));
}

async fn a_login_code_works_once_within_60_seconds_with_its_verifier(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    let mut browser = Browser::default();
    let code = fragment(&browser.sign_in(&app, &email).await, "code").unwrap();
    let wrong = Browser { verifier: "w".repeat(43), cookie: None };
    assert_eq!(wrong.exchange(&app, &code).await.code(), "invalid_token");
    assert_eq!(browser.exchange(&app, &code).await.code(), "invalid_token", "a wrong verifier spent it");

    let code = fragment(&browser.sign_in(&app, &email).await, "code").unwrap();
    assert_eq!(browser.exchange(&app, &code).await.status, 200);
    assert_eq!(browser.exchange(&app, &code).await.code(), "invalid_token", "used twice");

    let code = fragment(&browser.sign_in(&app, &email).await, "code").unwrap();
    let later = UnixTime::now().plus_secs(61);
    let expired = federation::exchange_login_code(
        &app.gateway.accounts,
        &code,
        &browser.verifier,
        &ClientInfo::default(),
        None,
        later,
    )
    .await;
    assert_eq!(expired.unwrap_err().code(), "invalid_token");
}

async fn a_disabled_account_is_refused_at_the_callback(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    let signed_in = federated_sign_in(&app, &email).await;
    let user_id = signed_in.body["user"]["id"].as_str().unwrap().to_owned();
    let admin = app.sign_in_admin().await.text("access_token");
    let path = format!("/admin/users/{user_id}");
    app.send(request(Method::PATCH, &path, Some(json!({ "disabled": true })), Some(&admin))).await;
    let back = Browser::default().sign_in(&app, &email).await;
    assert_eq!(fragment(&back, "error").as_deref(), Some("account_disabled"));
}

async fn an_account_with_mfa_takes_its_second_step_after_the_provider(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    let first = federated_sign_in(&app, &email).await;
    // No password: the sign-in moments ago stands in for it.
    let access = first.text("access_token");
    let started = app.send(request(Method::POST, "/auth/mfa/totp", None, Some(&access))).await;
    let key = TotpKey::from_base32(&started.text("secret")).unwrap();
    let confirm = json!({ "code": key.code_at(UnixTime::now().secs()) });
    let confirmed = app.send(request(Method::POST, "/auth/mfa/totp/confirm", Some(confirm), Some(&access))).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    let step = federated_sign_in(&app, &email).await;
    assert_eq!((step.status, step.code()), (401, "mfa_required"), "{:?}", step.body);
    let verified = app
        .post(
            "/auth/mfa/verify",
            json!({ "mfa_token": step.text("mfa_token"), "code": key.code_at(UnixTime::now().secs() + 30) }),
        )
        .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let access = claims(&app, &verified.text("access_token"));
    assert_eq!((access.amr, access.idp.as_deref()), (vec!["fed".to_owned(), "otp".to_owned()], Some(PROVIDER)));
}

async fn linking_while_signed_in_and_unlinking(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let access = registered.text("access_token");
    // A reset link mailed before the link is voided by it (a credential event).
    app.post("/auth/password/forgot", json!({ "email": email })).await;
    let reset = app.mailed_token(&email, "/reset-password");
    let started =
        app.send(request(Method::POST, &format!("/auth/identities/{PROVIDER}"), Some(json!({})), Some(&access))).await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    let mut browser =
        Browser { cookie: started.cookie(shared::transport::UPSTREAM_LOGIN_COOKIE), ..Browser::default() };
    // The provider's account has another address: linking while signed in needs no match.
    let upstream_login = format!("linked-{}", unique_email());
    let url = format!("{}&login_hint={}", started.text("authorize_url"), upstream::urlencode(&upstream_login));
    let back = browser.callback(&app, &Browser::at_provider(&url).await).await;
    assert_eq!(fragment(location(&back), "linked").as_deref(), Some(PROVIDER), "{:?}", back.headers);
    let reset_after =
        app.post("/auth/password/reset", json!({ "token": reset, "new_password": "another long password" })).await;
    assert_eq!(reset_after.code(), "invalid_token");
    // The identity now signs in to this account.
    let signed_in = federated_sign_in(&app, &upstream_login).await;
    assert_eq!(signed_in.body["user"]["id"], registered.body["user"]["id"]);
    browser.cookie = None;

    // Unlink: a password remains, so it may go; then the identity is a stranger again.
    let unlinked =
        app.send(request(Method::DELETE, &format!("/auth/identities/{PROVIDER}"), None, Some(&access))).await;
    assert_eq!(unlinked.status, 204, "{:?}", unlinked.body);
    assert!(app.mail_to(&email).last().unwrap().subject.contains("sign-in method was removed"));
    let missing = app.send(request(Method::DELETE, &format!("/auth/identities/{PROVIDER}"), None, Some(&access))).await;
    assert_eq!((missing.status, missing.code()), (404, "not_found"));

    // The last way to sign in stays.
    let only = federated_sign_in(&app, &unique_email()).await;
    let last = app
        .send(request(Method::DELETE, &format!("/auth/identities/{PROVIDER}"), None, Some(&only.text("access_token"))))
        .await;
    assert_eq!((last.status, last.code()), (409, "conflict"));
}

async fn linking_needs_a_recent_sign_in_or_the_password(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    let access = app.register(&email, PASSWORD).await.text("access_token");
    let principal = e2e::principal_of(&app, &access);
    let later = UnixTime::now().plus_secs(shared::service::RECENT_SIGN_IN_SECS + 5);
    let federation = &app.gateway.federation;
    let recovery = &app.gateway.accounts.recovery;
    let stale =
        federation::begin_link(federation, recovery, &principal, PROVIDER, Some(APP_REDIRECT), None, later).await;
    assert_eq!(stale.unwrap_err().code(), "reauthentication_required");
    let password = shared::domain::Password::parse_presented(PASSWORD.to_owned()).unwrap();
    let proven =
        federation::begin_link(federation, recovery, &principal, PROVIDER, Some(APP_REDIRECT), Some(password), later)
            .await;
    assert!(proven.is_ok(), "{proven:?}");
}

async fn an_unreachable_provider_answers_503(app: TestApp) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = app.with_federation(upstream::federation_at(&issuer, "verified").await);
    let browser = Browser::default();
    let refused = app.send(request(Method::GET, &browser.authorize_path(), None, None)).await;
    assert_eq!((refused.status, refused.code()), (503, "provider_unavailable"), "{:?}", refused.body);
    assert_eq!(refused.headers["content-type"], "application/problem+json");
}

async fn deleting_an_account_frees_its_identity(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    let first = federated_sign_in(&app, &email).await;
    let deleted = app.send(request(Method::DELETE, "/auth/me", None, Some(&first.text("access_token")))).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let store = app.gateway.accounts.store.clone();
    assert_eq!(store.user_by_identity(PROVIDER, &email).await.unwrap(), None);
    let again = federated_sign_in(&app, &email).await;
    assert_eq!(again.status, 200);
    assert_ne!(again.body["user"]["id"], first.body["user"]["id"], "a new account");
}

/// GitHub (its stand-in, after GitHub's published shapes): OAuth 2 without an ID token; the
/// numeric user id is the subject, the primary address counts only if GitHub verified it.
async fn github_signs_in_with_its_primary_verified_address(app: TestApp) {
    let app = app.with_federation(upstream::standin_federation().await);
    let email = unique_email();
    let mut browser = Browser::default();
    let authorize = browser.authorize_with(&app, "github", &email).await;
    assert_eq!(authorize.status, 302, "{:?}", authorize.body);
    assert!(location(&authorize).contains("code_challenge_method=S256") && !location(&authorize).contains("nonce="));
    let back = browser.callback(&app, &Browser::at_provider(location(&authorize)).await).await;
    let code = fragment(location(&back), "code").unwrap_or_else(|| panic!("{:?}", back.headers));
    let signed_in = browser.exchange(&app, &code).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(signed_in.body["user"]["email"], email.as_str());
    assert_eq!(signed_in.body["user"]["email_verified"], true);
    let access = claims(&app, &signed_in.text("access_token"));
    assert_eq!(access.idp.as_deref(), Some("github"));
    let identities = app.get("/auth/identities", Some(&signed_in.text("access_token"))).await;
    let subject = identities.body["identities"][0]["subject"].as_str().unwrap().to_owned();
    assert!(subject.bytes().all(|byte| byte.is_ascii_digit()), "GitHub's numeric id: {subject}");

    // An unverified primary address joins no existing account.
    let verified = unique_email();
    app.register(&verified, PASSWORD).await;
    let token = app.mailed_token(&verified, "/verify-email");
    app.post("/auth/email/verify", json!({ "token": token })).await;
    let mut browser = Browser::default();
    let authorize = browser.authorize_with(&app, "github", &format!("unverified:{verified}")).await;
    let back = browser.callback(&app, &Browser::at_provider(location(&authorize)).await).await;
    assert_eq!(fragment(location(&back), "error").as_deref(), Some("account_exists"));
}

/// Apple (its stand-in, after Apple's published shapes): the answer comes by `form_post` (a
/// cross-site POST the binding cookie still reaches), the client secret is an ES256 JWT the
/// stand-in verifies, and `email_verified` is the string "true".
async fn apple_answers_by_form_post_and_takes_a_signed_client_secret(app: TestApp) {
    let app = app.with_federation(upstream::standin_federation().await);
    let email = unique_email();
    let mut browser = Browser::default();
    let authorize = browser.authorize_with(&app, "apple", &email).await;
    assert!(location(&authorize).contains("response_mode=form_post"), "{}", location(&authorize));
    let answer = Browser::provider_answer(location(&authorize)).await;
    let back = browser.form_post(&app, answer["form_post"].as_str().unwrap(), &answer["fields"]).await;
    assert_eq!(back.status, 302, "{:?}", back.body);
    let code = fragment(location(&back), "code").unwrap_or_else(|| panic!("{:?}", back.headers));
    let signed_in = browser.exchange(&app, &code).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(signed_in.body["user"]["email_verified"], true, "Apple's \"true\"");
    let access = claims(&app, &signed_in.text("access_token"));
    assert_eq!((access.amr, access.idp.as_deref()), (vec!["fed".to_owned()], Some("apple")));
    // The same POST again: the state was spent.
    let replayed = browser.form_post(&app, answer["form_post"].as_str().unwrap(), &answer["fields"]).await;
    assert_eq!((replayed.status, replayed.code()), (400, "invalid_token"));
}

/// Pre-hijacking through a provider that does not verify addresses: someone makes an account
/// with the victim's address that way; the victim's password reset, the first proof of the
/// address, unlinks that identity, so its maker has no way in afterwards.
async fn the_first_reset_unlinks_an_identity_planted_before_the_address_was_proved(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let victim = unique_email();
    let planted = format!("unverified:{victim}");
    let attackers = federated_sign_in(&app, &planted).await;
    assert_eq!(attackers.status, 200, "{:?}", attackers.body);
    assert_eq!(attackers.body["user"]["email_verified"], false);

    app.post("/auth/password/forgot", json!({ "email": victim })).await;
    let reset = app.mailed_token(&victim, "/reset-password");
    let done = app.post("/auth/password/reset", json!({ "token": reset, "new_password": PASSWORD })).await;
    assert_eq!(done.status, 204, "{:?}", done.body);
    assert!(app.mail_to(&victim).iter().any(|mail| mail.subject.contains("sign-in method was removed")));
    // The planted identity reaches the account no more (an unverified address links nothing).
    let back = Browser::default().sign_in(&app, &planted).await;
    assert_eq!(fragment(&back, "error").as_deref(), Some("account_exists"), "{back}");
    let owner = app.login(&victim, PASSWORD).await;
    assert_eq!(owner.status, 200);
    let identities = app.get("/auth/identities", Some(&owner.text("access_token"))).await;
    assert_eq!(identities.body["identities"], json!([]));
    // The attacker's old session ended with the reset.
    assert_eq!(app.refresh(&attackers.text("refresh_token")).await.code(), "token_revoked");
}

/// What the callback refuses before asking the provider anything, and a provider that stops
/// answering between the redirect and the callback.
async fn an_empty_or_oversized_code_and_a_provider_gone_at_the_callback(app: TestApp) {
    let (issuer, mut provider) = upstream::own_provider();
    let app = app.with_federation(upstream::federation_at(&issuer, "verified").await);
    let email = unique_email();
    for code in [String::new(), "c".repeat(2049)] {
        let mut browser = Browser::default();
        let authorize = browser.authorize(&app, &email).await;
        let callback = Browser::at_provider(location(&authorize)).await;
        let (before, after) = callback.split_once("code=").unwrap();
        let after = after.split_once('&').map_or(String::new(), |(_, rest)| format!("&{rest}"));
        let back = browser.callback(&app, &format!("{before}code={code}{after}")).await;
        assert_eq!(fragment(location(&back), "error").as_deref(), Some("access_denied"), "{} bytes", code.len());
    }
    let mut browser = Browser::default();
    let authorize = browser.authorize(&app, &email).await;
    let callback = Browser::at_provider(location(&authorize)).await;
    provider.kill().unwrap();
    provider.wait().unwrap();
    let back = browser.callback(&app, &callback).await;
    assert_eq!(fragment(location(&back), "error").as_deref(), Some("provider_unavailable"));
}

/// Link mode's own rules: the identity already here (linked again: fine), another account's
/// (`account_exists`), a second subject of a provider the account has, and a credential event
/// between the start and the callback.
async fn linking_an_identity_that_is_taken_or_after_a_credential_event_is_refused(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let email = unique_email();
    let access = app.register(&email, PASSWORD).await.text("access_token");
    let link = |login: String| {
        let app = &app;
        let access = access.clone();
        async move {
            let path = format!("/auth/identities/{PROVIDER}");
            let started = app.send(request(Method::POST, &path, Some(json!({})), Some(&access))).await;
            assert_eq!(started.status, 200, "{:?}", started.body);
            let browser =
                Browser { cookie: started.cookie(shared::transport::UPSTREAM_LOGIN_COOKIE), ..Browser::default() };
            let url = format!("{}&login_hint={}", started.text("authorize_url"), upstream::urlencode(&login));
            (browser, Browser::at_provider(&url).await)
        }
    };
    let linked_fragment = |back: &e2e::TestResponse, name: &str| fragment(location(back), name);
    let mine = format!("mine-{}", unique_email());
    let (browser, callback) = link(mine.clone()).await;
    assert_eq!(linked_fragment(&browser.callback(&app, &callback).await, "linked").as_deref(), Some(PROVIDER));
    // Again the same identity: already this account's.
    let (browser, callback) = link(mine).await;
    assert_eq!(linked_fragment(&browser.callback(&app, &callback).await, "linked").as_deref(), Some(PROVIDER));
    // A second provider joins the first: one identity per provider, not one in all.
    let second = format!("/auth/identities/{}", upstream::SECOND_PROVIDER);
    let started = app.send(request(Method::POST, &second, Some(json!({})), Some(&access))).await;
    let browser = Browser { cookie: started.cookie(shared::transport::UPSTREAM_LOGIN_COOKIE), ..Browser::default() };
    let url = format!("{}&login_hint={}", started.text("authorize_url"), upstream::urlencode(&unique_email()));
    let back = browser.callback(&app, &Browser::at_provider(&url).await).await;
    assert_eq!(linked_fragment(&back, "linked").as_deref(), Some(upstream::SECOND_PROVIDER), "{:?}", back.headers);
    // Another subject of the same provider: one per provider.
    let (browser, callback) = link(format!("second-{}", unique_email())).await;
    assert_eq!(linked_fragment(&browser.callback(&app, &callback).await, "error").as_deref(), Some("account_exists"));
    // Someone else's identity.
    let others = unique_email();
    federated_sign_in(&app, &others).await;
    let unlinked =
        app.send(request(Method::DELETE, &format!("/auth/identities/{PROVIDER}"), None, Some(&access))).await;
    assert_eq!(unlinked.status, 204);
    let access = app.login(&email, PASSWORD).await.text("access_token");
    let path = format!("/auth/identities/{PROVIDER}");
    let started = app.send(request(Method::POST, &path, Some(json!({})), Some(&access))).await;
    let browser = Browser { cookie: started.cookie(shared::transport::UPSTREAM_LOGIN_COOKIE), ..Browser::default() };
    let url = format!("{}&login_hint={}", started.text("authorize_url"), upstream::urlencode(&others));
    let back = browser.callback(&app, &Browser::at_provider(&url).await).await;
    assert_eq!(linked_fragment(&back, "error").as_deref(), Some("account_exists"));
    // A credential event (here a sign-out everywhere) between the start and the callback.
    let started = app.send(request(Method::POST, &path, Some(json!({})), Some(&access))).await;
    let browser = Browser { cookie: started.cookie(shared::transport::UPSTREAM_LOGIN_COOKIE), ..Browser::default() };
    let url = format!("{}&login_hint={}", started.text("authorize_url"), upstream::urlencode(&unique_email()));
    let callback = Browser::at_provider(&url).await;
    let session = app.login(&email, PASSWORD).await;
    assert_eq!(app.logout(&session.text("refresh_token"), "global", None).await.status, 204);
    let back = browser.callback(&app, &callback).await;
    assert_eq!(linked_fragment(&back, "error").as_deref(), Some("invalid_token"));
}

/// A provider that did not verify the address: the new account is unverified and gets the
/// verification mail (a verified one gets none); with EMAIL_VERIFICATION=required it cannot
/// sign in until the link is used.
async fn an_unverified_provider_address_gets_the_verification_mail(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let verified = unique_email();
    federated_sign_in(&app, &verified).await;
    assert!(app.mail_to(&verified).is_empty(), "nothing to verify: {:?}", app.mail_to(&verified));
    let unverified = unique_email();
    let signed_in = federated_sign_in(&app, &format!("unverified:{unverified}")).await;
    assert_eq!(signed_in.body["user"]["email_verified"], false);
    app.mailed_token(&unverified, "/verify-email");

    let required = app.with_mail(|mail| Mail { verification: Verification::Required, ..mail });
    let pending = unique_email();
    let refused = federated_sign_in(&required, &format!("unverified:{pending}")).await;
    assert_eq!((refused.status, refused.code()), (403, "email_not_verified"));
    let token = required.mailed_token(&pending, "/verify-email");
    assert_eq!(required.post("/auth/email/verify", json!({ "token": token })).await.status, 200);
    assert_eq!(federated_sign_in(&required, &format!("unverified:{pending}")).await.status, 200);
}

/// The upstream login lives 10 minutes: a callback after that finds no state.
async fn a_callback_after_ten_minutes_finds_no_state(app: TestApp) {
    let app = with_provider(app, "verified").await;
    let mut browser = Browser::default();
    let authorize = browser.authorize(&app, &unique_email()).await;
    let callback = Browser::at_provider(location(&authorize)).await;
    let query: Vec<(String, String)> = serde_urlencoded::from_str(callback.split_once('?').unwrap().1).unwrap();
    let param = |name: &str| query.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let (state, code) = (param("state"), param("code"));
    let params = federation::CallbackParams {
        provider: PROVIDER,
        state: state.as_deref(),
        code: code.as_deref(),
        error: None,
        issuer: None,
        browser_binding: browser.cookie.as_deref(),
    };
    let (flows, federation) = (&app.gateway.accounts.recovery, &app.gateway.federation);
    let late = UnixTime::now().plus_secs(shared::domain::federation::UPSTREAM_LOGIN_TTL_SECS + 1);
    let refused = federation::callback(federation, flows, &params, late).await;
    assert_eq!(refused.unwrap_err(), shared::error::ApiError::InvalidState);
}

e2e::on_both_stores!(
    a_first_sign_in_makes_an_account_and_the_identity_signs_in_again,
    an_address_match_links_only_when_both_sides_verified_it,
    refusals_of_the_state_the_browser_and_the_redirect,
    a_wrong_nonce_is_refused,
    a_login_code_works_once_within_60_seconds_with_its_verifier,
    a_disabled_account_is_refused_at_the_callback,
    an_account_with_mfa_takes_its_second_step_after_the_provider,
    linking_while_signed_in_and_unlinking,
    linking_needs_a_recent_sign_in_or_the_password,
    an_unreachable_provider_answers_503,
    deleting_an_account_frees_its_identity,
    github_signs_in_with_its_primary_verified_address,
    apple_answers_by_form_post_and_takes_a_signed_client_secret,
    the_first_reset_unlinks_an_identity_planted_before_the_address_was_proved,
    an_empty_or_oversized_code_and_a_provider_gone_at_the_callback,
    linking_an_identity_that_is_taken_or_after_a_credential_event_is_refused,
    an_unverified_provider_address_gets_the_verification_mail,
    a_callback_after_ten_minutes_finds_no_state,
);
