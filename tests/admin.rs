//! Roles and administration, against DynamoDB and the embedded store.

use e2e::{TestApp, TestResponse, request, unique_email};
use http::Method;
use serde_json::{Value, json};
use shared::domain::Role;

use e2e::PASSWORD;

async fn patch(app: &TestApp, token: &str, user_id: &str, body: Value) -> TestResponse {
    app.send(request(Method::PATCH, &format!("/admin/users/{user_id}"), Some(body), Some(token))).await
}

fn id_of(response: &TestResponse) -> String {
    response.body["user"]["id"].as_str().unwrap().to_owned()
}

async fn user_tokens_are_refused_on_every_admin_route(app: TestApp) {
    let user = app.register(&unique_email(), PASSWORD).await;
    let token = user.text("access_token");
    let target = id_of(&user);
    let refused = [
        app.get("/admin/users", Some(&token)).await,
        app.get(&format!("/admin/users/{target}"), Some(&token)).await,
        patch(&app, &token, &target, json!({ "role": "admin" })).await,
    ];
    for response in refused {
        assert_eq!((response.status, response.body.clone()), (403, json!({ "message": "Forbidden" })));
    }
    let anonymous = app.get("/admin/users", None).await;
    assert_eq!((anonymous.status, anonymous.body.clone()), (401, json!({ "message": "Unauthorized" })));
    // The refused promotion changed nothing.
    assert_eq!(app.gateway.accounts.store.user_by_id(&target).await.unwrap().unwrap().role, Role::User);
}

async fn admins_read_and_change_users(app: TestApp) {
    let admin = app.sign_in_admin().await;
    let token = admin.text("access_token");
    let user = app.register(&unique_email(), PASSWORD).await;
    let target = id_of(&user);

    let fetched = app.get(&format!("/admin/users/{target}"), Some(&token)).await;
    assert_eq!(fetched.status, 200, "{:?}", fetched.body);
    assert_eq!(fetched.body["email"], user.body["user"]["email"]);
    assert_eq!(fetched.body["disabled"], false);
    assert!(fetched.body["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(fetched.body.get("password_hash").is_none());

    let missing = app.get("/admin/users/01a20000-0000-7000-8000-000000000000", Some(&token)).await;
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
    let missing = patch(&app, &token, "01a20000-0000-7000-8000-000000000000", json!({ "disabled": true })).await;
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
    let empty = patch(&app, &token, &target, json!({})).await;
    assert_eq!((empty.status, empty.code()), (400, "validation_failed"));
    let bad_role = patch(&app, &token, &target, json!({ "role": "root" })).await;
    assert_eq!((bad_role.status, bad_role.code()), (400, "validation_failed"));

    let promoted = patch(&app, &token, &target, json!({ "role": "admin" })).await;
    assert_eq!((promoted.status, promoted.body["role"].clone()), (200, json!("admin")));
    // The promotion revoked the user's sessions; the next login carries the new role.
    let refused = app.refresh(&user.text("refresh_token")).await;
    assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    let email = user.body["user"]["email"].as_str().unwrap();
    assert_eq!(app.login(email, PASSWORD).await.body["user"]["role"], "admin");
}

async fn disabled_users_are_locked_out(app: TestApp) {
    let admin = app.sign_in_admin().await;
    let token = admin.text("access_token");
    let email = unique_email();
    let user = app.register(&email, PASSWORD).await;
    let disabled = patch(&app, &token, &id_of(&user), json!({ "disabled": true })).await;
    assert_eq!((disabled.status, disabled.body["disabled"].clone()), (200, json!(true)));
    let login = app.login(&email, PASSWORD).await;
    assert_eq!((login.status, login.code()), (403, "account_disabled"));
    // A wrong password learns nothing about the account's state.
    let wrong = app.login(&email, "not the password").await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    let refreshed = app.refresh(&user.text("refresh_token")).await;
    assert_eq!((refreshed.status, refreshed.code()), (401, "token_revoked"));
    let enabled = patch(&app, &token, &id_of(&user), json!({ "disabled": false })).await;
    assert_eq!(enabled.status, 200);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

async fn an_admin_cannot_demote_or_disable_themself(app: TestApp) {
    let admin = app.sign_in_admin().await;
    let token = admin.text("access_token");
    let me = id_of(&admin);
    for change in [json!({ "role": "user" }), json!({ "disabled": true }), json!({ "role": "admin", "disabled": true })]
    {
        let refused = patch(&app, &token, &me, change).await;
        assert_eq!((refused.status, refused.code()), (409, "conflict"));
    }
    assert_eq!(app.gateway.accounts.store.user_by_id(&me).await.unwrap().unwrap().role, Role::Admin);
    assert_eq!(app.get("/admin/users", Some(&token)).await.status, 200);
}

async fn a_demoted_admin_loses_admin_access_at_the_next_refresh(app: TestApp) {
    let first = app.sign_in_admin().await;
    let second = app.sign_in_admin().await;
    let demoted = patch(&app, &first.text("access_token"), &id_of(&second), json!({ "role": "user" })).await;
    assert_eq!(demoted.status, 200);
    let refresh = app.refresh(&second.text("refresh_token")).await;
    assert_eq!((refresh.status, refresh.code()), (401, "token_revoked"), "the demoted admin's session survived");
    let email = second.body["user"]["email"].as_str().unwrap();
    let again = app.login(email, PASSWORD).await;
    let refused = app.get("/admin/users", Some(&again.text("access_token"))).await;
    assert_eq!((refused.status, refused.body), (403, json!({ "message": "Forbidden" })));
}

async fn pages_of_two_return_every_user_exactly_once(app: TestApp) {
    let admin = app.sign_in_admin().await;
    let token = admin.text("access_token");
    let mut expected = vec![id_of(&admin)];
    for _ in 0..4 {
        expected.push(id_of(&app.register(&unique_email(), PASSWORD).await));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(cursor) => format!("/admin/users?limit=2&cursor={cursor}"),
            None => "/admin/users?limit=2".to_owned(),
        };
        let page = app.get(&path, Some(&token)).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let users = page.body["users"].as_array().unwrap();
        assert!(users.len() <= 2);
        seen.extend(users.iter().map(|user| user["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    expected.reverse();
    assert_eq!(seen, expected, "newest first, each user once");
    for bad in ["/admin/users?limit=0", "/admin/users?limit=101", "/admin/users?limit=x", "/admin/users?cursor=%%%"] {
        let refused = app.get(bad, Some(&token)).await;
        assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{bad}");
    }
}

e2e::on_both_stores!(
    user_tokens_are_refused_on_every_admin_route,
    admins_read_and_change_users,
    disabled_users_are_locked_out,
    an_admin_cannot_demote_or_disable_themself,
    a_demoted_admin_loses_admin_access_at_the_next_refresh,
    pages_of_two_return_every_user_exactly_once,
);
