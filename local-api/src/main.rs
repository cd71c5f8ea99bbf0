//! `local-api`: every route of the contract on one port, running the same handler and
//! authorizer code as the Lambda functions, behind `shared::gateway` (API Gateway's semantics).

use std::net::SocketAddr;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use local_api::DevViews;
use shared::config::{ConfigError, Env, MFA_KEY, MFA_KEY_SECRET, SIGNING_KEY_SECRET, strict_revocation};
use shared::credentials::{AllowedOrigins, TokenTransport};
use shared::domain::IntrospectionClients;
use shared::domain::{LoginThrottle, PasswordHasher, SessionPolicy};
use shared::email::{LogSender, Mail, Outbox};
use shared::events::{Events, MemoryEvents};
use shared::gateway::Gateway;
use shared::http::discovery::Discovery;
use shared::service::{Accounts, MfaConfig};
use shared::store::{DynamoStore, MemoryStore, Store};
use shared::tokens::{TokenIssuer, TokenSettings, TokenVerifier, ephemeral_ed25519};

#[derive(Parser)]
#[command(about = "Run the JWT auth API locally")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Where users and sessions live: in this process, or in DynamoDB (standard AWS
    /// configuration; AWS_ENDPOINT_URL_DYNAMODB for a local server).
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    store: StoreKind,
}

#[derive(Clone, Copy, ValueEnum)]
enum StoreKind {
    Memory,
    Dynamodb,
}

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let args = Args::parse();
    let (gateway, dev) = match build_gateway(&args).await {
        Ok((gateway, dev)) => (Arc::new(gateway), dev),
        Err(error) => {
            eprintln!("local-api: {error}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("local-api: cannot listen on {}: {error}", args.addr);
            std::process::exit(2);
        }
    };
    let origins = match AllowedOrigins::from_env(&Env::from_process()) {
        Ok(origins) => origins,
        Err(error) => {
            eprintln!("local-api: {error}");
            std::process::exit(2);
        }
    };
    let app = local_api::router(gateway, &origins, dev);
    println!("listening on http://{}", args.addr);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("local-api: {error}");
        std::process::exit(1);
    }
}

/// The gateway, and the outbox `GET /_dev/outbox` shows when mail goes to the log (the default).
async fn build_gateway(args: &Args) -> Result<(Gateway, DevViews), ConfigError> {
    let mut env = Env::from_process();
    let origin = format!("http://{}", args.addr);
    env.set_default("JWT_ISSUER", &origin);
    env.set_default("JWT_AUDIENCE", &origin);
    env.set_default("APP_URL", &origin);
    env.set_default("PUBLIC_BASE_URL", &origin);
    env.set_default("EMAIL_SENDER", "log");
    env.set_default("USERS_TABLE", "users");
    env.set_default("REVOCATIONS_TABLE", "revocations");

    let keys_configured =
        ["JWT_HS256_SECRET", "JWT_PRIVATE_KEY", SIGNING_KEY_SECRET].iter().any(|name| env.get(name).is_some());
    let (issuer, verifier) = if keys_configured {
        (TokenIssuer::from_env(&env).await?, TokenVerifier::from_env(&env)?)
    } else {
        ephemeral_keys(TokenSettings::from_env(&env)?)
    };
    let store: Arc<dyn Store> = match args.store {
        StoreKind::Memory => Arc::new(MemoryStore::new()),
        StoreKind::Dynamodb => Arc::new(DynamoStore::from_env(&env).await?),
    };
    let (mail, outbox) = match env.get("EMAIL_SENDER") {
        Some("log") => {
            let outbox = Outbox::default();
            let mail =
                Mail { sender: Arc::new(LogSender::with_outbox(outbox.clone())), ..Mail::settings_from_env(&env)? };
            (mail, Some(outbox))
        }
        _ => (Mail::from_env(&env).await?, None),
    };
    // Lifecycle events: to EventBridge with EVENT_BUS_NAME, else kept for `GET /_dev/events`.
    let (events, kept_events) = match env.get("EVENT_BUS_NAME") {
        Some(_) => (Events::from_env(&env).await?, None),
        None => {
            let kept = MemoryEvents::default();
            (Events::to(Arc::new(kept.clone())), Some(kept))
        }
    };
    let accounts = Accounts {
        mail,
        store,
        hasher: PasswordHasher::from_env(&env)?,
        throttle: LoginThrottle::from_env(&env)?,
        sessions: SessionPolicy::from_env(&env)?,
        issuer,
        verifier,
        events,
    };
    // With DynamoDB the data outlives the process: so must the key that seals its TOTP keys.
    let mfa = if [MFA_KEY, MFA_KEY_SECRET].iter().any(|name| env.get(name).is_some()) {
        MfaConfig::from_env(&env).await?
    } else if matches!(args.store, StoreKind::Dynamodb) {
        return Err(ConfigError::Missing(MFA_KEY));
    } else {
        ephemeral_mfa_key(&env)?
    };
    let discovery = Discovery::from_env(&env, accounts.verifier.keys())?;
    let introspection_clients = IntrospectionClients::from_env(&env).await?;
    let gateway = Gateway {
        accounts,
        mfa,
        discovery,
        introspection_clients,
        strict_revocation: strict_revocation(&env)?,
        transport: TokenTransport::from_env(&env)?,
    };
    Ok((gateway, DevViews { outbox, events: kept_events }))
}

/// A data key for TOTP keys that lives as long as the process (MFA enrolments die with it).
fn ephemeral_mfa_key(env: &Env) -> Result<MfaConfig, ConfigError> {
    let issuer_name = shared::config::mfa_issuer_name(env)?;
    let mfa = MfaConfig::with_generated_key(issuer_name)
        .map_err(|error| ConfigError::Invalid { name: MFA_KEY, reason: error.to_string() })?;
    tracing::warn!(
        "no MFA_ENCRYPTION_KEY: sealing TOTP keys with a key generated now; enrolments die with this process"
    );
    eprintln!(
        "warning: no MFA_ENCRYPTION_KEY configured; generated a temporary one (MFA enrolments die with this process)"
    );
    Ok(mfa)
}

/// A signing key that lives as long as the process, so the API runs with no setup at all.
fn ephemeral_keys(settings: TokenSettings) -> (TokenIssuer, TokenVerifier) {
    let (signing, keys) = ephemeral_ed25519("local-ephemeral").expect("the system RNG works");
    tracing::warn!(
        "no JWT_PRIVATE_KEY or JWT_HS256_SECRET: signing with a key generated now; tokens die with this process"
    );
    eprintln!("warning: no signing key configured; generated a temporary Ed25519 key (tokens die with this process)");
    (TokenIssuer::new(settings.clone(), signing), TokenVerifier::new(settings, keys))
}
