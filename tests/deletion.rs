//! Account deletion on both stores: by the owner (a recent sign-in, or the current password) and
//! by an administrator; afterwards nothing of the account works, its address is free, its roles'
//! holder counts are released, and a notice and a `user.deleted` event say so.

use e2e::{PASSWORD, TestApp, TestResponse, request, unique_email};
use http::Method;
use serde_json::{Value, json};
use shared::domain::Password;
use shared::error::ApiError;
use shared::service;
use shared::time::UnixTime;

async fn delete_me(app: &TestApp, token: &str, body: Option<Value>) -> TestResponse {
    app.send(request(Method::DELETE, "/auth/me", body, Some(token))).await
}

async fn the_owner_deletes_the_account_and_nothing_of_it_works_afterwards(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
    let other = app.login(&email, PASSWORD).await;
    let store = app.gateway.accounts.store.clone();
    let other_session =
        app.gateway.accounts.verifier.verify_refresh(&other.text("refresh_token"), UnixTime::now()).unwrap().sid;

    // Signed in moments ago: no password needed.
    let deleted = delete_me(&app, &registered.text("access_token"), None).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert_eq!(store.user_by_id(&user_id).await.unwrap(), None);
    assert_eq!(store.session(&other_session).await.unwrap(), None, "the live sessions' items are gone");
    for refresh_token in [registered.text("refresh_token"), other.text("refresh_token")] {
        let refused = app.refresh(&refresh_token).await;
        assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    }
    let login = app.login(&email, PASSWORD).await;
    assert_eq!((login.status, login.code()), (401, "invalid_credentials"));
    let again = delete_me(&app, &other.text("access_token"), None).await;
    assert_eq!(again.status, 401, "a token of a deleted account proves nothing: {:?}", again.body);
    let notice = app.mail_to(&email);
    assert!(notice.last().unwrap().subject.contains("deleted"), "{notice:?}");
    let deleted_event = app.events.events().into_iter().find(|event| event.kind.name() == "user.deleted").unwrap();
    assert_eq!(deleted_event.detail.user_id.as_deref(), Some(user_id.as_str()));
    // The address is free: a new account may take it.
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
}

async fn an_old_sign_in_needs_the_current_password(app: TestApp) {
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let owner = e2e::principal_of(&app, &registered.text("access_token"));
    let accounts = &app.gateway.accounts;
    let later = UnixTime::now().plus_secs(service::RECENT_SIGN_IN_SECS + 5);
    let refused = service::delete_account(accounts, &owner, None, later).await;
    assert_eq!(refused, Err(ApiError::ReauthenticationRequired));
    let wrong = Password::parse_presented("not the password at all".into()).unwrap();
    assert_eq!(service::delete_account(accounts, &owner, Some(wrong), later).await, Err(ApiError::InvalidCredentials));
    assert!(accounts.store.user_by_id(&owner.user_id).await.unwrap().is_some(), "refusals delete nothing");
    // Over HTTP, a wrong password is the same refusal.
    let wrong =
        delete_me(&app, &registered.text("access_token"), Some(json!({ "current_password": "not it at all" }))).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    let bad = delete_me(&app, &registered.text("access_token"), Some(json!({ "password": PASSWORD }))).await;
    assert_eq!((bad.status, bad.code()), (400, "validation_failed"));
    let right = Password::parse_presented(PASSWORD.into()).unwrap();
    assert_eq!(service::delete_account(accounts, &owner, Some(right), later).await, Ok(()));
    assert!(accounts.store.user_by_id(&owner.user_id).await.unwrap().is_none());
}

async fn an_admin_deletes_an_account_and_its_roles_are_released(app: TestApp) {
    let admin_session = app.sign_in_admin().await;
    let admin = admin_session.text("access_token");
    let admin_id = admin_session.body["user"]["id"].as_str().unwrap().to_owned();
    app.send(request(
        Method::PUT,
        "/admin/roles/support",
        Some(json!({ "permissions": ["orders:read"] })),
        Some(&admin),
    ))
    .await;
    let email = unique_email();
    let user = app.register(&email, PASSWORD).await;
    let user_id = user.body["user"]["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/users/{user_id}");
    app.send(request(Method::PATCH, &path, Some(json!({ "roles": ["support"] })), Some(&admin))).await;
    assert_eq!(app.get("/admin/roles/support", Some(&admin)).await.body["assigned"], 1);

    let by_user = app
        .send(request(Method::DELETE, &format!("/admin/users/{admin_id}"), None, Some(&user.text("access_token"))))
        .await;
    assert_eq!(by_user.status, 403, "users have no admin routes");
    let own = app.send(request(Method::DELETE, &format!("/admin/users/{admin_id}"), None, Some(&admin))).await;
    assert_eq!((own.status, own.code()), (409, "conflict"));
    let deleted = app.send(request(Method::DELETE, &path, None, Some(&admin))).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert_eq!(app.get(&path, Some(&admin)).await.status, 404);
    let gone = app.send(request(Method::DELETE, &path, None, Some(&admin))).await;
    assert_eq!((gone.status, gone.code()), (404, "not_found"));
    assert_eq!(app.get("/admin/roles/support", Some(&admin)).await.body["assigned"], 0);
    let removed = app.send(request(Method::DELETE, "/admin/roles/support", None, Some(&admin))).await;
    assert_eq!(removed.status, 204, "nobody holds the role any more");
    let event = app.events.events().into_iter().find(|event| event.kind.name() == "user.deleted").unwrap();
    assert_eq!(event.detail.actor.as_deref(), Some(admin_id.as_str()));
    assert!(app.mail_to(&email).last().unwrap().text.contains("An administrator deleted your account"));
}

e2e::on_both_stores!(
    the_owner_deletes_the_account_and_nothing_of_it_works_afterwards,
    an_old_sign_in_needs_the_current_password,
    an_admin_deletes_an_account_and_its_roles_are_released,
);
