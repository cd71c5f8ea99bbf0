//! Roles as data, through the API on both stores: administrators define roles, assign them,
//! and delete them once nobody holds them; access tokens carry the roles' names and the union
//! of their permissions from the next login or refresh (or at once with `revoke_sessions`).

use e2e::{PASSWORD, TestApp, TestResponse, request, unique_email};
use http::Method;
use serde_json::{Value, json};
use shared::time::UnixTime;
use shared::tokens::AccessClaims;

async fn put_role(app: &TestApp, token: &str, name: &str, body: Value) -> TestResponse {
    app.send(request(Method::PUT, &format!("/admin/roles/{name}"), Some(body), Some(token))).await
}

async fn patch_user(app: &TestApp, token: &str, user_id: &str, body: Value) -> TestResponse {
    app.send(request(Method::PATCH, &format!("/admin/users/{user_id}"), Some(body), Some(token))).await
}

async fn delete_role(app: &TestApp, token: &str, name: &str) -> TestResponse {
    app.send(request(Method::DELETE, &format!("/admin/roles/{name}"), None, Some(token))).await
}

fn claims(app: &TestApp, response: &TestResponse) -> AccessClaims {
    app.gateway.accounts.verifier.verify_access(&response.text("access_token"), UnixTime::now()).unwrap()
}

fn names(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

async fn admins_define_roles_and_tokens_carry_them(app: TestApp) {
    let admin = app.sign_in_admin().await.text("access_token");
    let defined = put_role(
        &app,
        &admin,
        "support",
        json!({ "description": "Help desk", "permissions": ["users:read", "orders:read", "users:read"] }),
    )
    .await;
    assert_eq!(defined.status, 200, "{:?}", defined.body);
    assert_eq!(
        defined.body,
        json!({ "name": "support", "description": "Help desk", "permissions": ["orders:read", "users:read"], "assigned": 0 })
    );
    let ops = put_role(&app, &admin, "ops", json!({ "permissions": ["orders:*"] })).await;
    assert_eq!(ops.status, 200);
    let listed = app.get("/admin/roles", Some(&admin)).await;
    let listed: Vec<&str> =
        listed.body["roles"].as_array().unwrap().iter().map(|role| role["name"].as_str().unwrap()).collect();
    assert_eq!(listed, ["ops", "support"]);
    assert_eq!(app.get("/admin/roles/nobody", Some(&admin)).await.code(), "not_found");

    let email = unique_email();
    let user = app.register(&email, PASSWORD).await;
    let user_id = user.body["user"]["id"].as_str().unwrap().to_owned();
    assert!(claims(&app, &user).roles.is_empty() && claims(&app, &user).permissions.is_empty());
    let assigned = patch_user(&app, &admin, &user_id, json!({ "roles": ["support", "ops"] })).await;
    assert_eq!(assigned.status, 200, "{:?}", assigned.body);
    assert_eq!(assigned.body["roles"], json!(["ops", "support"]));
    assert_eq!(assigned.body["permissions"], json!(["orders:*", "orders:read", "users:read"]));
    assert_eq!(app.get("/admin/roles/support", Some(&admin)).await.body["assigned"], 1);
    let shown = app.get(&format!("/admin/users/{user_id}"), Some(&admin)).await;
    assert_eq!(shown.body["roles"], json!(["ops", "support"]));

    // The user's next refresh carries them, as roles and the union of their permissions.
    let refreshed = app.refresh(&user.text("refresh_token")).await;
    assert_eq!(refreshed.status, 200);
    let carried = claims(&app, &refreshed);
    assert_eq!(names(&carried.roles), ["ops", "support"]);
    let permissions: Vec<&str> = carried.permissions.iter().map(|permission| permission.as_str()).collect();
    assert_eq!(permissions, ["orders:*", "orders:read", "users:read"]);
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(names(&claims(&app, &login).roles), ["ops", "support"]);

    // A role held cannot be deleted; unassigned, it can.
    let held = delete_role(&app, &admin, "ops").await;
    assert_eq!((held.status, held.code()), (409, "conflict"));
    let taken = patch_user(&app, &admin, &user_id, json!({ "roles": ["support"] })).await;
    assert_eq!(taken.body["roles"], json!(["support"]));
    assert_eq!(delete_role(&app, &admin, "ops").await.status, 204);
    assert_eq!(app.get("/admin/roles/ops", Some(&admin)).await.status, 404);
    assert_eq!(delete_role(&app, &admin, "ops").await.status, 404);

    // Audited as events: who changed what, never a permission list in a user event.
    let events = app.events.events();
    let role_events: Vec<(String, Vec<&str>)> = events
        .iter()
        .filter(|event| event.kind.name() == "role.updated")
        .map(|event| (event.detail.role.clone().unwrap(), event.detail.changed.clone()))
        .collect();
    assert_eq!(
        role_events,
        [("support".into(), vec!["created"]), ("ops".into(), vec!["created"]), ("ops".into(), vec!["deleted"])]
    );
    assert!(events.iter().any(|event| event.kind.name() == "user.updated" && event.detail.changed == ["roles"]));
}

async fn bad_roles_are_refused_and_change_nothing(app: TestApp) {
    let admin_session = app.sign_in_admin().await;
    let admin = admin_session.text("access_token");
    for (name, body) in [
        ("Support", json!({ "permissions": [] })),
        ("admin", json!({ "permissions": [] })),
        ("user", json!({ "permissions": [] })),
        ("support", json!({ "permissions": ["Orders:read"] })),
        ("support", json!({ "permissions": ["*"] })),
        ("support", json!({ "permissions": (0..101).map(|n| format!("p{n}")).collect::<Vec<_>>() })),
        ("support", json!({ "permissions": [], "description": "x".repeat(501) })),
        ("support", json!({ "permissions": [], "colour": "red" })),
    ] {
        let refused = put_role(&app, &admin, name, body.clone()).await;
        assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{name} {body}");
    }
    assert_eq!(app.get("/admin/roles", Some(&admin)).await.body, json!({ "roles": [] }));

    let user = app.register(&unique_email(), PASSWORD).await;
    let user_id = user.body["user"]["id"].as_str().unwrap().to_owned();
    let unknown = patch_user(&app, &admin, &user_id, json!({ "roles": ["ghost"] })).await;
    assert_eq!((unknown.status, unknown.code()), (400, "validation_failed"));
    assert!(unknown.body["errors"][0]["message"].as_str().unwrap().contains("ghost"));
    // Two roles whose union would pass the token's permission cap.
    let half = |offset: usize| (0..40).map(|n| format!("perm{}", n + offset)).collect::<Vec<_>>();
    assert_eq!(put_role(&app, &admin, "left", json!({ "permissions": half(0) })).await.status, 200);
    assert_eq!(put_role(&app, &admin, "right", json!({ "permissions": half(40) })).await.status, 200);
    let too_many = patch_user(&app, &admin, &user_id, json!({ "roles": ["left", "right"] })).await;
    assert_eq!((too_many.status, too_many.code()), (400, "validation_failed"));
    assert!(too_many.body["errors"][0]["message"].as_str().unwrap().contains("64"), "{:?}", too_many.body);
    assert_eq!(app.get("/admin/roles/left", Some(&admin)).await.body["assigned"], 0, "nothing written");
    // Nobody changes their own roles.
    let admin_id = admin_session.body["user"]["id"].as_str().unwrap().to_owned();
    let own = patch_user(&app, &admin, &admin_id, json!({ "roles": ["left"] })).await;
    assert_eq!((own.status, own.code()), (409, "conflict"));
    // Users have no role routes at all.
    let user_token = user.text("access_token");
    assert_eq!(app.get("/admin/roles", Some(&user_token)).await.status, 403);
    assert_eq!(put_role(&app, &user_token, "mine", json!({ "permissions": ["x"] })).await.status, 403);
}

async fn a_permission_taken_from_a_role_leaves_its_holders_within_the_cache_period(app: TestApp) {
    let app = app.with_role_cache(1);
    let admin = app.sign_in_admin().await.text("access_token");
    put_role(&app, &admin, "support", json!({ "permissions": ["orders:read", "orders:refund"] })).await;
    let user = app.register(&unique_email(), PASSWORD).await;
    let user_id = user.body["user"]["id"].as_str().unwrap().to_owned();
    patch_user(&app, &admin, &user_id, json!({ "roles": ["support"] })).await;
    let first = app.refresh(&user.text("refresh_token")).await;
    assert_eq!(claims(&app, &first).permissions.len(), 2);
    put_role(&app, &admin, "support", json!({ "permissions": ["orders:read"] })).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let next = app.refresh(&first.text("refresh_token")).await;
    let permissions: Vec<String> = claims(&app, &next).permissions.iter().map(|p| p.to_string()).collect();
    assert_eq!(permissions, ["orders:read"], "past the cache period the refund permission is gone");
    // At once, with revoke_sessions: the user's refresh token stops working.
    let revoked = patch_user(&app, &admin, &user_id, json!({ "roles": [], "revoke_sessions": true })).await;
    assert_eq!(revoked.status, 200);
    let refused = app.refresh(&next.text("refresh_token")).await;
    assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
}

e2e::on_both_stores!(
    admins_define_roles_and_tokens_carry_them,
    bad_roles_are_refused_and_change_nothing,
    a_permission_taken_from_a_role_leaves_its_holders_within_the_cache_period,
);
