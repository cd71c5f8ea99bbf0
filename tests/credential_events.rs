//! Credential events reach every grant: a password change or reset, an email change,
//! MFA on or off, a disable, a role change and a sign-out everywhere void every one-time token,
//! pending enrolment and `mfa_token` issued before them; the takeover paths between email, MFA,
//! sessions and admin stay closed; and strangers cannot drain the budgets an owner needs.
//! Each case on both stores; each failed before the credential-event rule.

use e2e::{PASSWORD, TestApp, TestResponse, on_both_stores, request, unique_email};
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use shared::domain::AuthMethods;
use shared::domain::mfa::{PendingEnrolment, TotpKey};
use shared::email::{Mail, Verification};
use shared::store::{MfaActivation, SessionRenewal};
use shared::time::UnixTime;
use shared::transport::DEVICE_COOKIE;

const NEW_PASSWORD: &str = "a brand new passphrase";

on_both_stores!(
    an_email_change_link_dies_with_a_password_reset,
    an_email_change_link_dies_with_a_password_change,
    an_email_change_link_dies_with_a_disable_even_after_enabling_again,
    an_email_change_link_dies_with_another_email_change,
    a_reset_link_dies_with_an_email_change,
    the_first_reset_of_an_unproved_account_removes_a_planted_factor,
    the_first_verification_removes_a_factor_set_up_before_it,
    enrolling_needs_the_password_and_a_proved_address,
    turning_mfa_on_ends_every_other_session_and_renews_the_callers,
    a_sign_out_everywhere_voids_links_and_pending_second_steps,
    strangers_cannot_block_the_owners_recovery,
    mail_and_registration_and_token_guesses_have_budgets,
    wrong_codes_at_disable_leave_the_owners_sign_in_alone,
    a_logged_out_or_revoked_admin_token_has_no_admin_power,
);

fn mail_to(app: &TestApp, to: &str) -> Vec<String> {
    app.mail_to(to).into_iter().map(|message| message.subject).collect()
}

async fn registered(app: &TestApp) -> (String, TestResponse) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    (email, registered)
}

async fn verified(app: &TestApp) -> (String, TestResponse) {
    let (email, registered) = registered(app).await;
    let token = app.mailed_token(&email, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": token })).await.status, 200);
    (email, registered)
}

async fn request_email_change(app: &TestApp, access: &str, new_email: &str) -> TestResponse {
    let body = json!({ "new_email": new_email, "current_password": PASSWORD });
    app.send(request(Method::POST, "/auth/email", Some(body), Some(access))).await
}

async fn redeem(app: &TestApp, token: &str) -> TestResponse {
    app.post("/auth/email/verify", json!({ "token": token })).await
}

async fn forgot_and_reset(app: &TestApp, email: &str, password: &str) -> TestResponse {
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    let token = app.mailed_token(email, "/reset-password");
    app.post("/auth/password/reset", json!({ "token": token, "new_password": password })).await
}

async fn me_email(app: &TestApp, email: &str, password: &str) -> String {
    let logged_in = app.login(email, password).await;
    assert_eq!(logged_in.status, 200, "{:?}", logged_in.body);
    logged_in.body["user"]["email"].as_str().unwrap().to_owned()
}

fn invalid_token(answer: &TestResponse) {
    assert_eq!((answer.status, answer.code()), (401, "invalid_token"), "{:?}", answer.body);
}

/// Case 1, the probe: someone with the password asks to move the account; the owner resets the
/// password as the notice says; the link no longer moves the account.
async fn an_email_change_link_dies_with_a_password_reset(app: TestApp) {
    let (email, session) = registered(&app).await;
    let attacker = unique_email();
    assert_eq!(request_email_change(&app, &session.text("access_token"), &attacker).await.status, 202);
    let link = app.mailed_token(&attacker, "/verify-email");
    let told = mail_to(&app, &email);
    assert!(told.iter().any(|subject| subject == "A change of your email address was requested"), "{told:?}");
    assert_eq!(forgot_and_reset(&app, &email, NEW_PASSWORD).await.status, 204);
    invalid_token(&redeem(&app, &link).await);
    assert_eq!(me_email(&app, &email, NEW_PASSWORD).await, email, "the account kept its address");
    assert_eq!(app.login(&attacker, PASSWORD).await.status, 401);
}

async fn an_email_change_link_dies_with_a_password_change(app: TestApp) {
    let (email, session) = registered(&app).await;
    let access = session.text("access_token");
    let attacker = unique_email();
    request_email_change(&app, &access, &attacker).await;
    let link = app.mailed_token(&attacker, "/verify-email");
    let change = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });
    let changed = app.send(request(Method::POST, "/auth/password", Some(change), Some(&access))).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    invalid_token(&redeem(&app, &link).await);
    assert_eq!(me_email(&app, &email, NEW_PASSWORD).await, email);
}

async fn an_email_change_link_dies_with_a_disable_even_after_enabling_again(app: TestApp) {
    let admin = app.sign_in_admin().await.text("access_token");
    let (email, session) = registered(&app).await;
    let user_id = session.body["user"]["id"].as_str().unwrap().to_owned();
    let attacker = unique_email();
    request_email_change(&app, &session.text("access_token"), &attacker).await;
    let link = app.mailed_token(&attacker, "/verify-email");
    let path = format!("/admin/users/{user_id}");
    for disabled in [true, false] {
        let patch = request(Method::PATCH, &path, Some(json!({ "disabled": disabled })), Some(&admin));
        assert_eq!(app.send(patch).await.status, 200);
    }
    invalid_token(&redeem(&app, &link).await);
    assert_eq!(me_email(&app, &email, PASSWORD).await, email);
}

async fn an_email_change_link_dies_with_another_email_change(app: TestApp) {
    let (email, session) = registered(&app).await;
    let access = session.text("access_token");
    let (attacker, owners_new) = (unique_email(), unique_email());
    request_email_change(&app, &access, &attacker).await;
    let attackers_link = app.mailed_token(&attacker, "/verify-email");
    request_email_change(&app, &access, &owners_new).await;
    let owners_link = app.mailed_token(&owners_new, "/verify-email");
    assert_eq!(redeem(&app, &owners_link).await.status, 200);
    invalid_token(&redeem(&app, &attackers_link).await);
    assert_eq!(me_email(&app, &owners_new, PASSWORD).await, owners_new);
    assert_eq!(app.login(&email, PASSWORD).await.status, 401);
}

/// Case 2: a reset link mailed to the old address does not reset the password once the owner
/// moved the account to a new one.
async fn a_reset_link_dies_with_an_email_change(app: TestApp) {
    let (email, session) = registered(&app).await;
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    let old_link = app.mailed_token(&email, "/reset-password");
    let new_email = unique_email();
    request_email_change(&app, &session.text("access_token"), &new_email).await;
    assert_eq!(redeem(&app, &app.mailed_token(&new_email, "/verify-email")).await.status, 200);
    let reset = app.post("/auth/password/reset", json!({ "token": old_link, "new_password": NEW_PASSWORD })).await;
    invalid_token(&reset);
    assert_eq!(me_email(&app, &new_email, PASSWORD).await, new_email, "the password is unchanged");
}

/// Turns MFA on for the caller; the key and the renewed session.
async fn enable_mfa(app: &TestApp, access: &str) -> (TotpKey, TestResponse) {
    let started = app.send(request(Method::POST, "/auth/mfa/totp", None, Some(access))).await;
    assert_eq!(started.status, 200, "{:?}", started.body);
    let key = TotpKey::from_base32(&started.text("secret")).unwrap();
    let confirm = json!({ "code": key.code_at(UnixTime::now().secs()), "current_password": PASSWORD });
    let confirmed = app.send(request(Method::POST, "/auth/mfa/totp/confirm", Some(confirm), Some(access))).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    (key, confirmed)
}

/// Case 3 (pre-hijacking), where no proof of the address is asked before a factor (verification
/// off): an attacker registers the victim's address and plants a factor; the owner's reset, the
/// first proof of the mailbox, removes it, so the owner is not locked out after it.
async fn the_first_reset_of_an_unproved_account_removes_a_planted_factor(app: TestApp) {
    let app = app.with_mail(|mail| Mail { verification: Verification::Off, ..mail });
    let (victim, attackers) = registered(&app).await;
    enable_mfa(&app, &attackers.text("access_token")).await;
    assert_eq!(app.login(&victim, PASSWORD).await.code(), "mfa_required");
    assert_eq!(forgot_and_reset(&app, &victim, NEW_PASSWORD).await.status, 204);
    let owner = app.login(&victim, NEW_PASSWORD).await;
    assert_eq!(owner.status, 200, "no planted second step: {:?}", owner.body);
    assert_eq!(owner.body["user"]["mfa_enabled"], false);
    assert!(mail_to(&app, &victim).iter().any(|subject| subject == "Two-step sign-in was removed"));
    let events = serde_json::to_value(app.events.events()).unwrap();
    assert!(events.as_array().unwrap().iter().any(|event| event["detail"]["method"] == "first_proof"));
}

/// Case 3 with a verification link: a factor set up before the address was ever proved (as by
/// a deployment before this rule) goes with the first proof, with a notice.
async fn the_first_verification_removes_a_factor_set_up_before_it(app: TestApp) {
    let (email, session) = registered(&app).await;
    let first_link = app.mailed_token(&email, "/verify-email");
    plant_factor(&app, &session.text("access_token")).await;
    assert_eq!(app.login(&email, PASSWORD).await.code(), "mfa_required");
    // Turning MFA on voided the link mailed before; the owner asks for another.
    invalid_token(&redeem(&app, &first_link).await);
    assert_eq!(app.post("/auth/email/verify/resend", json!({ "email": email })).await.status, 202);
    let verified = redeem(&app, &app.mailed_token(&email, "/verify-email")).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(verified.body["user"]["mfa_enabled"], false);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    assert!(mail_to(&app, &email).iter().any(|subject| subject == "Two-step sign-in was removed"));
}

/// A factor on an unproved account, put through the store as an enrolment from before the
/// proved-address rule would have been.
async fn plant_factor(app: &TestApp, access: &str) {
    let store = app.gateway.accounts.store.as_ref();
    let now = UnixTime::now();
    let claims = app.gateway.accounts.verifier.verify_access(access, now).unwrap();
    let user = store.user_by_id(&claims.sub).await.unwrap().unwrap();
    let (session, _) = store.session(&claims.sid).await.unwrap().unwrap();
    let sealed_key = app.gateway.mfa.sealing_key.seal(&TotpKey::generate().unwrap(), &user.id).unwrap();
    let pending = PendingEnrolment {
        user_id: user.id.clone(),
        sealed_key: sealed_key.clone(),
        expires_at: now.secs() + 600,
        credential_epoch: user.credential_epoch,
    };
    store.put_mfa_enrolment(&pending).await.unwrap();
    let renewal = SessionRenewal {
        session_id: session.id,
        session_created_ms: session.created_ms,
        cutoff: now,
        next_jti: "planted".into(),
        expires_at: now.secs() + 600,
        methods: AuthMethods::password_and_code(),
    };
    let activation = MfaActivation {
        user_id: user.id.clone(),
        sealed_key,
        step: 1,
        recovery_digests: Vec::new(),
        credential_epoch: user.credential_epoch,
        sessions_started: user.sessions_started,
        renewal,
    };
    assert!(store.enable_mfa(&activation).await.unwrap());
}

/// Case 4: a stolen access token alone cannot put an authenticator on the account.
async fn enrolling_needs_the_password_and_a_proved_address(app: TestApp) {
    let (_, unproved) = registered(&app).await;
    let start = app.send(request(Method::POST, "/auth/mfa/totp", None, Some(&unproved.text("access_token")))).await;
    assert_eq!((start.status, start.code()), (403, "email_not_verified"));

    let (email, session) = verified(&app).await;
    let access = session.text("access_token");
    let started = app.send(request(Method::POST, "/auth/mfa/totp", None, Some(&access))).await;
    let key = TotpKey::from_base32(&started.text("secret")).unwrap();
    let code = || key.code_at(UnixTime::now().secs());
    let confirm = |body: Value| app.send(request(Method::POST, "/auth/mfa/totp/confirm", Some(body), Some(&access)));
    let bare = confirm(json!({ "code": code() })).await;
    assert_eq!((bare.status, bare.code()), (401, "reauthentication_required"), "{:?}", bare.body);
    assert!(bare.headers["www-authenticate"].to_str().unwrap().contains("insufficient_user_authentication"));
    let wrong = confirm(json!({ "code": code(), "current_password": "not the password" })).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    assert_eq!(app.login(&email, PASSWORD).await.status, 200, "MFA is still off");
    let right = confirm(json!({ "code": code(), "current_password": PASSWORD })).await;
    assert_eq!(right.status, 200, "{:?}", right.body);
}

fn amr(app: &TestApp, access: &str) -> Vec<String> {
    app.gateway.accounts.verifier.verify_access(access, UnixTime::now()).unwrap().amr
}

/// Case 5: a refresh token stolen before MFA was turned on stops working with it; the caller's
/// session goes on, renewed, with the second factor proved.
async fn turning_mfa_on_ends_every_other_session_and_renews_the_callers(app: TestApp) {
    let (email, mine) = verified(&app).await;
    let stolen = app.login(&email, PASSWORD).await.text("refresh_token");
    let (_, renewed) = enable_mfa(&app, &mine.text("access_token")).await;
    assert_eq!(renewed.body["recovery_codes"].as_array().map(Vec::len), Some(10));
    assert_eq!(renewed.body["user"]["mfa_enabled"], true, "the renewed session's account view");
    assert_eq!(amr(&app, &renewed.text("access_token")), ["pwd", "otp"]);
    let thief = app.refresh(&stolen).await;
    assert_eq!((thief.status, thief.code()), (401, "token_revoked"), "{:?}", thief.body);
    let next = app.refresh(&renewed.text("refresh_token")).await;
    assert_eq!(next.status, 200, "{:?}", next.body);
    assert_eq!(amr(&app, &next.text("access_token")), ["pwd", "otp"], "through refresh");
    // The caller's token from before the renewal is spent: reuse, as after a password change.
    assert_eq!(app.refresh(&mine.text("refresh_token")).await.code(), "token_reused");
}

/// "Sign out everywhere" is a credential event: links mailed and logins waiting for their second
/// step before it stop working.
async fn a_sign_out_everywhere_voids_links_and_pending_second_steps(app: TestApp) {
    let (email, session) = verified(&app).await;
    let (key, renewed) = enable_mfa(&app, &session.text("access_token")).await;
    let attacker = unique_email();
    request_email_change(&app, &renewed.text("access_token"), &attacker).await;
    let link = app.mailed_token(&attacker, "/verify-email");
    let waiting = app.login(&email, PASSWORD).await;
    assert_eq!(waiting.code(), "mfa_required");
    let everywhere = app.logout(&renewed.text("refresh_token"), "global", None).await;
    assert_eq!(everywhere.status, 204, "{:?}", everywhere.body);
    invalid_token(&redeem(&app, &link).await);
    let code = key.code_at(UnixTime::now().secs() + 30);
    let second = app.post("/auth/mfa/verify", json!({ "mfa_token": waiting.text("mfa_token"), "code": code })).await;
    invalid_token(&second);
}

fn from(method: Method, path: &str, body: Value, ip: &str, device: Option<&str>) -> shared::http::ApiRequest {
    let mut sent = request(method, path, Some(body), None);
    sent.source_ip = Some(ip.parse().unwrap());
    if let Some(device) = device {
        sent.headers.insert("cookie", HeaderValue::from_str(&format!("{DEVICE_COOKIE}={device}")).unwrap());
    }
    sent
}

/// Case 6: strangers posting the owner's address cannot get the owner's own `forgot` refused;
/// and a `429` says nothing about whether the address has an account.
async fn strangers_cannot_block_the_owners_recovery(app: TestApp) {
    let (email, _) = registered(&app).await;
    let device = app.login(&email, PASSWORD).await.cookie(DEVICE_COOKIE).expect("a device cookie");
    let nobody = unique_email();
    let mut answers = (Vec::new(), Vec::new());
    for round in 0..15 {
        let ip = format!("203.0.113.{round}");
        for (address, statuses) in [(&email, &mut answers.0), (&nobody, &mut answers.1)] {
            let path = if round % 2 == 0 { "/auth/password/forgot" } else { "/auth/email/verify/resend" };
            let sent = app.send(from(Method::POST, path, json!({ "email": address }), &ip, None)).await;
            statuses.push(sent.status);
        }
    }
    assert_eq!(answers.0, answers.1, "known and unknown addresses are answered alike");
    assert!(answers.0.contains(&429), "the address's ceiling holds for clients without a device cookie");
    let before = app.mail_to(&email).len();
    let owner =
        app.send(from(Method::POST, "/auth/password/forgot", json!({ "email": email }), "198.51.100.9", Some(&device)));
    let owner = owner.await;
    assert_eq!(owner.status, 202, "{:?}", owner.body);
    assert_eq!(app.mail_to(&email).len(), before + 1, "the owner's link went out");
}

/// Case 7: each mail to a third party, each registration (a hash and a mail) and each guessed
/// `mfa_token` counts against a budget, with `Retry-After`.
async fn mail_and_registration_and_token_guesses_have_budgets(app: TestApp) {
    let (_, session) = registered(&app).await;
    let access = session.text("access_token");
    for request in 1..=5 {
        assert_eq!(request_email_change(&app, &access, &unique_email()).await.status, 202, "request {request}");
    }
    let refused = request_email_change(&app, &access, &unique_email()).await;
    assert_eq!((refused.status, refused.code()), (429, "too_many_attempts"));
    assert!(refused.headers.get("retry-after").is_some());

    // The production budget of registrations from one IP (the other suites raise it).
    let app = app.with_throttle(shared::domain::LoginThrottle::default());
    let ip = "192.0.2.200";
    for attempt in 1..=21 {
        let body = json!({ "email": unique_email(), "password": PASSWORD });
        let answer = app.send(from(Method::POST, "/auth/register", body, ip, None)).await;
        let expected = if attempt <= 20 { 201 } else { 429 };
        assert_eq!(answer.status, expected, "registration {attempt}: {:?}", answer.body);
    }
    for attempt in 1..=21 {
        let guess = json!({ "mfa_token": format!("{:043}", attempt), "code": "123456" });
        let answer = app.send(from(Method::POST, "/auth/mfa/verify", guess, ip, None)).await;
        let expected = if attempt <= 20 { "invalid_token" } else { "too_many_attempts" };
        assert_eq!(answer.code(), expected, "guess {attempt}");
    }
}

/// Case 8: wrong codes at `DELETE /auth/mfa/totp` spend their own budget, not the one the
/// owner's sign-in needs.
async fn wrong_codes_at_disable_leave_the_owners_sign_in_alone(app: TestApp) {
    let (email, session) = verified(&app).await;
    let (key, renewed) = enable_mfa(&app, &session.text("access_token")).await;
    let access = renewed.text("access_token");
    for _ in 0..15 {
        let wrong = json!({ "code": "000000" });
        app.send(request(Method::DELETE, "/auth/mfa/totp", Some(wrong), Some(&access))).await;
    }
    let locked = app.send(request(Method::DELETE, "/auth/mfa/totp", Some(json!({ "code": "000000" })), Some(&access)));
    assert_eq!(locked.await.code(), "too_many_attempts");
    let waiting = app.login(&email, PASSWORD).await;
    let code = key.code_at(UnixTime::now().secs() + 30);
    let signed_in = app.post("/auth/mfa/verify", json!({ "mfa_token": waiting.text("mfa_token"), "code": code })).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
}

/// Case 10: after logout or an RFC 7009 revocation, the admin's access token lists and changes
/// nobody, as introspection says.
async fn a_logged_out_or_revoked_admin_token_has_no_admin_power(app: TestApp) {
    let admin = app.sign_in_admin().await;
    let access = admin.text("access_token");
    assert_eq!(app.get("/admin/users", Some(&access)).await.status, 200);
    assert_eq!(app.logout(&admin.text("refresh_token"), "local", Some(&access)).await.status, 204);
    let listed = app.get("/admin/users", Some(&access)).await;
    assert_eq!((listed.status, listed.code()), (401, "token_revoked"), "{:?}", listed.body);

    let admin = app.sign_in_admin().await;
    let access = admin.text("access_token");
    let mut revoke = request(Method::POST, "/auth/revoke", None, None);
    revoke.headers.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
    revoke.body = format!("token={access}").into();
    assert_eq!(app.send(revoke).await.status, 200);
    let (victim_email, victim) = registered(&app).await;
    let path = format!("/admin/users/{}", victim.body["user"]["id"].as_str().unwrap());
    let patch = app.send(request(Method::PATCH, &path, Some(json!({ "disabled": true })), Some(&access))).await;
    assert_eq!((patch.status, patch.code()), (401, "token_revoked"));
    assert_eq!(app.login(&victim_email, PASSWORD).await.status, 200, "nothing changed");
}

/// Accounts written before credential epochs existed have no `credential_epoch` attribute (the
/// store writes it on every account now): their grants, issued at epoch 0, are spent as any
/// other's, and a credential event still voids them.
#[tokio::test]
async fn dynamodb_accounts_from_before_credential_epochs_spend_their_links() {
    let store = e2e::dynamo_store().await;
    let app = e2e::spawn_app(store.clone());
    let (email, session) = registered(&app).await;
    let id = session.body["user"]["id"].as_str().unwrap();
    let as_before = || {
        store
            .client()
            .update_item()
            .table_name(&store.tables().users)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("user#{id}")))
            .update_expression("REMOVE credential_epoch")
            .send()
    };
    as_before().await.unwrap();
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    let link = app.mailed_token(&email, "/reset-password");
    let reset = app.post("/auth/password/reset", json!({ "token": link, "new_password": NEW_PASSWORD })).await;
    assert_eq!(reset.status, 204, "{:?}", reset.body);

    as_before().await.unwrap();
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    let voided = app.mailed_token(&email, "/reset-password");
    let signed_in = app.login(&email, NEW_PASSWORD).await;
    let everywhere = app.logout(&signed_in.text("refresh_token"), "global", None).await;
    assert_eq!(everywhere.status, 204);
    invalid_token(&app.post("/auth/password/reset", json!({ "token": voided, "new_password": PASSWORD })).await);
}
