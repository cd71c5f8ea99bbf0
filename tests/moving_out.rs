//! Moving out and back in, at the level `authctl export` and `import` work (the store's pages and
//! the account line), on DynamoDB Local: an account with MFA keeps its second factor in another
//! deployment that has the same MFA key; one without that key cannot open the TOTP key — its
//! codes are refused as wrong, never a 5xx — and the recovery codes, whose digests moved, still
//! let the owner in.

use std::sync::Arc;

use e2e::{PASSWORD, TestApp, request, spawn_app, unique_email};
use http::Method;
use serde_json::json;
use shared::domain::RoleCatalog;
use shared::domain::mfa::{STEP_SECS, TotpKey};
use shared::gateway::Gateway;
use shared::migration::AccountLine;
use shared::service::Recovery;
use shared::store::{Store, TransferStore as _};
use shared::time::UnixTime;

fn code_after(key: &TotpKey, steps: u64) -> String {
    key.code_at(UnixTime::now().secs() + steps * STEP_SECS)
}

/// Every account of `from`, through its export line, into `to`.
async fn move_accounts(from: &shared::store::DynamoStore, to: &shared::store::DynamoStore) {
    let catalog = RoleCatalog::default();
    let mut lines = Vec::new();
    let mut page = from.export_users(None).await.unwrap();
    loop {
        lines.extend(page.users.iter().map(|user| serde_json::to_string(&AccountLine::of(user, &catalog)).unwrap()));
        let Some(next) = page.next.take() else { break };
        page = from.export_users(Some(next)).await.unwrap();
    }
    let users: Vec<_> = lines
        .iter()
        .map(|line| serde_json::from_str::<AccountLine>(line).unwrap().into_user(&catalog, UnixTime::now()).unwrap())
        .collect();
    let (outcomes, _) = to.import_users(&users).await.unwrap();
    assert!(outcomes.iter().all(|outcome| *outcome == shared::store::Imported::Created));
}

/// `app`'s functions, keys and MFA key over another store.
fn over(app: TestApp, store: Arc<dyn Store>) -> TestApp {
    let gateway = Arc::into_inner(app.gateway).expect("not shared");
    let recovery = Recovery { store, ..gateway.accounts.recovery };
    let accounts = shared::service::Accounts { recovery, ..gateway.accounts };
    TestApp { gateway: Arc::new(Gateway { accounts, ..gateway }), outbox: app.outbox, events: app.events }
}

async fn second_step(app: &TestApp, email: &str, answer: serde_json::Value) -> e2e::TestResponse {
    let login = app.login(email, PASSWORD).await;
    assert_eq!((login.status, login.code()), (401, "mfa_required"), "{:?}", login.body);
    let mut body = answer;
    body["mfa_token"] = login.body["mfa_token"].clone();
    app.post("/auth/mfa/verify", body).await
}

#[tokio::test]
async fn an_account_with_mfa_moves_with_its_second_factor_where_the_mfa_key_goes_too() {
    let source_store = e2e::dynamo_store().await;
    let app = spawn_app(source_store.clone());
    let email = unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let token = app.mailed_token(&email, "/verify-email");
    assert_eq!(app.post("/auth/email/verify", json!({ "token": token })).await.status, 200);
    let access = registered.text("access_token");
    let started = app.send(request(Method::POST, "/auth/mfa/totp", None, Some(&access))).await;
    let key = TotpKey::from_base32(&started.text("secret")).unwrap();
    let body = json!({ "code": code_after(&key, 0), "current_password": PASSWORD });
    let confirmed = app.send(request(Method::POST, "/auth/mfa/totp/confirm", Some(body), Some(&access))).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    let recovery = confirmed.body["recovery_codes"][0].as_str().unwrap().to_owned();

    // The same MFA key (the deployment's secret moved along): the app's codes work.
    let target_store = e2e::dynamo_store().await;
    move_accounts(&source_store, &target_store).await;
    let moved = over(app, target_store.clone());
    let verified = second_step(&moved, &email, json!({ "code": code_after(&key, 1) })).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);

    // Another MFA key: the sealed TOTP key does not open; a code is refused as wrong (no 5xx),
    // and a recovery code (its digest moved) still signs in.
    let elsewhere_store = e2e::dynamo_store().await;
    move_accounts(&source_store, &elsewhere_store).await;
    let elsewhere = spawn_app(elsewhere_store);
    let refused = second_step(&elsewhere, &email, json!({ "code": code_after(&key, 1) })).await;
    assert_eq!((refused.status, refused.code()), (401, "invalid_code"), "{:?}", refused.body);
    let recovered = second_step(&elsewhere, &email, json!({ "recovery_code": recovery })).await;
    assert_eq!(recovered.status, 200, "{:?}", recovered.body);
}
