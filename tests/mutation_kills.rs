//! Cases found by mutation testing (docs/testing.md, "Mutation testing"): each fails when the
//! rule it names is dropped or loosened: cutoffs at their exact instant, the admin check behind
//! the authorizer, logout with another account's access token, and strict revocation (every way
//! a token dies, and a store that cannot answer).

use std::sync::Arc;

use async_trait::async_trait;
use e2e::{TestApp, request, spawn_app_with, unique_email};
use http::Method;
use serde_json::json;
use shared::authorizer::{Authorizer, Credentials, Denial};
use shared::domain::{Entitlements, Principal, Role, Session, User};
use shared::http::ApiRequest;
use shared::store::{AccessTokenRef, RevocationCheck, Rotation, RotationOutcome, Store, StoreError, UserChanges};
use shared::time::UnixTime;

use e2e::PASSWORD;

/// Runs each `async fn case(app: TestApp)` on both stores, with strict revocation on.
macro_rules! strict_on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test]
            async fn $case() {
                super::$case(e2e::spawn_app_with(e2e::memory_store(), true)).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $case() {
                let store: std::sync::Arc<dyn shared::store::Store> = e2e::dynamo_store().await;
                super::$case(e2e::spawn_app_with(store, true)).await;
            })*
        }
    };
}

strict_on_both_stores!(
    a_session_created_exactly_at_the_cutoff_is_revoked,
    a_login_in_the_instant_of_a_global_logout_is_not_born_revoked,
    a_user_role_principal_reaching_an_admin_handler_directly_gets_403,
    logout_with_someone_elses_access_token_does_not_revoke_it,
    strict_revocation_refuses_tokens_after_a_role_change_or_disable,
    strict_revocation_refuses_other_sessions_after_a_password_change,
    strict_revocation_refuses_a_revoked_jti_of_a_live_session,
    a_logged_out_access_token_stays_revoked_through_the_leeway,
    a_disable_ends_the_sessions_for_good_and_enabling_ends_none,
);

fn store(app: &TestApp) -> Arc<dyn Store> {
    Arc::clone(&app.gateway.accounts.store)
}

/// Registers an account; its id, access token and refresh token.
async fn sign_up(app: &TestApp) -> (String, String, String) {
    let registered = app.register(&unique_email(), PASSWORD).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    (
        registered.body["user"]["id"].as_str().unwrap().to_owned(),
        registered.text("access_token"),
        registered.text("refresh_token"),
    )
}

async fn me_status(app: &TestApp, access: &str) -> u16 {
    app.get("/auth/me", Some(access)).await.status
}

async fn a_session_created_exactly_at_the_cutoff_is_revoked(app: TestApp) {
    let store = store(&app);
    let now = UnixTime::now();
    let user = User::new(shared::domain::Email::parse(&unique_email()).unwrap(), "hash".into(), Role::User, now);
    let at_ms = now.millis() - 1000;
    let session = |id: &str, created_ms| {
        Session::new(id.into(), user.id.clone(), format!("{id}-jti"), created_ms, now.secs() + 3600)
    };
    let (at, after) = (session(&uuid(), at_ms), session(&uuid(), at_ms + 1));
    store.create_user(&user, Some(&at)).await.unwrap();
    assert!(store.start_session(&after, &shared::store::LoginProof::Password { credential_epoch: 0 }).await.unwrap());
    // A global logout whose instant is the first session's creation, to the millisecond.
    store.revoke_user_sessions(&user.id, UnixTime::from_millis(at_ms)).await.unwrap();
    let cutoff = store.user_by_id(&user.id).await.unwrap().unwrap().sessions_valid_after_ms;
    assert_eq!(cutoff, at_ms);
    for (session, outcome) in [(&at, RotationOutcome::Revoked), (&after, RotationOutcome::Rotated)] {
        let token = AccessTokenRef { jti: uuid(), session_id: session.id.clone(), user_id: user.id.clone() };
        let revoked = outcome == RotationOutcome::Revoked;
        assert_eq!(store.is_access_revoked(&token, now).await.unwrap(), revoked, "{}", session.created_ms);
        let rotation = Rotation {
            session_id: session.id.clone(),
            user_id: user.id.clone(),
            presented_jti: session.current_jti.clone(),
            next_jti: uuid(),
            next_expires_at: now.secs() + 3600,
            sessions_valid_after_ms: cutoff,
            grace_ms: 0,
            seen_from: Default::default(),
            now,
        };
        assert_eq!(store.rotate_session(&rotation).await.unwrap(), outcome, "{}", session.created_ms);
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A global logout on one server and a login on another within the same millisecond (or with a
/// clock a little behind): the new session is placed just after the cutoff, so it works.
async fn a_login_in_the_instant_of_a_global_logout_is_not_born_revoked(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
    let cutoff = UnixTime::from_millis(UnixTime::now().millis() + 2000);
    store(&app).revoke_user_sessions(&user_id, cutoff).await.unwrap();
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    assert_eq!(me_status(&app, &login.text("access_token")).await, 200);
    let refreshed = app.refresh(&login.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
}

fn principal_request(method: Method, path: &str, body: Option<serde_json::Value>, principal: Principal) -> ApiRequest {
    // A bearer request (exempt from the CSRF check), as the authorizer would have passed it.
    ApiRequest { principal: Some(principal), ..request(method, path, body, Some("unused")) }
}

/// A wiring mistake (a route without the admin role, a template that forgot the authorizer)
/// must not open an admin endpoint: the handlers check the role themselves.
async fn a_user_role_principal_reaching_an_admin_handler_directly_gets_403(app: TestApp) {
    let store = store(&app);
    let (user_id, user_access, _) = sign_up(&app).await;
    let (admin_id, admin_access, _) = sign_up(&app).await;
    let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
    store.update_user(&admin_id, &promote, None).await.unwrap();
    // Each principal as its own live session's token names it (admin routes check those too).
    let verifier = &app.gateway.accounts.verifier;
    let (user_claims, admin_claims) = (
        verifier.verify_access(&user_access, UnixTime::now()).unwrap(),
        verifier.verify_access(&admin_access, UnixTime::now()).unwrap(),
    );
    let principal = |id: &str, role| {
        let claims = if id == user_id { &user_claims } else { &admin_claims };
        Principal {
            user_id: id.to_owned(),
            email: "someone@example.com".into(),
            role,
            token_id: claims.jti.clone(),
            session_id: claims.sid.clone(),
            csrf: None,
            amr: vec!["pwd".into()],
            roles: Vec::new(),
            permissions: Vec::new(),
            claims: Default::default(),
        }
    };
    let disable = json!({ "disabled": true });
    for (who, role, status) in [(&user_id, Role::User, 403), (&admin_id, Role::Admin, 200)] {
        let list = principal_request(Method::GET, "/admin/users", None, principal(who, role));
        assert_eq!(shared::http::admin::list_users(store.as_ref(), list).await.status(), status, "{role:?} list");
        let path = format!("/admin/users/{admin_id}");
        let get = principal_request(Method::GET, &path, None, principal(who, role));
        assert_eq!(shared::http::admin::get_user(store.as_ref(), get).await.status(), status, "{role:?} get");
    }
    // A user-role principal cannot disable anyone; the account stays enabled.
    let target = format!("/admin/users/{admin_id}");
    let patch = principal_request(Method::PATCH, &target, Some(disable.clone()), principal(&user_id, Role::User));
    assert_eq!(
        shared::http::admin::update_user(store.as_ref(), &shared::events::Events::disabled(), patch).await.status(),
        403
    );
    assert!(!store.user_by_id(&admin_id).await.unwrap().unwrap().disabled);
    // Nor can a token that still says admin after its account was demoted.
    let demote = UserChanges { role: Some(Role::User), disabled: None, claims: None, roles: None };
    store.update_user(&admin_id, &demote, None).await.unwrap();
    let target = format!("/admin/users/{user_id}");
    let patch = principal_request(Method::PATCH, &target, Some(disable), principal(&admin_id, Role::Admin));
    assert_eq!(
        shared::http::admin::update_user(store.as_ref(), &shared::events::Events::disabled(), patch).await.status(),
        403
    );
    assert!(!store.user_by_id(&user_id).await.unwrap().unwrap().disabled);
}

/// A disable through the admin route revokes the sessions, not only refuses them while the
/// account is disabled: undoing the flag alone (an operator fixing the item) does not bring them
/// back. And `{"disabled": false}` on an enabled account ends nothing (the `disabled ==
/// Some(true)` that decides which changes cut off the sessions).
async fn a_disable_ends_the_sessions_for_good_and_enabling_ends_none(app: TestApp) {
    let store = store(&app);
    let (user_id, _, refresh) = sign_up(&app).await;
    let (admin_id, admin_access, _) = sign_up(&app).await;
    let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
    store.update_user(&admin_id, &promote, None).await.unwrap();
    let claims = app.gateway.accounts.verifier.verify_access(&admin_access, UnixTime::now()).unwrap();
    let admin = Principal {
        user_id: admin_id,
        email: "admin@example.com".into(),
        role: Role::Admin,
        token_id: claims.jti,
        session_id: claims.sid,
        csrf: None,
        amr: vec!["pwd".into()],
        roles: Vec::new(),
        permissions: Vec::new(),
        claims: Default::default(),
    };
    let target = format!("/admin/users/{user_id}");
    let patch = |disabled: bool| {
        principal_request(Method::PATCH, &target, Some(json!({ "disabled": disabled })), admin.clone())
    };

    assert_eq!(
        shared::http::admin::update_user(store.as_ref(), &shared::events::Events::disabled(), patch(false))
            .await
            .status(),
        200
    );
    let refreshed = app.refresh(&refresh).await;
    assert_eq!(refreshed.status, 200, "enabling an enabled account ended its session: {:?}", refreshed.body);
    let (access, refresh) = (refreshed.text("access_token"), refreshed.text("refresh_token"));
    assert_eq!(me_status(&app, &access).await, 200);

    assert_eq!(
        shared::http::admin::update_user(store.as_ref(), &shared::events::Events::disabled(), patch(true))
            .await
            .status(),
        200
    );
    let enable_only = UserChanges { role: None, disabled: Some(false), claims: None, roles: None };
    store.update_user(&user_id, &enable_only, None).await.unwrap();
    let after = app.refresh(&refresh).await;
    assert_eq!((after.status, after.code()), (401, "token_revoked"), "the disabled session came back");
    assert_eq!(me_status(&app, &access).await, 403, "strict mode: its access token stays refused");
}

/// Logout revokes the access token presented with it only when it is the same account's: a
/// client that sends another account's token cannot log that account out.
async fn logout_with_someone_elses_access_token_does_not_revoke_it(app: TestApp) {
    let (_, alice_access, _) = sign_up(&app).await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let (bob_one, bob_two) = (app.login(&email, PASSWORD).await, app.login(&email, PASSWORD).await);
    let logout = app.logout(&bob_one.text("refresh_token"), "local", Some(&alice_access)).await;
    assert_eq!(logout.status, 204, "{:?}", logout.body);
    assert_eq!(me_status(&app, &alice_access).await, 200, "Alice's token still works");
    // Bob's own access token from his other device, presented at logout, is revoked with it
    // (while that device's session lives on).
    let bob_two_access = bob_two.text("access_token");
    let bob_three = app.login(&email, PASSWORD).await;
    let logout = app.logout(&bob_three.text("refresh_token"), "local", Some(&bob_two_access)).await;
    assert_eq!(logout.status, 204);
    assert_eq!(me_status(&app, &bob_two_access).await, 403);
    assert_eq!(app.refresh(&bob_two.text("refresh_token")).await.status, 200);
}

async fn strict_revocation_refuses_tokens_after_a_role_change_or_disable(app: TestApp) {
    let store = store(&app);
    let (admin_id, _, _) = sign_up(&app).await;
    let promote = UserChanges { role: Some(Role::Admin), disabled: None, claims: None, roles: None };
    store.update_user(&admin_id, &promote, None).await.unwrap();
    let admin_email = store.user_by_id(&admin_id).await.unwrap().unwrap().email.as_str().to_owned();
    let admin = app.login(&admin_email, PASSWORD).await.text("access_token");
    for change in [json!({ "role": "admin" }), json!({ "disabled": true })] {
        let (user_id, access, _) = sign_up(&app).await;
        assert_eq!(me_status(&app, &access).await, 200);
        let path = format!("/admin/users/{user_id}");
        let patched = app.send(request(Method::PATCH, &path, Some(change.clone()), Some(&admin))).await;
        assert_eq!(patched.status, 200, "{:?}", patched.body);
        assert_eq!(me_status(&app, &access).await, 403, "after {change}");
    }
}

async fn strict_revocation_refuses_other_sessions_after_a_password_change(app: TestApp) {
    let email = unique_email();
    let other_access = app.register(&email, PASSWORD).await.text("access_token");
    let mine = app.login(&email, PASSWORD).await.text("access_token");
    let body = json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" });
    let changed = app.send(request(Method::POST, "/auth/password", Some(body), Some(&mine))).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(me_status(&app, &other_access).await, 403);
    assert_eq!(me_status(&app, &changed.text("access_token")).await, 200);
}

async fn strict_revocation_refuses_a_revoked_jti_of_a_live_session(app: TestApp) {
    let (_, access, refresh) = sign_up(&app).await;
    let claims = app.gateway.accounts.verifier.verify_access(&access, UnixTime::now()).unwrap();
    store(&app).revoke_access_token(&claims.jti, claims.exp).await.unwrap();
    assert_eq!(me_status(&app, &access).await, 403);
    // The session itself lives on: its next access token works.
    let refreshed = app.refresh(&refresh).await;
    assert_eq!(me_status(&app, &refreshed.text("access_token")).await, 200);
}

/// A logout's revocation of the access token lasts as long as the verifier would accept the
/// token (its exp plus the leeway), not just until its exp.
async fn a_logged_out_access_token_stays_revoked_through_the_leeway(app: TestApp) {
    let (user_id, access, _) = sign_up(&app).await;
    let verifier = &app.gateway.accounts.verifier;
    let claims = verifier.verify_access(&access, UnixTime::now()).unwrap();
    // Another session of the account logs out with this token: this token's session stays
    // live, so only the token's own entry can refuse it.
    let other = app.login(claims.email.as_str(), PASSWORD).await;
    assert_eq!(other.status, 200);
    let logout = app.logout(&other.text("refresh_token"), "local", Some(&access)).await;
    assert_eq!(logout.status, 204);
    let within_leeway = UnixTime::from_secs(claims.exp + 3);
    assert!(verifier.verify_access(&access, within_leeway).is_ok(), "the leeway still accepts the token");
    let token = AccessTokenRef { jti: claims.jti, session_id: claims.sid, user_id };
    assert!(store(&app).is_access_revoked(&token, within_leeway).await.unwrap(), "revoked only until exp");
}

/// A revocation store that cannot answer: what strict mode sees while DynamoDB is unreachable.
struct Unreachable;

#[async_trait]
impl RevocationCheck for Unreachable {
    async fn is_access_revoked(&self, _: &AccessTokenRef, _: UnixTime) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
}

#[tokio::test]
async fn strict_revocation_denies_when_the_store_fails() {
    let keys = e2e::keys();
    let now = UnixTime::now();
    let grant = keys.issuer.next_refresh(uuid(), now);
    let access =
        keys.issuer.issue(&e2e::fixed_user(Role::Admin), &Entitlements::default(), &grant, now).unwrap().access_token;
    let header = format!("Bearer {access}");
    let credentials = Credentials::bearer(Some(&header));
    let route = shared::routes::by_route_key("GET /auth/me");
    assert!(Authorizer::new(&keys.verifier, None).decide(route, credentials, now).await.is_ok());
    let strict = Authorizer::new(&keys.verifier, Some(&Unreachable));
    assert_eq!(strict.decide(route, credentials, now).await.err(), Some(Denial::RevocationCheckFailed));
    let event = json!({ "type": "TOKEN", "authorizationToken": header,
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/auth/me" });
    let response = serde_json::to_value(strict.handle(&event.to_string(), now).await.unwrap()).unwrap();
    assert_eq!(response["policyDocument"]["Statement"][0]["Effect"], "Deny");
}

/// The same against DynamoDB taken down behind a fault proxy.
#[tokio::test]
async fn dynamodb_strict_revocation_denies_while_dynamodb_is_unreachable() {
    let upstream = e2e::dynamodb_endpoint().trim_start_matches("http://").parse().unwrap();
    let proxy = e2e::proxy::FaultProxy::start(upstream).await;
    let store: Arc<dyn Store> = e2e::dynamo_store_via(Some(proxy.endpoint())).await;
    let app = spawn_app_with(store, true);
    let (_, access, _) = sign_up(&app).await;
    assert_eq!(me_status(&app, &access).await, 200);
    proxy.set(e2e::proxy::Link::Refused);
    assert_eq!(me_status(&app, &access).await, 403);
    proxy.set(e2e::proxy::Link::Up);
    assert_eq!(me_status(&app, &access).await, 200);
}
