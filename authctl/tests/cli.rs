//! `authctl` as an operator runs it: the built binary as a process, against DynamoDB Local (and
//! moto's Secrets Manager), as `scripts/test.sh` starts them. What it writes is checked through
//! the service's own code: an admin it creates logs in, a key it generates signs tokens the
//! published key set verifies.

mod common;

use common::*;

#[tokio::test]
async fn create_tables_is_idempotent() {
    dynamodb_endpoint();
    let tables = fresh_tables();
    let args = ["create-tables", "--users-table", &tables.users, "--revocations-table", &tables.revocations];
    let first = succeeded(authctl(&args, None, &[]));
    assert!(first.contains(&format!("{}: created", tables.users)), "{first}");
    assert!(first.contains(&format!("{}: created", tables.revocations)), "{first}");
    let second = succeeded(authctl(&args, None, &[]));
    assert!(second.contains(&format!("{}: already exists", tables.users)), "{second}");
    assert!(second.contains(&format!("{}: already exists", tables.revocations)), "{second}");
    // The tables work: a user written there is found again.
    let store = DynamoStore::new(shared::config::dynamodb_client().await, tables);
    let user = User::new(Email::parse(&unique_email("table")).unwrap(), String::new(), Role::User, UnixTime::now());
    store.create_user(&user, None).await.unwrap();
    assert_eq!(store.user_by_email(&user.email).await.unwrap().map(|found| found.id), Some(user.id));
}

/// A revocations table made before the session list existed gains its index on the next run.
#[tokio::test]
async fn create_tables_adds_the_session_index_to_an_older_table() {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    dynamodb_endpoint();
    let tables = fresh_tables();
    let client = shared::config::dynamodb_client().await;
    client
        .create_table()
        .table_name(&tables.revocations)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().unwrap())
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .send()
        .await
        .unwrap();
    let args = ["create-tables", "--users-table", &tables.users, "--revocations-table", &tables.revocations];
    succeeded(authctl(&args, None, &[]));
    let described = client.describe_table().table_name(&tables.revocations).send().await.unwrap();
    let indexes: Vec<_> =
        described.table().unwrap().global_secondary_indexes().iter().filter_map(|index| index.index_name()).collect();
    assert_eq!(indexes, [shared::store::schema::SESSIONS_BY_USER_INDEX]);
    // And again: nothing more to add, no error.
    succeeded(authctl(&args, None, &[]));
}

#[tokio::test]
async fn create_admin_reads_the_password_from_stdin_and_the_admin_logs_in() {
    let deployment = Deployment::new().await;
    let accounts = deployment.accounts();
    let email = unique_email("admin");
    let password = "the operator's own long passphrase";

    let out = succeeded(deployment.create_admin(&email, Some(&format!("{password}\n"))));
    assert!(out.contains(&format!("created admin {email}")), "{out}");
    assert!(!out.contains(password), "echoed the password: {out}");

    let signed_in = login(&accounts, &email, password).await.expect("the new admin logs in with the stdin password");
    assert_eq!(signed_in.user.role, Role::Admin);
    let claims = accounts.verifier.verify_access(&signed_in.access_token, UnixTime::now()).unwrap();
    assert_eq!(claims.role, Role::Admin, "the admin's token carries the admin role");
    // Exactly the line given: not the newline, not a prefix.
    assert!(matches!(login(&accounts, &email, &format!("{password}\n")).await, Err(ApiError::InvalidCredentials)));
    assert!(matches!(login(&accounts, &email, "the operator's own").await, Err(ApiError::InvalidCredentials)));
}

#[tokio::test]
async fn create_admin_refuses_a_missing_or_weak_password_and_creates_nobody() {
    let deployment = Deployment::new().await;
    for (stdin, complaint) in [(None, "no password given"), (Some("short\n"), "password")] {
        let email = unique_email("nobody");
        let output = deployment.create_admin(&email, stdin);
        assert!(!output.status.success(), "{stdin:?}: {}", stdout(&output));
        assert!(stderr(&output).contains(complaint), "{stdin:?}: {}", stderr(&output));
        let stored = deployment.store.user_by_email(&Email::parse(&email).unwrap()).await.unwrap();
        assert!(stored.is_none(), "{stdin:?} created {stored:?}");
    }
}

#[tokio::test]
async fn create_admin_promotes_an_existing_user_keeping_the_password_and_ending_their_sessions() {
    let deployment = Deployment::new().await;
    let accounts = deployment.accounts();
    let email = unique_email("promoted");
    let password = "a user's own long passphrase";
    let hash = accounts.hasher.hash(Password::parse_new(password.into()).unwrap()).await.unwrap();
    let user = User::new(Email::parse(&email).unwrap(), hash, Role::User, UnixTime::now());
    deployment.store.create_user(&user, None).await.unwrap();
    let before = login(&accounts, &email, password).await.unwrap();
    assert_eq!(before.user.role, Role::User);

    // No password is asked for (nor read): the user keeps theirs.
    let out = succeeded(deployment.create_admin(&email, None));
    assert!(out.contains(&format!("promoted {email} (id {})", user.id)), "{out}");

    let stored = deployment.store.user_by_email(&user.email).await.unwrap().unwrap();
    assert_eq!((stored.id.as_str(), stored.role), (user.id.as_str(), Role::Admin));
    let after = login(&accounts, &email, password).await.expect("the old password still logs in");
    let claims = accounts.verifier.verify_access(&after.access_token, UnixTime::now()).unwrap();
    assert_eq!(claims.role, Role::Admin);
    let offered = Rebinding::Offered { held: None, fresh: None };
    let old_session =
        service::refresh(&accounts, &before.refresh_token, offered, &ClientInfo::default(), UnixTime::now()).await;
    assert!(matches!(old_session, Err(ApiError::TokenRevoked)), "the pre-promotion session goes on: {old_session:?}");
}

#[tokio::test]
async fn gen_key_merges_into_an_existing_set_for_rotation_and_refuses_a_duplicate_kid() {
    let old = succeeded(authctl(&["gen-key", "--kid", "old-key"], None, &[]));
    assert_eq!(line(&old, "JWT_KEY_ID"), "old-key");
    let old_jwks = line(&old, "JWT_PUBLIC_JWKS");
    assert_eq!(kids(old_jwks), ["old-key"]);
    let file = std::env::temp_dir().join(format!("authctl-jwks-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, old_jwks).unwrap();
    let path = file.to_str().unwrap();

    let new = succeeded(authctl(&["gen-key", "--kid", "new-key", "--alg", "es256", "--jwks", path], None, &[]));
    let merged = line(&new, "JWT_PUBLIC_JWKS");
    assert_eq!(kids(merged), ["new-key", "old-key"], "the new key first, the old one kept");
    let old_key = &serde_json::from_str::<Value>(old_jwks).unwrap()["keys"][0];
    assert_eq!(&serde_json::from_str::<Value>(merged).unwrap()["keys"][1], old_key, "the old key unchanged");

    // With the merged set published, tokens from both keys verify: the rotation loses no session.
    let verifier = TokenVerifier::new(settings(), VerifyingKeys::from_public_jwks(merged).unwrap());
    for (output, kid) in [(&old, "old-key"), (&new, "new-key")] {
        let key = SigningKey::from_pkcs8_pem(&pem(output).into(), kid.into()).unwrap();
        let (token, subject) = signed(&TokenIssuer::new(settings(), key));
        assert_eq!(verifier.verify_access(&token, UnixTime::now()).expect(kid).sub, subject);
    }

    for duplicate in ["old-key", "new-key"] {
        let merged_file = std::env::temp_dir().join(format!("authctl-jwks-{}.json", uuid::Uuid::new_v4().simple()));
        std::fs::write(&merged_file, merged).unwrap();
        let refused = authctl(&["gen-key", "--kid", duplicate, "--jwks", merged_file.to_str().unwrap()], None, &[]);
        assert!(!refused.status.success(), "a second {duplicate}: {}", stdout(&refused));
        assert!(stderr(&refused).contains(&format!("kid \"{duplicate}\" is already in")), "{}", stderr(&refused));
        assert!(stdout(&refused).is_empty(), "printed a key anyway: {}", stdout(&refused));
        std::fs::remove_file(merged_file).unwrap();
    }
    std::fs::remove_file(file).unwrap();
}

#[tokio::test]
async fn gen_key_secret_line_is_the_json_the_deployed_signers_load() {
    std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").expect(
        "authctl tests need moto: run scripts/test.sh (it starts moto and sets AWS_ENDPOINT_URL_SECRETS_MANAGER)",
    );
    let out = succeeded(authctl(&["gen-key", "--kid", "deployed"], None, &[]));
    let secret: Value = serde_json::from_str(line(&out, "JWT_SIGNING_KEY_SECRET")).expect("one line of JSON");
    let fields: Vec<_> = secret.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields, ["kid", "private_key"]);
    assert_eq!(secret["kid"], "deployed");
    assert_eq!(secret["private_key"].as_str().unwrap(), pem(&out), "the same key as the PEM printed after it");

    // Stored as the Secrets Manager secret, it is the key the signers load at init, and the
    // printed JWT_PUBLIC_JWKS verifies what they sign.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let name = format!("authctl-signing-key-{}", uuid::Uuid::new_v4().simple());
    let created = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(&name)
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    let env = Env::from_pairs([
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
        (SIGNING_KEY_SECRET, created.arn().unwrap()),
    ]);
    let issuer = TokenIssuer::from_env(&env).await.expect("the signer loads the secret");
    let (token, subject) = signed(&issuer);
    let verifier =
        TokenVerifier::new(settings(), VerifyingKeys::from_public_jwks(line(&out, "JWT_PUBLIC_JWKS")).unwrap());
    let claims = verifier.verify_access(&token, UnixTime::now()).expect("verifies against the printed key set");
    assert_eq!(claims.sub, subject);
}

/// `set-claims` puts claims on the account that its next login's access token carries; a
/// reserved key is refused, naming it, and changes nothing.
#[tokio::test]
async fn set_claims_reaches_the_next_access_token() {
    let deployment = Deployment::new().await;
    let email = unique_email("claims");
    succeeded(deployment.create_admin(&email, Some("correct horse battery staple\n")));
    let env = [
        ("USERS_TABLE", deployment.tables.users.as_str()),
        ("REVOCATIONS_TABLE", deployment.tables.revocations.as_str()),
    ];
    let refused = authctl(&["set-claims", "--email", &email, "--json", r#"{"sub": "someone-else"}"#], None, &env);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("\"sub\" is reserved"), "{}", stderr(&refused));
    // A registered claim that carries authorization, beside an acceptable one.
    let refused =
        authctl(&["set-claims", "--email", &email, "--json", r#"{"tenant_id": "t-1", "scope": "admin"}"#], None, &env);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("\"scope\" is reserved"), "{}", stderr(&refused));
    let accounts = deployment.accounts();
    let unchanged = login(&accounts, &email, "correct horse battery staple").await.unwrap();
    let unchanged = accounts.verifier.verify_access(&unchanged.access_token, UnixTime::now()).unwrap();
    assert!(unchanged.custom.is_empty(), "a refused set-claims writes nothing: {:?}", unchanged.custom);
    let set = succeeded(authctl(
        &["set-claims", "--email", &email, "--json", r#"{"tenant_id": "t-42", "seats": 5}"#],
        None,
        &env,
    ));
    assert!(set.contains("set the claims"), "{set}");
    let accounts = deployment.accounts();
    let signed_in = login(&accounts, &email, "correct horse battery staple").await.unwrap();
    let claims = accounts.verifier.verify_access(&signed_in.access_token, UnixTime::now()).unwrap();
    assert_eq!(claims.custom.get("tenant_id"), Some(&serde_json::json!("t-42")));
    assert_eq!(claims.custom.get("seats"), Some(&serde_json::json!(5)));
}

/// The operator's commands: roles put and assigned reach the next login's token; users show,
/// disable, enable, revoke-sessions and delete act as the admin routes do.
#[tokio::test]
async fn roles_and_users_commands_act_as_the_admin_routes_do() {
    let deployment = Deployment::new().await;
    let email = unique_email("operator");
    let password = "correct horse battery staple";
    succeeded(deployment.create_admin(&email, Some(&format!("{password}\n"))));
    let env = [
        ("USERS_TABLE", deployment.tables.users.as_str()),
        ("REVOCATIONS_TABLE", deployment.tables.revocations.as_str()),
    ];
    let version = succeeded(authctl(&["--version"], None, &[]));
    assert!(version.starts_with("authctl "), "{version}");

    let refused = authctl(&["roles", "put", "Support", "--permission", "orders:read"], None, &env);
    assert!(!refused.status.success() && stderr(&refused).contains("role name"), "{}", stderr(&refused));
    let put = succeeded(authctl(
        &["roles", "put", "support", "--permission", "orders:read", "--permission", "users:read"],
        None,
        &env,
    ));
    assert!(put.contains("support: orders:read users:read"), "{put}");
    succeeded(authctl(&["assign", "--email", &email, "--role", "support"], None, &env));
    let listed = succeeded(authctl(&["roles", "list"], None, &env));
    assert!(listed.contains("support  (1 holders)"), "{listed}");
    let shown = succeeded(authctl(&["users", "show", "--email", &email], None, &env));
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["roles"], serde_json::json!(["support"]));
    let accounts = deployment.accounts();
    let signed_in = login(&accounts, &email, password).await.unwrap();
    let claims = accounts.verifier.verify_access(&signed_in.access_token, UnixTime::now()).unwrap();
    assert_eq!(claims.roles, ["support"]);
    let held = authctl(&["roles", "delete", "support"], None, &env);
    assert!(!held.status.success(), "a held role stays");

    succeeded(authctl(&["users", "disable", "--email", &email], None, &env));
    assert_eq!(login(&accounts, &email, password).await.err(), Some(ApiError::AccountDisabled));
    succeeded(authctl(&["users", "enable", "--email", &email], None, &env));
    let again = login(&accounts, &email, password).await.unwrap();
    succeeded(authctl(&["users", "revoke-sessions", "--email", &email], None, &env));
    let refresh = service::refresh(
        &accounts,
        &again.refresh_token,
        shared::tokens::Rebinding::UNCHANGED,
        &ClientInfo::default(),
        UnixTime::now(),
    )
    .await;
    assert_eq!(refresh.err(), Some(ApiError::TokenRevoked));
    let listed = succeeded(authctl(&["users", "list"], None, &env));
    assert!(listed.contains(&email), "{listed}");

    let unconfirmed = authctl(&["users", "delete", "--email", &email], None, &env);
    assert!(!unconfirmed.status.success() && stderr(&unconfirmed).contains("--yes"));
    succeeded(authctl(&["users", "delete", "--email", &email, "--yes"], None, &env));
    assert_eq!(login(&accounts, &email, password).await.err(), Some(ApiError::InvalidCredentials));
    succeeded(authctl(&["roles", "delete", "support"], None, &env));
    assert!(!succeeded(authctl(&["roles", "list"], None, &env)).contains("support"));
}
