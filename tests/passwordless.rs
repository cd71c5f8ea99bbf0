//! An account may have no password (it will sign in with a linked identity or a passkey): no
//! password proves anything for it, however it is tried.

use e2e::{PASSWORD, TestApp, on_both_stores, unique_email};
use serde_json::json;
use shared::domain::{Email, Role, User};
use shared::time::UnixTime;

on_both_stores!(no_password_signs_in_to_an_account_without_one);

async fn no_password_signs_in_to_an_account_without_one(app: TestApp) {
    let email = unique_email();
    let user = User::without_password(Email::parse(&email).unwrap(), Role::User, UnixTime::now());
    app.gateway.accounts.store.create_user(&user, None).await.unwrap();
    for password in [PASSWORD, "", "anything at all"] {
        let refused = app.login(&email, password).await;
        assert_eq!((refused.status, refused.code()), (401, "invalid_credentials"), "{password:?}");
    }
    // The owner can still choose one through the mailbox.
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    let token = app.mailed_token(&email, "/reset-password");
    let reset = app.post("/auth/password/reset", json!({ "token": token, "new_password": PASSWORD })).await;
    assert_eq!(reset.status, 204, "{:?}", reset.body);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}
