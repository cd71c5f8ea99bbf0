//! Lazy migration from Amazon Cognito on both stores, against moto's Cognito (its server, as
//! scripts/test.sh starts it): a pool user signs in here with the pool's password and exists here
//! afterwards, under the pool's `sub`; "forgot password" for a pool user makes the account so the
//! reset works; wrong passwords, unknown, disabled and challenged users make nothing; an account
//! already here never asks the pool; a pool that does not answer is a 503, not a 401.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, ExplicitAuthFlowsType, SchemaAttributeType};
use e2e::{PASSWORD, TestApp, on_both_stores, unique_email};
use secrecy::SecretString;
use serde_json::json;
use shared::domain::Email;
use shared::legacy::{CognitoDirectory, Legacy};
use shared::time::UnixTime;

const POOL_PASSWORD: &str = "The pool's Passw0rd!";

/// A user pool on moto (email as the username, a custom attribute) and an app client with a
/// secret that may use ADMIN_USER_PASSWORD_AUTH.
struct Pool {
    client: Client,
    id: String,
    client_id: String,
    client_secret: String,
}

async fn cognito_client() -> Client {
    std::env::var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
        .expect("the migration tests need moto's Cognito: run scripts/test.sh (it sets AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER)");
    Client::new(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
}

impl Pool {
    async fn new() -> Self {
        Self::made(true).await
    }

    /// `email_usernames`: the address is the username (else usernames are free text).
    async fn made(email_usernames: bool) -> Self {
        let client = cognito_client().await;
        let tenant = SchemaAttributeType::builder()
            .name("tenant")
            .attribute_data_type(aws_sdk_cognitoidentityprovider::types::AttributeDataType::String)
            .mutable(true)
            .build();
        let pool =
            client.create_user_pool().pool_name(format!("legacy-{}", uuid::Uuid::new_v4().simple())).schema(tenant);
        let pool = match email_usernames {
            true => pool.username_attributes(aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email),
            false => pool,
        };
        let pool = pool.send().await.unwrap();
        let id = pool.user_pool().unwrap().id().unwrap().to_owned();
        let app_client = client
            .create_user_pool_client()
            .user_pool_id(&id)
            .client_name("migration")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .generate_secret(true)
            .send()
            .await
            .unwrap();
        let app_client = app_client.user_pool_client().unwrap();
        let client_id = app_client.client_id().unwrap().to_owned();
        let client_secret = app_client.client_secret().unwrap().to_owned();
        Self { client, id, client_id, client_secret }
    }

    fn legacy(&self) -> Legacy {
        Legacy::from(CognitoDirectory::new(
            self.client.clone(),
            self.id.clone(),
            self.client_id.clone(),
            Some(SecretString::from(self.client_secret.clone())),
        ))
    }

    /// A confirmed pool user with `password`; its `sub`.
    async fn user(&self, email: &str, password: &str, verified: bool) -> String {
        self.user_named(email, email, password, verified).await
    }

    /// A confirmed pool user named `username` whose address is `email`.
    async fn user_named(&self, username: &str, email: &str, password: &str, verified: bool) -> String {
        let attribute = |name: &str, value: &str| AttributeType::builder().name(name).value(value).build().unwrap();
        self.client
            .admin_create_user()
            .user_pool_id(&self.id)
            .username(username)
            .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
            .user_attributes(attribute("email", email))
            .user_attributes(attribute("email_verified", if verified { "true" } else { "false" }))
            .user_attributes(attribute("custom:tenant", "t-9"))
            .send()
            .await
            .unwrap();
        self.set_password(username, password).await;
        let user = self.client.admin_get_user().user_pool_id(&self.id).username(username).send().await.unwrap();
        let sub = user.user_attributes().iter().find(|attribute| attribute.name() == "sub").unwrap();
        sub.value().unwrap().to_owned()
    }

    async fn set_password(&self, email: &str, password: &str) {
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.id)
            .username(email)
            .password(password)
            .permanent(true)
            .send()
            .await
            .unwrap();
    }
}

async fn migrating(app: TestApp) -> (TestApp, Pool) {
    let pool = Pool::new().await;
    (app.with_legacy(pool.legacy()), pool)
}

async fn stored(app: &TestApp, email: &str) -> Option<shared::domain::User> {
    app.gateway.accounts.store.user_by_email(&Email::parse(email).unwrap()).await.unwrap()
}

async fn a_pool_user_signs_in_with_the_pool_password_and_exists_here_afterwards(app: TestApp) {
    let (app, pool) = migrating(app).await;
    let email = unique_email();
    let sub = pool.user(&email, POOL_PASSWORD, true).await;
    assert!(stored(&app, &email).await.is_none());

    let signed_in = app.login(&email, POOL_PASSWORD).await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    let claims = app.gateway.accounts.verifier.verify_access(&signed_in.text("access_token"), UnixTime::now()).unwrap();
    assert_eq!(claims.sub, sub, "the pool's sub: what the API stored under it stays the user's");
    assert_eq!(claims.custom["tenant"], "t-9", "custom:tenant became a claim");
    let user = stored(&app, &email).await.expect("the account exists here now");
    assert!(
        user.password_hash.as_deref().unwrap().starts_with("$argon2id$"),
        "an Argon2id hash of the proven password"
    );
    assert!(user.email_verified, "the pool's email_verified");
    let registered = app.events.events().into_iter().find(|event| event.kind.name() == "user.registered").unwrap();
    assert_eq!((registered.detail.user_id.as_deref(), registered.detail.method), (Some(sub.as_str()), Some("legacy")));

    // From now on the pool is not asked: a new password there does not sign in here.
    pool.set_password(&email, "Another pool Passw0rd!").await;
    assert_eq!(app.login(&email, "Another pool Passw0rd!").await.status, 401);
    assert_eq!(app.login(&email, POOL_PASSWORD).await.status, 200);
}

async fn a_wrong_password_or_an_address_unknown_to_both_gets_the_same_401_and_makes_nothing(app: TestApp) {
    let (app, pool) = migrating(app).await;
    let (email, unknown) = (unique_email(), unique_email());
    pool.user(&email, POOL_PASSWORD, true).await;
    let wrong = app.login(&email, "not the pool's password").await;
    let nobody = app.login(&unknown, POOL_PASSWORD).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    assert_eq!((nobody.status, &nobody.body), (wrong.status, &wrong.body), "the same answer");
    assert!(stored(&app, &email).await.is_none() && stored(&app, &unknown).await.is_none());
}

async fn forgot_password_for_a_pool_user_makes_the_account_so_the_reset_works(app: TestApp) {
    let (app, pool) = migrating(app).await;
    let email = unique_email();
    let sub = pool.user(&email, POOL_PASSWORD, false).await;
    let asked = app.post("/auth/password/forgot", json!({ "email": email })).await;
    assert_eq!(asked.status, 202);
    let user = stored(&app, &email).await.expect("made from the pool, for the reset");
    assert_eq!((user.id.as_str(), user.password_hash.as_ref()), (sub.as_str(), None));
    let token = app.mailed_token(&email, "/reset-password");
    let reset = app.post("/auth/password/reset", json!({ "token": token, "new_password": PASSWORD })).await;
    assert_eq!(reset.status, 204, "{:?}", reset.body);
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    assert!(stored(&app, &email).await.unwrap().email_verified, "the reset proved the address");
    assert!(app.mail_to(&unique_email()).is_empty());
}

async fn disabled_and_challenged_pool_users_are_not_migrated_at_login(app: TestApp) {
    let (app, pool) = migrating(app).await;
    let (disabled, temporary) = (unique_email(), unique_email());
    pool.user(&disabled, POOL_PASSWORD, true).await;
    pool.client.admin_disable_user().user_pool_id(&pool.id).username(&disabled).send().await.unwrap();
    assert_eq!(app.login(&disabled, POOL_PASSWORD).await.status, 401);
    app.post("/auth/password/forgot", json!({ "email": disabled })).await;
    assert!(
        stored(&app, &disabled).await.is_none() && app.mail_to(&disabled).is_empty(),
        "nothing for a disabled user"
    );

    // An administrator-made user with a temporary password: the pool asks for a new one.
    let attribute = AttributeType::builder().name("email").value(&temporary).build().unwrap();
    pool.client
        .admin_create_user()
        .user_pool_id(&pool.id)
        .username(&temporary)
        .temporary_password(POOL_PASSWORD)
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .user_attributes(attribute)
        .send()
        .await
        .unwrap();
    assert_eq!(app.login(&temporary, POOL_PASSWORD).await.status, 401, "a temporary password is not the user's");
    assert!(stored(&app, &temporary).await.is_none());
}

async fn an_account_already_here_never_asks_the_pool(app: TestApp) {
    let (app, pool) = migrating(app).await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    pool.user(&email, POOL_PASSWORD, true).await;
    assert_eq!(app.login(&email, POOL_PASSWORD).await.status, 401, "only this service's password counts");
    assert_eq!(app.login(&email, PASSWORD).await.status, 200);
}

async fn a_pool_that_does_not_answer_is_a_503_and_known_accounts_still_sign_in(app: TestApp) {
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
        .region(aws_sdk_cognitoidentityprovider::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::for_tests())
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let directory = CognitoDirectory::new(Client::from_conf(config), "us-east-1_gone".into(), "client".into(), None);
    let app = app.with_legacy(Legacy::from(directory));
    let (known, unknown) = (unique_email(), unique_email());
    app.register(&known, PASSWORD).await;
    let answer = app.login(&unknown, POOL_PASSWORD).await;
    assert_eq!((answer.status, answer.code()), (503, "unavailable"));
    assert!(stored(&app, &unknown).await.is_none());
    assert_eq!(app.login(&known, PASSWORD).await.status, 200);
}

async fn a_pool_user_only_named_like_an_address_does_not_get_it(app: TestApp) {
    // A pool whose usernames are free text: someone named their user after the victim's address,
    // with an address (verified) of their own.
    let pool = Pool::made(false).await;
    let app = app.with_legacy(pool.legacy());
    let (victim, attacker) = (unique_email(), unique_email());
    pool.user_named(&victim, &attacker, POOL_PASSWORD, true).await;
    let login = app.login(&victim, POOL_PASSWORD).await;
    assert_eq!((login.status, login.code()), (401, "invalid_credentials"), "{:?}", login.body);
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": victim })).await.status, 202);
    assert!(stored(&app, &victim).await.is_none(), "no account for the victim's address");
    assert!(app.mail_to(&victim).is_empty());
}

async fn an_account_migrated_before_and_since_readdressed_is_not_made_again(app: TestApp) {
    let (app, pool) = migrating(app).await;
    let email = unique_email();
    let sub = pool.user(&email, POOL_PASSWORD, true).await;
    // The account came here under the pool's sub and has another address now.
    let moved = shared::domain::User {
        id: sub,
        ..shared::domain::User::without_password(
            Email::parse(&unique_email()).unwrap(),
            shared::domain::Role::User,
            UnixTime::now(),
        )
    };
    app.gateway.accounts.store.create_user(&moved, None).await.unwrap();
    let login = app.login(&email, POOL_PASSWORD).await;
    assert_eq!((login.status, login.code()), (401, "invalid_credentials"), "{:?}", login.body);
    assert_eq!(app.post("/auth/password/forgot", json!({ "email": email })).await.status, 202);
    assert!(stored(&app, &email).await.is_none());
}

on_both_stores!(
    a_pool_user_only_named_like_an_address_does_not_get_it,
    an_account_migrated_before_and_since_readdressed_is_not_made_again,
    a_pool_user_signs_in_with_the_pool_password_and_exists_here_afterwards,
    a_wrong_password_or_an_address_unknown_to_both_gets_the_same_401_and_makes_nothing,
    forgot_password_for_a_pool_user_makes_the_account_so_the_reset_works,
    disabled_and_challenged_pool_users_are_not_migrated_at_login,
    an_account_already_here_never_asks_the_pool,
    a_pool_that_does_not_answer_is_a_503_and_known_accounts_still_sign_in,
);
