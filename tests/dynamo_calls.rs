//! Counts the DynamoDB requests each use case sends (the goal: "refresh at most 2 DynamoDB calls
//! on its success path"), with an SDK interceptor on the real client against a local DynamoDB:
//! what goes over the wire is counted, not what the code appears to do.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use e2e::{accounts, unique_email};
use shared::domain::{Email, Password, SessionPolicy};
use shared::service::{self, Accounts, ClientInfo};
use shared::store::AccountStore as _;
use shared::store::{DynamoStore, RoleStore, TableNames, schema};
use shared::time::UnixTime;
use shared::tokens::{CsrfBinding, Rebinding};

/// Records the operation (`X-Amz-Target`, e.g. `DynamoDB_20120810.GetItem`) of every HTTP
/// request the client transmits, retries included.
#[derive(Clone, Debug, Default)]
struct RequestLog {
    operations: Arc<Mutex<Vec<String>>>,
}

impl RequestLog {
    /// The operations sent since the last call, without the `DynamoDB_20120810.` prefix.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.operations.lock().unwrap())
    }
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        self.operations.lock().unwrap().push(operation);
        Ok(())
    }
}

/// A DynamoDB store on fresh tables whose client reports every request to the returned log.
async fn counted_store() -> (DynamoStore, RequestLog) {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "DynamoDB tests need a local DynamoDB: run scripts/test.sh (it starts DynamoDB Local and sets AWS_ENDPOINT_URL_DYNAMODB)"
    );
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
    let tables = TableNames { users: format!("users-{suffix}"), revocations: format!("revocations-{suffix}") };
    // The client every function builds, with the counting interceptor added.
    let standard = shared::config::dynamodb_client().await;
    schema::create_tables(&standard, &tables).await.expect("creating test tables");
    let log = RequestLog::default();
    let config = standard.config().to_builder().interceptor(log.clone()).build();
    (DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), tables), log)
}

use e2e::PASSWORD;

fn password() -> Password {
    Password::parse_presented(PASSWORD.to_owned()).unwrap()
}

#[tokio::test]
async fn refresh_success_path_makes_two_dynamodb_requests() {
    let (store, log) = counted_store().await;
    let accounts = accounts(Arc::new(store));
    let email = Email::parse(&unique_email()).unwrap();
    let now = UnixTime::now();
    // The registration session is bound to a CSRF token, as with cookie transport: the binding
    // lives in the tokens and costs no request.
    let csrf = CsrfBinding::of("csrf-token");
    let registered =
        service::register(&accounts, email.clone(), password(), &ClientInfo::default(), Some(csrf.clone()), now)
            .await
            .expect("register");
    let registered = registered.signed_in().expect("optional verification: registration signs in");
    let register_calls = log.take();

    let logged_in = service::login(&accounts, Some(email), password(), &ClientInfo::default(), None, now)
        .await
        .expect("login succeeds");
    let login_calls = log.take();

    let mut token = logged_in.refresh_token;
    let mut refresh_calls = Vec::new();
    for _ in 0..3 {
        let next = service::refresh(&accounts, &token, Rebinding::UNCHANGED, &ClientInfo::default(), UnixTime::now())
            .await
            .expect("refresh succeeds");
        token = next.refresh_token;
        refresh_calls.push(log.take());
    }
    // The register session also refreshes in two, its CSRF binding checked.
    service::refresh(
        &accounts,
        &registered.refresh_token,
        Rebinding::Proven(csrf),
        &ClientInfo::default(),
        UnixTime::now(),
    )
    .await
    .expect("refresh of the registration session succeeds");
    refresh_calls.push(log.take());

    println!("register: {} request(s) {register_calls:?}", register_calls.len());
    println!("login:    {} request(s) {login_calls:?}", login_calls.len());
    for calls in &refresh_calls {
        println!("refresh:  {} request(s) {calls:?}", calls.len());
        assert_eq!(calls, &["GetItem", "UpdateItem"], "refresh success path: user read + one conditional rotation");
    }
    // Login: draws from its three throttle buckets and reads the account (together), starts a
    // session (one transaction), gives the attempts back; the exact count is reported in
    // docs/performance.md. It must stay small: every request is a network round trip.
    assert!(login_calls.len() <= 9, "login sent {login_calls:?}");
    assert!(login_calls.iter().all(|operation| operation != "Scan" && operation != "Query"), "{login_calls:?}");
}

#[tokio::test]
async fn refresh_reuse_path_is_bounded_too() {
    let (store, log) = counted_store().await;
    // No grace period: the first replay of the spent token is reuse (with one, it is the second).
    let accounts = Accounts { sessions: SessionPolicy { reuse_grace_secs: 0 }, ..accounts(Arc::new(store)) };
    let email = Email::parse(&unique_email()).unwrap();
    let now = UnixTime::now();
    let registered = service::register(&accounts, email, password(), &ClientInfo::default(), None, now)
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    service::refresh(&accounts, &registered.refresh_token, Rebinding::UNCHANGED, &ClientInfo::default(), now)
        .await
        .unwrap();
    log.take();
    let replay =
        service::refresh(&accounts, &registered.refresh_token, Rebinding::UNCHANGED, &ClientInfo::default(), now).await;
    assert!(matches!(replay, Err(shared::error::ApiError::TokenReused)), "{replay:?}");
    let calls = log.take();
    println!("refresh (reuse detected): {} request(s) {calls:?}", calls.len());
    // user read, failed conditional rotation, session read to tell reuse from revocation, revoke.
    assert!(calls.len() <= 4, "{calls:?}");
}

/// An unknown email and a wrong password cost the same: the same DynamoDB requests, and one
/// Argon2id check each (the unknown one against the dummy hash).
#[tokio::test]
async fn unknown_email_and_wrong_password_make_the_same_requests_and_hash_once() {
    let (store, log) = counted_store().await;
    let accounts = accounts(Arc::new(store));
    let email = Email::parse(&unique_email()).unwrap();
    let now = UnixTime::now();
    service::register(&accounts, email.clone(), password(), &ClientInfo::default(), None, now).await.unwrap();
    log.take();
    let wrong = || Password::parse_presented("not the password".to_owned()).unwrap();
    // From two addresses, so that neither attempt finds the other's throttle state.
    let attempt = |email: Email, ip: &'static str| {
        let accounts = &accounts;
        async move {
            let before = accounts.hasher.computations();
            let client = ClientInfo { ip: Some(ip.parse().unwrap()), device_token: None, user_agent: None };
            let answer = service::login(accounts, Some(email), wrong(), &client, None, now).await;
            assert!(matches!(answer, Err(shared::error::ApiError::InvalidCredentials)), "{answer:?}");
            accounts.hasher.computations() - before
        }
    };
    let known_hashes = attempt(email, "192.0.2.10").await;
    let mut known = log.take();
    let unknown_hashes = attempt(Email::parse(&unique_email()).unwrap(), "192.0.2.11").await;
    let mut unknown = log.take();
    // The throttle's draws go out together, in no fixed order.
    known.sort_unstable();
    unknown.sort_unstable();
    println!("wrong password: {known:?}\nunknown email:  {unknown:?}");
    assert_eq!(known, unknown);
    assert_eq!((known_hashes, unknown_hashes), (1, 1));
}

/// Asks DynamoDB for the capacity each UpdateItem consumed (per table and index), and keeps it.
#[derive(Clone, Debug, Default)]
struct CapacityLog {
    writes: Arc<Mutex<Vec<aws_sdk_dynamodb::types::ConsumedCapacity>>>,
}

impl Intercept for CapacityLog {
    fn name(&self) -> &'static str {
        "CapacityLog"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(update) = context.input_mut().downcast_mut::<UpdateItemInput>() {
            update.return_consumed_capacity = Some(ReturnConsumedCapacity::Indexes);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let consumed = context
            .output_or_error()
            .ok()
            .and_then(|output| output.downcast_ref::<UpdateItemOutput>())
            .and_then(|output| output.consumed_capacity.clone());
        self.writes.lock().unwrap().extend(consumed);
        Ok(())
    }
}

/// The cost of the session list to the hot path: a refresh is one conditional UpdateItem of
/// the session item, which must stay within one write unit and write nothing to the
/// `sessions_by_user` index (its keys, `live_user_id` and `created_ms`, do not change).
#[tokio::test]
async fn a_refresh_consumes_one_write_unit_and_none_on_the_session_index() {
    let (store, _) = counted_store().await;
    let capacity = CapacityLog::default();
    let client = store.client();
    let config = client.config().to_builder().interceptor(capacity.clone()).build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), store.tables().clone());
    let accounts = accounts(Arc::new(store));
    // The longest User-Agent the session keeps, so the measured item is the largest one.
    let client = ClientInfo {
        ip: Some("2001:db8::1234:5678".parse().unwrap()),
        device_token: None,
        user_agent: Some("M".repeat(1000)),
    };
    let registered = service::register(
        &accounts,
        Email::parse(&unique_email()).unwrap(),
        password(),
        &client,
        None,
        UnixTime::now(),
    )
    .await
    .unwrap()
    .signed_in()
    .unwrap();
    capacity.writes.lock().unwrap().clear();
    let mut token = registered.refresh_token;
    for _ in 0..3 {
        token = service::refresh(&accounts, &token, Rebinding::UNCHANGED, &client, UnixTime::now())
            .await
            .unwrap()
            .refresh_token;
    }
    let writes = std::mem::take(&mut *capacity.writes.lock().unwrap());
    println!("refresh write capacity: {writes:?}");
    assert_eq!(writes.len(), 3, "one UpdateItem per refresh, each reporting its capacity");
    for consumed in writes {
        assert_eq!(consumed.capacity_units, Some(1.0), "{consumed:?}");
        let index_units: f64 = consumed
            .global_secondary_indexes
            .iter()
            .flat_map(|indexes| indexes.values())
            .filter_map(|index| index.capacity_units)
            .sum();
        assert_eq!(index_units, 0.0, "a refresh wrote to an index: {consumed:?}");
    }
    // Whereas ending the session takes it out of the index (it removes `live_user_id`), and
    // DynamoDB reports that write: the zero above is a measurement, not an absence of one.
    let session_id = accounts.verifier.verify_refresh(&token, UnixTime::now()).unwrap().sid;
    accounts.store.revoke_session(&session_id).await.unwrap();
    let revocation = std::mem::take(&mut *capacity.writes.lock().unwrap());
    println!("revocation write capacity: {revocation:?}");
    let index_units: f64 = revocation
        .iter()
        .flat_map(|consumed| consumed.global_secondary_indexes.iter().flat_map(|indexes| indexes.values()))
        .filter_map(|index| index.capacity_units)
        .sum();
    assert!(index_units > 0.0, "{revocation:?}");
}

/// An account holding roles: the catalog is read once per cache period (here, the first
/// refresh in a fresh function), and every refresh after that stays at two requests.
#[tokio::test]
async fn a_refresh_with_roles_reads_the_role_catalog_once_per_cache_period() {
    let (store, log) = counted_store().await;
    let store = Arc::new(store);
    let accounts = accounts(store.clone());
    let email = Email::parse(&unique_email()).unwrap();
    let now = UnixTime::now();
    let registered =
        service::register(&accounts, email, password(), &ClientInfo::default(), None, now).await.expect("register");
    let registered = registered.signed_in().expect("optional verification: registration signs in");
    let role = shared::domain::RoleDefinition {
        id: uuid::Uuid::now_v7().to_string(),
        name: shared::domain::RoleName::parse("support").unwrap(),
        description: String::new(),
        permissions: vec![shared::domain::Permission::parse("orders:read").unwrap()],
        assigned: 0,
        updated_ms: now.millis(),
    };
    assert!(store.define_role(0, &role).await.unwrap());
    let assignment = shared::store::RoleAssignment { previous: Vec::new(), new: vec![role.id.clone()] };
    let changes = shared::store::UserChanges { roles: Some(assignment), ..Default::default() };
    store.update_user(&registered.user.id, &changes, None).await.unwrap().unwrap();
    log.take();

    let mut token = registered.refresh_token.clone();
    let mut refresh_calls = Vec::new();
    for _ in 0..3 {
        let next = service::refresh(&accounts, &token, Rebinding::UNCHANGED, &ClientInfo::default(), UnixTime::now())
            .await
            .expect("refresh succeeds");
        let claims = accounts.verifier.verify_access(&next.access_token, UnixTime::now()).unwrap();
        assert_eq!(claims.permissions.len(), 1);
        token = next.refresh_token;
        refresh_calls.push(log.take());
    }
    println!("refresh with roles: {refresh_calls:?}");
    assert_eq!(
        refresh_calls[0],
        ["GetItem", "GetItem", "UpdateItem"],
        "the user, the catalog (first time), the rotation"
    );
    assert_eq!(
        refresh_calls[1..],
        [["GetItem", "UpdateItem"], ["GetItem", "UpdateItem"]],
        "the catalog from the cache"
    );
}

/// A federated sign-in through oidc-provider, counted: what each step sends to DynamoDB (the
/// provider's own calls are HTTP to it, not counted here). A first sign-in makes the account; a
/// returning one finds it by its identity's guard.
#[tokio::test]
async fn a_federated_sign_in_sends_these_requests() {
    use e2e::upstream::{self, Browser, fragment, location};
    let (store, log) = counted_store().await;
    let app = e2e::spawn_app(Arc::new(store)).with_federation(upstream::federation("verified").await);
    let email = unique_email();
    let mut steps = Vec::new();
    for round in ["first", "returning"] {
        let mut browser = Browser::default();
        log.take();
        let authorize = browser.authorize(&app, &email).await;
        steps.push((round, "authorize", log.take()));
        let callback = Browser::at_provider(location(&authorize)).await;
        let back = browser.callback(&app, &callback).await;
        steps.push((round, "callback", log.take()));
        let code = fragment(location(&back), "code").expect("a login code");
        let signed_in = browser.exchange(&app, &code).await;
        assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
        steps.push((round, "token", log.take()));
    }
    for (round, step, calls) in &steps {
        println!("federated sign-in ({round}) {step}: {} request(s) {calls:?}", calls.len());
    }
    let calls = |round: &str, step: &str| steps.iter().find(|s| s.0 == round && s.1 == step).unwrap().2.clone();
    assert_eq!(calls("returning", "authorize"), ["PutItem"], "the upstream login's state");
    assert_eq!(
        calls("returning", "callback"),
        ["DeleteItem", "GetItem", "GetItem", "PutItem"],
        "state taken, identity guard, account, login code"
    );
    assert_eq!(
        calls("returning", "token"),
        ["DeleteItem", "GetItem", "TransactWriteItems"],
        "code taken, account, session"
    );
    let first = calls("first", "callback");
    assert!(first.len() <= 7 && first.contains(&"TransactWriteItems".to_owned()), "{first:?}");
}

/// A passkey added and signed in with, counted: what each ceremony's step sends to DynamoDB.
#[tokio::test]
async fn passkey_ceremonies_send_these_requests() {
    use e2e::authenticator::{Ceremony, SoftPasskey};
    let (store, log) = counted_store().await;
    let app = e2e::spawn_app(Arc::new(store));
    let registered = app.register(&unique_email(), e2e::PASSWORD).await;
    let access = registered.text("access_token");
    let ceremony = Ceremony::at(e2e::APP_URL, e2e::RP_ID);
    let send = |path: &str, body: Option<serde_json::Value>, bearer: Option<&str>| {
        app.send(e2e::request(http::Method::POST, path, body, bearer))
    };
    log.take();
    let options = send("/auth/passkeys/register/options", None, Some(&access)).await;
    let register_options = log.take();
    let (mut passkey, credential) = SoftPasskey::create(&options.body, &ceremony);
    let added =
        send("/auth/passkeys/register", Some(serde_json::json!({ "credential": credential })), Some(&access)).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let register = log.take();
    let options = send("/auth/passkeys/login/options", Some(serde_json::json!({})), None).await;
    let login_options = log.take();
    let credential = passkey.assert(&options.body, &ceremony);
    let signed_in = send("/auth/passkeys/login", Some(serde_json::json!({ "credential": credential })), None).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    let login = log.take();
    for (step, calls) in [
        ("register options", &register_options),
        ("register", &register),
        ("login options", &login_options),
        ("login", &login),
    ] {
        println!("passkey {step}: {} request(s) {calls:?}", calls.len());
    }
    assert_eq!(register_options, ["GetItem", "GetItem", "PutItem"], "the session, the account, the ceremony");
    assert_eq!(
        register,
        ["GetItem", "GetItem", "DeleteItem", "UpdateItem"],
        "session, account, ceremony taken, passkeys written"
    );
    assert_eq!(login_options, ["PutItem"], "the ceremony");
    assert_eq!(
        login,
        ["DeleteItem", "GetItem", "TransactWriteItems"],
        "ceremony taken, account, session with the counter"
    );
}
