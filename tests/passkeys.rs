//! Passkeys on both stores, driven by a software authenticator in the test process (real CBOR,
//! real ES256 signatures, attestation `none` and `packed`): adding one needs a recent sign-in,
//! signing in with one is two factors, it answers an MFA account's second step, the owner and an
//! administrator manage them — and every refusal the issue lists.

use e2e::authenticator::{Attestation, Ceremony, SoftPasskey};
use e2e::upstream::{self, Browser, fragment};
use e2e::{APP_URL, PASSWORD, RP_ID, TestApp, TestResponse, request, unique_email};
use http::Method;
use serde_json::{Value, json};
use shared::domain::mfa::TotpKey;
use shared::email::{Mail, Verification};
use shared::error::ApiError;
use shared::service::passkeys;
use shared::time::UnixTime;

fn ceremony() -> Ceremony {
    Ceremony::at(APP_URL, RP_ID)
}

fn amr(app: &TestApp, tokens: &TestResponse) -> Value {
    let claims = app.gateway.accounts.verifier.verify_access(&tokens.text("access_token"), UnixTime::now()).unwrap();
    json!(claims.amr)
}

async fn send(app: &TestApp, method: Method, path: &str, body: Option<Value>, access: &str) -> TestResponse {
    app.send(request(method, path, body, Some(access))).await
}

/// Asks for registration options as `access` and answers them as `ceremony` says.
async fn add_passkey_as(app: &TestApp, access: &str, ceremony: &Ceremony) -> (Option<SoftPasskey>, TestResponse) {
    let options = send(app, Method::POST, "/auth/passkeys/register/options", None, access).await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let (passkey, credential) = SoftPasskey::create(&options.body, ceremony);
    let body = json!({ "credential": credential, "name": "Laptop" });
    let added = send(app, Method::POST, "/auth/passkeys/register", Some(body), access).await;
    (Some(passkey).filter(|_| added.status == 201), added)
}

async fn add_passkey(app: &TestApp, access: &str) -> SoftPasskey {
    let (passkey, added) = add_passkey_as(app, access, &ceremony()).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    passkey.unwrap()
}

async fn sign_in_with(app: &TestApp, passkey: &mut SoftPasskey, ceremony: &Ceremony) -> TestResponse {
    let options = app.post("/auth/passkeys/login/options", json!({})).await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let credential = passkey.assert(&options.body, ceremony);
    app.post("/auth/passkeys/login", json!({ "credential": credential })).await
}

async fn new_account(app: &TestApp) -> (String, TestResponse) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(registered.status, 201);
    (email, registered)
}

async fn a_passkey_added_after_a_recent_sign_in_signs_in_without_a_password(app: TestApp) {
    let (email, registered) = new_account(&app).await;
    let access = registered.text("access_token");
    let options = send(&app, Method::POST, "/auth/passkeys/register/options", None, &access).await;
    let public_key = &options.body["publicKey"];
    assert_eq!(public_key["rp"]["id"], RP_ID);
    assert_eq!(public_key["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(public_key["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(public_key["user"]["name"], email.as_str());

    let mut passkey = add_passkey(&app, &access).await;
    let listed = app.get("/auth/passkeys", Some(&access)).await;
    assert_eq!(listed.body["passkeys"].as_array().unwrap().len(), 1, "{:?}", listed.body);
    assert_eq!(listed.body["passkeys"][0]["name"], "Laptop");
    assert_eq!(listed.body["passkeys"][0]["backed_up"], false);
    assert_eq!(listed.body["passkeys"][0]["last_used_at"], Value::Null);
    assert!(app.mail_to(&email).iter().any(|mail| mail.subject == "A passkey was added"));
    assert!(app.events.events().iter().any(|event| event.kind.name() == "user.passkey_added"));
    // The next registration excludes it: the authenticator will not make a second one.
    let again = send(&app, Method::POST, "/auth/passkeys/register/options", None, &access).await;
    let excluded = &again.body["publicKey"]["excludeCredentials"][0]["id"];
    assert_eq!(excluded.as_str(), Some(e2e::authenticator::b64(&passkey.credential_id).as_str()));

    let signed_in = sign_in_with(&app, &mut passkey, &ceremony()).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(signed_in.body["user"]["email"], email.as_str());
    assert_eq!(amr(&app, &signed_in), json!(["hwk", "user"]), "a device-bound key and its user verified");
    let refreshed = app.refresh(&signed_in.text("refresh_token")).await;
    assert_eq!(amr(&app, &refreshed), json!(["hwk", "user"]), "refresh keeps how it signed in");
    let grace = app.refresh(&signed_in.text("refresh_token")).await;
    assert_eq!((grace.status, amr(&app, &grace)), (200, json!(["hwk", "user"])));
    let listed = app.get("/auth/passkeys", Some(&access)).await;
    assert!(listed.body["passkeys"][0]["last_used_at"].is_string(), "{:?}", listed.body);
    // Each sign-in moves the counter on: a second one works.
    let again = sign_in_with(&app, &mut passkey, &ceremony()).await;
    assert_eq!(again.status, 200);
    // A password change renews the passkey session's tokens: they still say how it signed in.
    let change = json!({ "current_password": PASSWORD, "new_password": "another long password" });
    let changed = send(&app, Method::POST, "/auth/password", Some(change), &again.text("access_token")).await;
    assert_eq!((changed.status, amr(&app, &changed)), (200, json!(["hwk", "user"])), "{:?}", changed.body);
}

async fn packed_attestation_and_a_synced_passkey(app: TestApp) {
    let (_, registered) = new_account(&app).await;
    let access = registered.text("access_token");
    let packed = Ceremony { attestation: Attestation::PackedSelf, ..ceremony() };
    let options = send(&app, Method::POST, "/auth/passkeys/register/options", None, &access).await;
    let (mut synced, credential) = SoftPasskey::create_as(&options.body, &packed, true, 1);
    let body = json!({ "credential": credential });
    let added = send(&app, Method::POST, "/auth/passkeys/register", Some(body), &access).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert_eq!((added.body["name"].as_str(), added.body["backed_up"].as_bool()), (Some("Passkey"), Some(true)));
    let signed_in = sign_in_with(&app, &mut synced, &ceremony()).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    assert_eq!(amr(&app, &signed_in), json!(["swk", "user"]), "a synced key is held in software");
}

async fn refusals_of_the_ceremony(app: TestApp) {
    let (_, registered) = new_account(&app).await;
    let access = registered.text("access_token");
    // A registration without user verification.
    let unverified = Ceremony { user_verified: false, ..ceremony() };
    let (_, refused) = add_passkey_as(&app, &access, &unverified).await;
    assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{:?}", refused.body);
    // From an origin not allowed, or for another RP ID.
    for wrong in [Ceremony::at("https://evil.test", RP_ID), Ceremony::at(APP_URL, "evil.test")] {
        let (_, refused) = add_passkey_as(&app, &access, &wrong).await;
        assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{wrong:?}");
    }
    let mut passkey = add_passkey(&app, &access).await;

    // A replayed challenge: the same answer twice.
    let options = app.post("/auth/passkeys/login/options", json!({})).await;
    let credential = passkey.assert(&options.body, &ceremony());
    let first = app.post("/auth/passkeys/login", json!({ "credential": credential })).await;
    assert_eq!(first.status, 200);
    let replay = app.post("/auth/passkeys/login", json!({ "credential": credential })).await;
    assert_eq!((replay.status, replay.code()), (401, "invalid_credentials"));
    let failed = app.events.events().into_iter().rfind(|event| event.kind.name() == "user.login_failed");
    let failed = failed.expect("the refusal is an event").detail;
    assert_eq!((failed.outcome, failed.method), ("invalid_credentials", Some("passkey")));
    // An assertion from an origin not allowed, or for another RP ID.
    for wrong in [Ceremony::at("https://evil.test", RP_ID), Ceremony::at(APP_URL, "evil.test")] {
        let refused = sign_in_with(&app, &mut passkey, &wrong).await;
        assert_eq!((refused.status, refused.code()), (401, "invalid_credentials"), "{wrong:?}");
    }
    // Unverified user at sign-in.
    let refused = sign_in_with(&app, &mut passkey, &Ceremony { user_verified: false, ..ceremony() }).await;
    assert_eq!((refused.status, refused.code()), (401, "invalid_credentials"));

    // A credential of another account: the assertion names the other account's user handle.
    let (_, other) = new_account(&app).await;
    let other_passkey = add_passkey(&app, &other.text("access_token")).await;
    passkey.user_handle = other_passkey.user_handle.clone();
    let refused = sign_in_with(&app, &mut passkey, &ceremony()).await;
    assert_eq!((refused.status, refused.code()), (401, "invalid_credentials"));
    passkey.user_handle = registered.body["user"]["id"].as_str().map(uuid_bytes).unwrap();

    // A counter that went backwards (a cloned authenticator): refused and reported.
    passkey.counter = 0;
    let refused = sign_in_with(&app, &mut passkey, &ceremony()).await;
    assert_eq!((refused.status, refused.code()), (401, "invalid_credentials"));
    let reported = app.events.events().into_iter().any(|event| event.detail.outcome == "passkey_counter_went_back");
    assert!(reported, "the clone is reported");
    passkey.counter = 1_000;
    assert_eq!(sign_in_with(&app, &mut passkey, &ceremony()).await.status, 200);
}

fn uuid_bytes(id: &str) -> Vec<u8> {
    uuid::Uuid::parse_str(id).unwrap().as_bytes().to_vec()
}

/// An authenticator without a counter sends 0 every time: that is no clone.
async fn an_authenticator_that_always_sends_zero_signs_in_again(app: TestApp) {
    let (_, registered) = new_account(&app).await;
    let options =
        send(&app, Method::POST, "/auth/passkeys/register/options", None, &registered.text("access_token")).await;
    let (mut passkey, credential) = SoftPasskey::create_as(&options.body, &ceremony(), false, 0);
    let body = json!({ "credential": credential });
    let added = send(&app, Method::POST, "/auth/passkeys/register", Some(body), &registered.text("access_token")).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    for _ in 0..2 {
        assert_eq!(sign_in_with(&app, &mut passkey, &ceremony()).await.status, 200);
    }
}

/// Adding a passkey needs a sign-in within 5 minutes or the current password: a stolen, older
/// access token cannot plant one.
async fn adding_needs_a_recent_sign_in_or_the_password(app: TestApp) {
    let (_, registered) = new_account(&app).await;
    let principal = e2e::principal_of(&app, &registered.text("access_token"));
    let flows = &app.gateway.accounts.recovery;
    let later = UnixTime::now().plus_secs(301);
    let refused = passkeys::registration_options(flows, &principal, None, later).await;
    assert_eq!(refused.unwrap_err(), ApiError::ReauthenticationRequired);
    let wrong = shared::domain::Password::parse_presented("not the password".into()).ok();
    let refused = passkeys::registration_options(flows, &principal, wrong, later).await;
    assert_eq!(refused.unwrap_err(), ApiError::InvalidCredentials);
    let right = shared::domain::Password::parse_presented(PASSWORD.into()).ok();
    let options = passkeys::registration_options(flows, &principal, right, later).await.unwrap();
    assert!(options["publicKey"]["challenge"].is_string());
    // Through the API: the password in the body.
    let body = json!({ "current_password": "wrong password!" });
    let access = registered.text("access_token");
    let refused = send(&app, Method::POST, "/auth/passkeys/register/options", Some(body), &access).await;
    assert_eq!((refused.status, refused.code()), (401, "invalid_credentials"));
}

/// A credential event between the options and the answer voids the challenge; so does another
/// account's challenge, and a second answer to one challenge.
async fn a_registration_answers_its_own_live_challenge_once(app: TestApp) {
    let (_, registered) = new_account(&app).await;
    let access = registered.text("access_token");
    let options = send(&app, Method::POST, "/auth/passkeys/register/options", None, &access).await;
    let (_, credential) = SoftPasskey::create(&options.body, &ceremony());
    let (_, other) = new_account(&app).await;
    let body = json!({ "credential": credential });
    let foreign =
        send(&app, Method::POST, "/auth/passkeys/register", Some(body.clone()), &other.text("access_token")).await;
    assert_eq!((foreign.status, foreign.code()), (401, "invalid_token"), "another account's challenge");
    let spent = send(&app, Method::POST, "/auth/passkeys/register", Some(body), &access).await;
    assert_eq!((spent.status, spent.code()), (401, "invalid_token"), "the challenge was spent by the first answer");

    let options = send(&app, Method::POST, "/auth/passkeys/register/options", None, &access).await;
    let (_, credential) = SoftPasskey::create(&options.body, &ceremony());
    let change = json!({ "current_password": PASSWORD, "new_password": "another long password" });
    let changed = send(&app, Method::POST, "/auth/password", Some(change), &access).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let access = changed.text("access_token");
    let body = json!({ "credential": credential });
    let stale = send(&app, Method::POST, "/auth/passkeys/register", Some(body), &access).await;
    assert_eq!((stale.status, stale.code()), (401, "invalid_token"), "the password change voided it");
    assert_eq!(app.get("/auth/passkeys", Some(&access)).await.body["passkeys"], json!([]));
}

async fn a_passkey_answers_the_second_step_of_an_account_with_mfa(app: TestApp) {
    let (email, registered) = new_account(&app).await;
    let token = app.mailed_token(&email, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": token })).await.status, 200);
    let access = registered.text("access_token");
    let mut passkey = add_passkey(&app, &access).await;
    let started = send(&app, Method::POST, "/auth/mfa/totp", None, &access).await;
    let key = TotpKey::from_base32(&started.text("secret")).unwrap();
    let body = json!({ "code": key.code_at(UnixTime::now().secs()), "current_password": PASSWORD });
    assert_eq!(send(&app, Method::POST, "/auth/mfa/totp/confirm", Some(body), &access).await.status, 200);

    let challenged = app.login(&email, PASSWORD).await;
    assert_eq!((challenged.status, challenged.code()), (401, "mfa_required"));
    assert_eq!(challenged.body["methods"], json!(["totp", "recovery_code", "passkey"]));
    let allowed = &challenged.body["passkey"]["publicKey"]["allowCredentials"];
    assert_eq!(allowed.as_array().map(Vec::len), Some(1), "{:?}", challenged.body);
    let assertion = passkey.assert(&challenged.body["passkey"], &ceremony());
    let body = json!({ "mfa_token": challenged.text("mfa_token"), "passkey": assertion });
    let verified = app.post("/auth/mfa/verify", body.clone()).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(amr(&app, &verified), json!(["pwd", "hwk", "user"]));
    let replay = app.post("/auth/mfa/verify", body).await;
    assert_eq!(replay.status, 401, "the challenge is spent");
    // A wrong assertion (another origin) counts as a wrong code.
    let challenged = app.login(&email, PASSWORD).await;
    let assertion = passkey.assert(&challenged.body["passkey"], &Ceremony::at("https://evil.test", RP_ID));
    let body = json!({ "mfa_token": challenged.text("mfa_token"), "passkey": assertion });
    assert_eq!(app.post("/auth/mfa/verify", body).await.code(), "invalid_code");
    // A passkey sign-in is two factors already: no second step.
    let signed_in = sign_in_with(&app, &mut passkey, &ceremony()).await;
    assert_eq!((signed_in.status, amr(&app, &signed_in)), (200, json!(["hwk", "user"])));
}

async fn the_owner_renames_and_removes_and_an_admin_lists_and_removes(app: TestApp) {
    let (email, registered) = new_account(&app).await;
    let access = registered.text("access_token");
    let mut passkey = add_passkey(&app, &access).await;
    let id = app.get("/auth/passkeys", Some(&access)).await.body["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/auth/passkeys/{id}");
    let renamed = send(&app, Method::PATCH, &path, Some(json!({ "name": "  Phone " })), &access).await;
    assert_eq!((renamed.status, renamed.body["name"].as_str()), (200, Some("Phone")), "{:?}", renamed.body);
    let blank = send(&app, Method::PATCH, &path, Some(json!({ "name": " " })), &access).await;
    assert_eq!((blank.status, blank.code()), (400, "validation_failed"));
    let unknown =
        send(&app, Method::PATCH, "/auth/passkeys/AAAAAAAAAAAAAAAAAAAAAA", Some(json!({ "name": "x" })), &access).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(send(&app, Method::DELETE, &path, None, &access).await.status, 204);
    assert!(app.mail_to(&email).iter().any(|mail| mail.subject == "A passkey was removed"));
    assert_eq!(sign_in_with(&app, &mut passkey, &ceremony()).await.code(), "invalid_credentials");
    assert_eq!(send(&app, Method::DELETE, &path, None, &access).await.status, 404);

    // An administrator: the account's list, and a removal (a lost device).
    let passkey = add_passkey(&app, &access).await;
    let signed_in_admin = app.sign_in_admin().await;
    let admin = signed_in_admin.text("access_token");
    let user_id = registered.body["user"]["id"].as_str().unwrap();
    let listed = app.get(&format!("/admin/users/{user_id}/passkeys"), Some(&admin)).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let id = listed.body["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let by_user = app.get(&format!("/admin/users/{user_id}/passkeys"), Some(&access)).await;
    assert_eq!(by_user.status, 403, "only administrators");
    let removed = send(&app, Method::DELETE, &format!("/admin/users/{user_id}/passkeys/{id}"), None, &admin).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let removal = app.events.events().into_iter().rfind(|event| event.kind.name() == "user.passkey_removed");
    let removal = serde_json::to_value(removal.expect("a passkey_removed event").detail).unwrap();
    assert_eq!((removal["method"].as_str(), &removal["actor"]), (Some("admin"), &signed_in_admin.body["user"]["id"]));
    let again = send(&app, Method::DELETE, &format!("/admin/users/{user_id}/passkeys/{id}"), None, &admin).await;
    assert_eq!(again.status, 404);
    assert_eq!(app.get(&format!("/admin/users/{user_id}/passkeys"), Some(&admin)).await.body["passkeys"], json!([]));
    drop(passkey);
}

/// An account whose only way in is a passkey keeps it: removing it (or the last identity beside
/// it) is refused.
async fn the_last_way_to_sign_in_cannot_be_removed(app: TestApp) {
    let app = app.with_federation(upstream::federation("verified").await);
    let mut browser = Browser::default();
    let back = browser.sign_in(&app, &unique_email()).await;
    let signed_in = browser.exchange(&app, &fragment(&back, "code").unwrap()).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    let access = signed_in.text("access_token");
    let mut passkey = add_passkey(&app, &access).await;
    // The passkey is a way in: the identity can go.
    let unlinked = send(&app, Method::DELETE, &format!("/auth/identities/{}", upstream::PROVIDER), None, &access).await;
    assert_eq!(unlinked.status, 204, "{:?}", unlinked.body);
    let id = app.get("/auth/passkeys", Some(&access)).await.body["passkeys"][0]["id"].as_str().unwrap().to_owned();
    let refused = send(&app, Method::DELETE, &format!("/auth/passkeys/{id}"), None, &access).await;
    assert_eq!((refused.status, refused.code()), (409, "conflict"));
    assert_eq!(sign_in_with(&app, &mut passkey, &ceremony()).await.status, 200);
}

/// A passkey planted on an address nobody proved (someone registered it first) does not survive
/// the owner's first password reset.
async fn the_first_reset_removes_passkeys_added_before_the_address_was_proved(app: TestApp) {
    let (email, registered) = new_account(&app).await;
    let mut planted = add_passkey(&app, &registered.text("access_token")).await;
    app.post("/auth/password/forgot", json!({ "email": email })).await;
    let token = app.mailed_token(&email, "/reset-password");
    let reset =
        app.post("/auth/password/reset", json!({ "token": token, "new_password": "the owner's password" })).await;
    assert_eq!(reset.status, 204, "{:?}", reset.body);
    assert_eq!(sign_in_with(&app, &mut planted, &ceremony()).await.code(), "invalid_credentials");
    assert!(app.mail_to(&email).iter().any(|mail| mail.subject == "A passkey was removed"));
    // On a proved address, a passkey the owner added stays through a reset.
    let mut kept = add_passkey(&app, &app.login(&email, "the owner's password").await.text("access_token")).await;
    app.post("/auth/password/forgot", json!({ "email": email })).await;
    let token = app.mailed_token(&email, "/reset-password");
    let reset = app.post("/auth/password/reset", json!({ "token": token, "new_password": "a third password" })).await;
    assert_eq!(reset.status, 204);
    assert_eq!(sign_in_with(&app, &mut kept, &ceremony()).await.status, 200);
}

/// A valid assertion for an account that may not sign in: an unproved address where
/// verification is required, a disabled account — said only after the assertion checked out.
async fn an_unverified_or_disabled_account_is_refused_after_a_valid_assertion(app: TestApp) {
    let (email, registered) = new_account(&app).await;
    let mut passkey = add_passkey(&app, &registered.text("access_token")).await;
    let app = app.with_mail(|mail| Mail { verification: Verification::Required, ..mail });
    let refused = sign_in_with(&app, &mut passkey, &ceremony()).await;
    assert_eq!((refused.status, refused.code()), (403, "email_not_verified"));
    // The first link died with the passkey's credential event: a new one proves the address.
    app.post("/auth/email/verify/resend", json!({ "email": email })).await;
    let token = app.mailed_token(&email, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": token })).await.status, 200);
    assert_eq!(sign_in_with(&app, &mut passkey, &ceremony()).await.status, 200);
    let user_id = registered.body["user"]["id"].as_str().unwrap();
    let disable = shared::store::UserChanges { role: None, disabled: Some(true), claims: None, roles: None };
    app.gateway.accounts.store.update_user(user_id, &disable, None).await.unwrap();
    let refused = sign_in_with(&app, &mut passkey, &ceremony()).await;
    assert_eq!((refused.status, refused.code()), (403, "account_disabled"));
}

/// A sign-in challenge lives five minutes: at its expiry it is gone.
async fn a_sign_in_challenge_expires_after_five_minutes(app: TestApp) {
    let (_, registered) = new_account(&app).await;
    let mut passkey = add_passkey(&app, &registered.text("access_token")).await;
    let accounts = &app.gateway.accounts;
    let client = shared::service::ClientInfo::default();
    let now = UnixTime::now();
    let ttl = shared::domain::passkeys::CEREMONY_TTL_SECS;
    for (late, expected) in [(ttl, Err(ApiError::InvalidCredentials)), (ttl - 1, Ok(()))] {
        let options = passkeys::sign_in_options(accounts, now).await.unwrap();
        let credential = serde_json::from_value(passkey.assert(&options, &ceremony())).unwrap();
        let answer = passkeys::sign_in(accounts, &credential, &client, None, now.plus_secs(late)).await;
        assert_eq!(answer.map(|_| ()), expected, "{late} s after the options");
    }
}

/// The store's side of a passkey's use: the credential rewritten only if still as read (of two
/// sign-ins verified against one read, one starts a session), and a rename only of what is there.
async fn the_store_spends_a_passkey_use_once_and_renames_only_what_is_there(app: TestApp) {
    use shared::domain::passkeys::PasskeyUse;
    use shared::domain::{PasskeyId, Session};
    use shared::store::LoginProof;
    let (_, registered) = new_account(&app).await;
    add_passkey(&app, &registered.text("access_token")).await;
    let store = app.gateway.accounts.store.as_ref();
    let user_id = registered.body["user"]["id"].as_str().unwrap();
    let user = store.user_by_id(user_id).await.unwrap().unwrap();
    let passkey = &user.passkeys[0];
    let now = UnixTime::now();
    let session = || {
        let id = uuid::Uuid::new_v4().to_string();
        Session::new(id.clone(), user.id.clone(), id, now.millis(), now.secs() + 3600)
    };
    let used = |as_read: &str| LoginProof::Passkey {
        credential_epoch: user.credential_epoch,
        used: PasskeyUse {
            passkey_id: passkey.id.clone(),
            key_as_read: as_read.to_owned(),
            key_after: passkey.key_as_stored.replace("\"counter\":1", "\"counter\":2"),
            used_at: now.secs(),
        },
    };
    assert!(!store.start_session(&session(), &used("{}")).await.unwrap(), "a credential not as stored");
    assert!(store.start_session(&session(), &used(&passkey.key_as_stored)).await.unwrap());
    assert!(!store.start_session(&session(), &used(&passkey.key_as_stored)).await.unwrap(), "spent once");
    let unknown = PasskeyId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
    assert!(!store.rename_passkey(user_id, &unknown, "x").await.unwrap());
    assert!(store.rename_passkey(user_id, &passkey.id, "Renamed").await.unwrap());
    let renamed = store.user_by_id(user_id).await.unwrap().unwrap();
    assert_eq!(renamed.passkeys[0].name, "Renamed");
    assert!(renamed.passkeys[0].last_used_at.is_some(), "the use was recorded");
}

async fn malformed_answers_get_clear_errors(app: TestApp) {
    let (_, registered) = new_account(&app).await;
    let access = registered.text("access_token");
    let body = json!({ "credential": { "id": "x" } });
    let refused = send(&app, Method::POST, "/auth/passkeys/register", Some(body), &access).await;
    assert_eq!((refused.status, refused.code()), (400, "validation_failed"));
    assert_eq!(refused.body["errors"][0]["field"], "credential");
    let refused = app.post("/auth/passkeys/login", json!({})).await;
    assert_eq!((refused.status, refused.code()), (400, "validation_failed"));
    let garbage = json!({ "credential": { "id": "AA", "rawId": "AA", "type": "public-key", "response": {
        "clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA" } } });
    let refused = app.post("/auth/passkeys/login", garbage).await;
    assert_eq!((refused.status, refused.code()), (401, "invalid_credentials"));
    let without_token = app.post("/auth/passkeys/register/options", json!({})).await;
    assert_eq!(without_token.status, 401);
}

e2e::on_both_stores!(
    a_passkey_added_after_a_recent_sign_in_signs_in_without_a_password,
    packed_attestation_and_a_synced_passkey,
    refusals_of_the_ceremony,
    an_authenticator_that_always_sends_zero_signs_in_again,
    adding_needs_a_recent_sign_in_or_the_password,
    a_registration_answers_its_own_live_challenge_once,
    a_passkey_answers_the_second_step_of_an_account_with_mfa,
    the_owner_renames_and_removes_and_an_admin_lists_and_removes,
    the_last_way_to_sign_in_cannot_be_removed,
    the_first_reset_removes_passkeys_added_before_the_address_was_proved,
    an_unverified_or_disabled_account_is_refused_after_a_valid_assertion,
    a_sign_in_challenge_expires_after_five_minutes,
    the_store_spends_a_passkey_use_once_and_renames_only_what_is_there,
    malformed_answers_get_clear_errors,
);
