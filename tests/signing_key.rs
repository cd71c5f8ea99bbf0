//! The signers' private key from AWS Secrets Manager (moto's implementation of it), read once at
//! init: tokens it signs verify against the published key set, and a bad secret fails init with
//! an error that names the variable and never shows the secret.

use std::time::Instant;

use serde_json::json;
use shared::config::{ConfigError, Env, SIGNING_KEY_SECRET};
use shared::domain::{Email, Entitlements, Role, User};
use shared::time::UnixTime;
use shared::tokens::keys::generate_ed25519;
use shared::tokens::{TokenIssuer, TokenVerifier, VerifyingKeys};

use e2e::{AUDIENCE, ISSUER, token_settings};

/// moto's Secrets Manager, as `scripts/test.sh` starts it.
async fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").expect(
        "Secrets Manager tests need moto: run scripts/test.sh (it starts moto and sets AWS_ENDPOINT_URL_SECRETS_MANAGER)",
    );
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    aws_sdk_secretsmanager::Client::new(&config)
}

async fn create_secret(value: &str) -> String {
    let name = format!("signing-key-{}", uuid::Uuid::new_v4().simple());
    let created = secrets_manager().await.create_secret().name(&name).secret_string(value).send().await.unwrap();
    created.arn().expect("moto answers the ARN").to_owned()
}

fn env_with_secret(arn: &str) -> Env {
    Env::from_pairs([("JWT_ISSUER", ISSUER), ("JWT_AUDIENCE", AUDIENCE), (SIGNING_KEY_SECRET, arn)])
}

#[tokio::test]
async fn signers_read_their_key_from_secrets_manager_at_init() {
    use secrecy::ExposeSecret as _;
    let generated = generate_ed25519("from-secrets-manager").unwrap();
    let secret = json!({ "kid": generated.kid, "private_key": generated.private_pem.expose_secret() });
    let arn = create_secret(&secret.to_string()).await;

    let started = Instant::now();
    let issuer = TokenIssuer::from_env(&env_with_secret(&arn)).await.expect("the signer loads its key");
    println!("TokenIssuer::from_env with GetSecretValue (moto): {:?}", started.elapsed());

    let user = User::new(Email::parse("alice@example.com").unwrap(), String::new(), Role::User, UnixTime::now());
    let now = UnixTime::now();
    let grant = issuer.next_refresh("session".into(), now);
    let tokens = issuer.issue(&user, &Entitlements::default(), &grant, now).unwrap();
    let jwks = json!({ "keys": [generated.public_jwk] }).to_string();
    let verifier = TokenVerifier::new(token_settings(), VerifyingKeys::from_public_jwks(&jwks).unwrap());
    let claims = verifier.verify_access(&tokens.access_token, now).expect("signed with the secret's key");
    assert_eq!(claims.sub, user.id);
}

#[tokio::test]
async fn a_bad_or_missing_secret_fails_init_without_showing_it() {
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf";
    let error = TokenIssuer::from_env(&env_with_secret(missing)).await.err().expect("no such secret");
    assert!(matches!(error, ConfigError::Invalid { name: SIGNING_KEY_SECRET, .. }), "{error}");

    let pem_only = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHunter2hunter2hunter2hunter2hunter2hunter2\n-----END PRIVATE KEY-----\n";
    let wrong_kid = json!({ "kid": 7, "private_key": "hunter2-not-a-key" }).to_string();
    let not_a_key = json!({ "kid": "k", "private_key": "hunter2-not-a-key" }).to_string();
    for value in [pem_only.to_owned(), wrong_kid, not_a_key] {
        let arn = create_secret(&value).await;
        let error = TokenIssuer::from_env(&env_with_secret(&arn)).await.err().expect("a bad secret fails init");
        assert!(matches!(error, ConfigError::Invalid { name: SIGNING_KEY_SECRET, .. }), "{error}");
        assert!(!error.to_string().contains("hunter2"), "the secret leaked into {error}");
    }
}

/// The MFA data key from Secrets Manager: what one process seals, another process with the same
/// secret opens; a secret that is no 32-byte base64 key fails init without showing it.
#[tokio::test]
async fn the_mfa_functions_read_their_data_key_from_secrets_manager_at_init() {
    use shared::config::MFA_KEY_SECRET;
    use shared::domain::mfa::TotpKey;
    use shared::service::MfaConfig;
    let encoded = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    let arn = create_secret(encoded).await;
    let env = || Env::from_pairs([("JWT_ISSUER", ISSUER), (MFA_KEY_SECRET, arn.as_str())]);
    let sealer = MfaConfig::from_env(&env()).await.expect("the data key loads");
    let opener = MfaConfig::from_env(&env()).await.unwrap();
    let key = TotpKey::generate().unwrap();
    let sealed = sealer.sealing_key.seal(&key, "user-1").unwrap();
    assert_eq!(opener.sealing_key.open(&sealed, "user-1").unwrap().expose_bytes(), key.expose_bytes());

    let short = create_secret("c2hvcnQ=").await;
    let env = Env::from_pairs([("JWT_ISSUER", ISSUER), (MFA_KEY_SECRET, short.as_str())]);
    let error = MfaConfig::from_env(&env).await.err().expect("not a 32-byte key");
    assert!(matches!(error, ConfigError::Invalid { name: MFA_KEY_SECRET, .. }), "{error}");
    assert!(!error.to_string().contains("c2hvcnQ"));
}
