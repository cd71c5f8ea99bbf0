//! The `samples/` invocations drive the handlers the way Lambda would, so the samples stay valid.

use std::path::PathBuf;
use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use e2e::{TestApp, dynamo_store, keys, spawn_app, test_hasher};
use serde_json::Value;
use shared::authorizer::Authorizer;
use shared::domain::{Email, Entitlements, Role, Session, User};
use shared::http::{ApiResponse, admin, auth};
use shared::store::{AccountStore, DynamoStore, RoleStore, Store};
use shared::time::UnixTime;
use shared::tokens::CsrfBinding;
use shared::transport::{CSRF_COOKIE, TokenTransport};

fn event(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn lambda_request(text: &str) -> shared::http::ApiRequest {
    shared::lambda::api_request(lambda_http::request::from_str(text).expect("event parses as an API Gateway request"))
}

fn body(response: &ApiResponse) -> Value {
    if response.body().is_empty() { Value::Null } else { serde_json::from_str(response.body()).unwrap() }
}

struct Functions {
    app: TestApp,
    store: Arc<DynamoStore>,
}

impl Functions {
    async fn new() -> Self {
        let store = dynamo_store().await;
        let app = spawn_app(Arc::clone(&store) as Arc<dyn Store>);
        Self { app, store }
    }

    async fn invoke(&self, sample: &str, replacements: &[(&str, &str)]) -> ApiResponse {
        let mut text = event(sample);
        for (placeholder, value) in replacements {
            text = text.replace(placeholder, value);
        }
        let request = lambda_request(&text);
        let gateway = &self.app.gateway;
        let accounts = &gateway.accounts;
        let store = self.store.as_ref();
        match sample {
            "register.json" => auth::register(accounts, gateway.transport, request).await,
            "login.json" => auth::login(accounts, gateway.transport, request).await,
            "refresh.json" => auth::refresh(accounts, gateway.transport, request).await,
            "logout.json" => auth::logout(store, &accounts.verifier, gateway.transport, request).await,
            "me.json" => auth::me(store, request).await,
            "jwks.json" => shared::http::jwks(accounts.verifier.keys()),
            "admin-list-users.json" => admin::list_users(store, request).await,
            "admin-get-user.json" => admin::get_user(store, request).await,
            "admin-update-user.json" => admin::update_user(store, &shared::events::Events::disabled(), request).await,
            "admin-roles.json" => {
                shared::http::roles::admin_roles_function(store, &shared::events::Events::disabled(), request).await
            }
            other => panic!("no function for {other}"),
        }
    }
}

#[tokio::test]
async fn http_samples_drive_the_contract_flow() {
    let functions = Functions::new().await;
    let registered = functions.invoke("register.json", &[]).await;
    assert_eq!(registered.status(), 201, "{}", registered.body());
    let again = functions.invoke("register.json", &[]).await;
    assert_eq!((again.status().as_u16(), body(&again)["code"].clone()), (409, "email_taken".into()));

    let logged_in = functions.invoke("login.json", &[]).await;
    assert_eq!(logged_in.status(), 200, "{}", logged_in.body());
    let refresh_token = body(&logged_in)["refresh_token"].as_str().unwrap().to_owned();

    let placeholder = [("REPLACE_WITH_REFRESH_TOKEN", refresh_token.as_str())];
    let as_is = functions.invoke("refresh.json", &[]).await;
    assert_eq!((as_is.status().as_u16(), body(&as_is)["code"].clone()), (401, "invalid_token".into()));
    let refreshed = functions.invoke("refresh.json", &placeholder).await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.body());
    let newest = body(&refreshed)["refresh_token"].as_str().unwrap().to_owned();

    let logged_out = functions.invoke("logout.json", &[("REPLACE_WITH_REFRESH_TOKEN", newest.as_str())]).await;
    assert_eq!(logged_out.status(), 204, "{}", logged_out.body());
    let after = functions.invoke("refresh.json", &[("REPLACE_WITH_REFRESH_TOKEN", newest.as_str())]).await;
    assert_eq!(after.status(), 401);
}

#[tokio::test]
async fn me_sample_reads_the_authorizer_context() {
    let functions = Functions::new().await;
    let sample: Value = serde_json::from_str(&event("me.json")).unwrap();
    let context = &sample["requestContext"]["authorizer"]["lambda"];
    let email = Email::parse(context["email"].as_str().unwrap()).unwrap();
    let user = User {
        id: context["user_id"].as_str().unwrap().to_owned(),
        ..User::new(email, test_hasher_hash().await, Role::User, UnixTime::now())
    };
    functions.store.create_user(&user, None).await.unwrap();
    let me = functions.invoke("me.json", &[]).await;
    assert_eq!(me.status(), 200, "{}", me.body());
    assert_eq!(body(&me)["email"], context["email"]);
    assert_eq!(body(&me)["id"], context["user_id"]);
}

async fn test_hasher_hash() -> String {
    let password = shared::domain::Password::parse_new(e2e::PASSWORD.into()).unwrap();
    test_hasher().hash(password).await.unwrap()
}

#[tokio::test]
async fn jwks_sample_returns_the_key_set() {
    let functions = Functions::new().await;
    let response = functions.invoke("jwks.json", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["keys"][0]["alg"], "EdDSA");
}

#[tokio::test]
async fn authorizer_sample_is_answered_with_a_simple_response() {
    let keys = keys();
    let user = e2e::fixed_user(Role::User);
    let now = UnixTime::now();
    let grant = keys.issuer.next_refresh("session-1".into(), now);
    let tokens = keys.issuer.issue(&user, &Entitlements::default(), &grant, now).unwrap();

    let text = event("authorizer.json").replace("REPLACE_WITH_ACCESS_TOKEN", &tokens.access_token);
    let request: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&text).unwrap();
    let authorizer = Authorizer::new(&keys.verifier, None);
    let allowed = authorizer.http_api(&request, now).await;
    assert!(allowed.is_authorized);
    assert_eq!(allowed.context["user_id"], user.id.as_str());
    assert_eq!(allowed.context["role"], "user");
    assert_eq!(allowed.context["session_id"], "session-1");
    let rendered = serde_json::to_value(&allowed).unwrap();
    assert_eq!(rendered["isAuthorized"], true);
    // The same event as the function receives it: text, shape detected, simple response.
    let answered = serde_json::to_value(authorizer.handle(&text, now).await.unwrap()).unwrap();
    assert_eq!((answered["isAuthorized"].clone(), answered["context"]["role"].clone()), (true.into(), "user".into()));
    assert!(authorizer.handle("[1, 2]", now).await.is_err(), "an event of no known shape is an error");

    let untouched: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&event("authorizer.json")).unwrap();
    assert!(!authorizer.http_api(&untouched, now).await.is_authorized);

    let text = event("authorizer.json").replace("REPLACE_WITH_ACCESS_TOKEN", &tokens.refresh_token);
    let with_refresh: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&text).unwrap();
    assert!(!authorizer.http_api(&with_refresh, now).await.is_authorized);
}

#[tokio::test]
async fn admin_samples_list_read_and_change_a_user() {
    let functions = Functions::new().await;
    let sample: Value = serde_json::from_str(&event("admin-get-user.json")).unwrap();
    let target_id = sample["pathParameters"]["id"].as_str().unwrap().to_owned();
    let email = Email::parse("alice@example.com").unwrap();
    let target =
        User { id: target_id.clone(), ..User::new(email, test_hasher_hash().await, Role::User, UnixTime::now()) };
    functions.store.create_user(&target, None).await.unwrap();
    // The admin the samples' authorizer context names: admin handlers read their actor.
    let context = &sample["requestContext"]["authorizer"]["lambda"];
    let email = Email::parse(context["email"].as_str().unwrap()).unwrap();
    let admin_id = context["user_id"].as_str().unwrap().to_owned();
    let admin = User { id: admin_id.clone(), ..User::new(email, String::new(), Role::Admin, UnixTime::now()) };
    // ... and the session it names: admin routes refuse a token whose session has ended.
    let now = UnixTime::now();
    let session_id = context["session_id"].as_str().unwrap().to_owned();
    let session = Session::new(session_id, admin_id, "sample-refresh-jti".into(), now.millis(), now.secs() + 3600);
    functions.store.create_user(&admin, Some(&session)).await.unwrap();

    let listed = functions.invoke("admin-list-users.json", &[]).await;
    assert_eq!(listed.status(), 200, "{}", listed.body());
    let listed_ids: Vec<_> = body(&listed)["users"].as_array().unwrap().iter().map(|user| user["id"].clone()).collect();
    assert!(listed_ids.contains(&target_id.as_str().into()), "{listed_ids:?}");
    let fetched = functions.invoke("admin-get-user.json", &[]).await;
    assert_eq!((fetched.status().as_u16(), body(&fetched)["email"].clone()), (200, "alice@example.com".into()));
    let updated = functions.invoke("admin-update-user.json", &[]).await;
    assert_eq!((updated.status().as_u16(), body(&updated)["disabled"].clone()), (200, true.into()));
    assert!(functions.store.user_by_id(&target_id).await.unwrap().unwrap().disabled);
    let defined = functions.invoke("admin-roles.json", &[]).await;
    assert_eq!(defined.status(), 200, "{}", defined.body());
    assert_eq!(body(&defined)["permissions"], serde_json::json!(["orders:read", "users:read"]));
    assert_eq!(functions.store.role_catalog().await.unwrap().roles.len(), 1);
}

/// Cookie transport as Lambda sees it: HTTP API puts cookies in the event's `cookies` field; the
/// authorizer reads the access cookie (only when cookie transport is on), and `lambda_http`
/// hands the refresh function a `Cookie` header with the refresh cookie and the CSRF token.
#[tokio::test]
async fn cookie_samples_authorize_and_refresh() {
    let functions = Functions::new().await;
    let app = &functions.app;
    let gateway = &app.gateway;
    // Registered with cookies on (`both`: the tokens also in the body), so the tokens are bound
    // to the CSRF token of the response's cookie.
    let account = serde_json::json!({"email": e2e::unique_email(), "password": e2e::PASSWORD});
    let request = e2e::request(http::Method::POST, "/auth/register", Some(account), None);
    let registered = auth::register(&gateway.accounts, TokenTransport::Both, request);
    let registered = registered.await;
    let csrf = set_cookie(&registered, CSRF_COOKIE);
    let registered = body(&registered);
    let (access, refresh) =
        (registered["access_token"].as_str().unwrap(), registered["refresh_token"].as_str().unwrap());
    let now = UnixTime::now();
    let keys = &gateway.accounts.verifier;

    let text = event("authorizer-cookie.json")
        .replace("REPLACE_WITH_ACCESS_TOKEN", access)
        .replace("REPLACE_WITH_CSRF_TOKEN", &csrf);
    let request: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&text).unwrap();
    let by_cookie = Authorizer::new(keys, None).accepting_cookie(true).http_api(&request, now).await;
    assert!(by_cookie.is_authorized);
    assert_eq!(by_cookie.context["email"], registered["user"]["email"]);
    assert_eq!(by_cookie.context["csrf"], CsrfBinding::of(&csrf).as_str(), "handlers get the binding to check");
    let bearer_only = Authorizer::new(keys, None).http_api(&request, now).await;
    assert!(!bearer_only.is_authorized, "body transport must not accept the cookie");

    let text = event("refresh-cookie.json").replace("REPLACE_WITH_REFRESH_TOKEN", refresh);
    let refresh_by_cookie = |csrf: &str| {
        let text = text.replace("REPLACE_WITH_CSRF_TOKEN", csrf);
        auth::refresh(&gateway.accounts, TokenTransport::Cookie, lambda_request(&text))
    };
    // A cookie and header that match, but not the CSRF token the session is bound to.
    let forged = refresh_by_cookie("planted").await;
    assert_eq!((forged.status().as_u16(), body(&forged)["code"].as_str()), (403, Some("csrf_failed")));
    let refreshed = refresh_by_cookie(&csrf).await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.body());
    assert!(body(&refreshed).get("refresh_token").is_none());
    let cookies: Vec<_> = refreshed.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("__Secure-refresh_token=ey")), "{cookies:?}");
    let kept = format!("{CSRF_COOKIE}={csrf};");
    assert!(cookies.iter().any(|c| c.starts_with(&kept)), "the CSRF token is kept: {cookies:?}");
}

/// The value a response's `Set-Cookie` gives cookie `name`.
fn set_cookie(response: &ApiResponse, name: &str) -> String {
    let prefix = format!("{name}=");
    let cookie =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).find(|c| c.starts_with(&prefix));
    cookie.unwrap()[prefix.len()..].split(';').next().unwrap().to_owned()
}
