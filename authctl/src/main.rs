//! `authctl`: what Django's manage.py does for this service. Every failure prints a clear
//! message and exits non-zero; passwords are read from stdin or a prompt, never from argv.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use shared::config::{Env, dynamodb_client};
use shared::domain::{CustomClaims, Email, Password, PasswordHasher, Role, User};
use shared::store::{AccountStore, DynamoStore, StoreError, TableNames, UserChanges, schema};
use shared::time::UnixTime;
use shared::tokens::keys::{generate_ed25519, generate_p256};

mod accounts;
mod transfer;

#[derive(Parser)]
#[command(version, about = "Operate the JWT auth service (DynamoDB from the standard AWS configuration)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the users and revocations tables (TTL on expires_at). Safe to run again.
    CreateTables {
        #[arg(long, env = "USERS_TABLE")]
        users_table: String,
        #[arg(long, env = "REVOCATIONS_TABLE")]
        revocations_table: String,
    },
    /// Generate a signing key: prints JWT_KEY_ID, JWT_PRIVATE_KEY (PKCS#8 PEM) and JWT_PUBLIC_JWKS.
    GenKey {
        /// Key id; defaults to one made from the date and a random suffix.
        #[arg(long)]
        kid: Option<String>,
        #[arg(long, value_enum, default_value_t = KeyAlgorithm::Eddsa)]
        alg: KeyAlgorithm,
        /// An existing JWK Set (file) to merge into, for rotation: the new key comes first and
        /// the old ones stay so tokens they signed keep verifying until they expire.
        #[arg(long)]
        jwks: Option<std::path::PathBuf>,
    },
    /// Create an admin, or promote an existing user to admin. The password comes from stdin
    /// (when piped) or an interactive prompt.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Set a user's custom claims (replacing them; `{}` removes them), as `PATCH
    /// /admin/users/{id}` `claims` does: they reach the user's access tokens from the next login
    /// or refresh.
    SetClaims {
        #[arg(long)]
        email: String,
        /// A JSON object, e.g. '{"tenant_id": "t-42"}'.
        #[arg(long)]
        json: String,
    },
    /// Accounts: list, show, disable, enable, delete, revoke-sessions.
    #[command(subcommand)]
    Users(accounts::Users),
    /// Roles and the permissions they grant: put, list, delete.
    #[command(subcommand)]
    Roles(accounts::Roles),
    /// Import accounts (JSON Lines, or Django's `dumpdata auth.user`): every record is checked
    /// first, and a file with a refused one changes nothing; accounts already there are skipped.
    Import {
        file: std::path::PathBuf,
        #[arg(long, value_enum, default_value_t = transfer::Format::Jsonl)]
        format: transfer::Format,
    },
    /// Export every account as JSON Lines, in the format `import` reads (hashes, roles, claims,
    /// MFA with its key still sealed, identities, passkeys).
    Export { file: std::path::PathBuf },
    /// Give an account exactly these roles (none without --role); with --revoke-sessions its
    /// tokens carry them at once, else from its next refresh.
    Assign {
        #[arg(long)]
        email: String,
        #[arg(long = "role")]
        roles: Vec<String>,
        #[arg(long)]
        revoke_sessions: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyAlgorithm {
    Eddsa,
    Es256,
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::CreateTables { users_table, revocations_table } => {
            create_tables(TableNames { users: users_table, revocations: revocations_table }).await
        }
        Command::GenKey { kid, alg, jwks } => gen_key(kid, alg, jwks),
        Command::CreateAdmin { email } => create_admin(&email).await,
        Command::SetClaims { email, json } => set_claims(&email, &json).await,
        Command::Users(command) => accounts::users(command).await,
        Command::Roles(command) => accounts::roles(command).await,
        Command::Assign { email, roles, revoke_sessions } => accounts::assign(&email, roles, revoke_sessions).await,
        Command::Import { file, format } => transfer::import(&file, format).await,
        Command::Export { file } => transfer::export(&file).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("authctl: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn create_tables(tables: TableNames) -> Result<(), String> {
    let client = dynamodb_client().await;
    let created = schema::create_tables(&client, &tables).await.map_err(describe)?;
    for table in [&tables.users, &tables.revocations] {
        let state = if created.contains(table) { "created" } else { "already exists" };
        println!("{table}: {state}");
    }
    println!("{}: TTL on {}", tables.revocations, schema::TTL_ATTRIBUTE);
    Ok(())
}

fn gen_key(kid: Option<String>, alg: KeyAlgorithm, jwks: Option<std::path::PathBuf>) -> Result<(), String> {
    let kid = kid.unwrap_or_else(|| {
        let random = uuid::Uuid::new_v4().simple().to_string();
        format!("key-{}-{}", UnixTime::now().secs(), &random[..8])
    });
    let generated = match alg {
        KeyAlgorithm::Eddsa => generate_ed25519(&kid),
        KeyAlgorithm::Es256 => generate_p256(&kid),
    }
    .map_err(|error| error.to_string())?;
    let mut keys = vec![generated.public_jwk];
    if let Some(path) = jwks {
        let text = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        let existing: Value = serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
        let existing = existing["keys"].as_array().ok_or_else(|| format!("{}: no \"keys\" array", path.display()))?;
        if existing.iter().any(|key| key["kid"] == json!(kid)) {
            return Err(format!("kid {kid:?} is already in {}", path.display()));
        }
        keys.extend(existing.iter().cloned());
    }
    let jwks = json!({ "keys": keys }).to_string();
    shared::tokens::VerifyingKeys::from_public_jwks(&jwks)
        .map_err(|error| format!("merged key set is invalid: {error}"))?;
    let secret = json!({ "kid": kid, "private_key": generated.private_pem.expose_secret() });
    println!("JWT_KEY_ID={kid}");
    println!("JWT_PUBLIC_JWKS={jwks}");
    println!("# The Secrets Manager secret JWT_SIGNING_KEY_SECRET_ARN names (deployed), one line of JSON:");
    println!("JWT_SIGNING_KEY_SECRET={secret}");
    println!("# JWT_PRIVATE_KEY (the same key as PEM, for local runs; never in the template or git)");
    print!("{}", generated.private_pem.expose_secret());
    Ok(())
}

async fn set_claims(raw_email: &str, json: &str) -> Result<(), String> {
    let email = Email::parse(raw_email).map_err(|reason| format!("--email {reason}"))?;
    let value: Value = serde_json::from_str(json).map_err(|_| "--json is not JSON".to_owned())?;
    let claims = CustomClaims::parse(value).map_err(|reason| format!("--json {reason}"))?;
    let store = DynamoStore::from_env(&Env::from_process()).await.map_err(|error| error.to_string())?;
    let user = store.user_by_email(&email).await.map_err(describe)?.ok_or_else(|| format!("no user {email}"))?;
    let changes = UserChanges { claims: Some(claims), ..UserChanges::default() };
    store.update_user(&user.id, &changes, None).await.map_err(describe)?;
    println!("set the claims of {email} (id {}): {json}", user.id);
    Ok(())
}

async fn create_admin(raw_email: &str) -> Result<(), String> {
    let email = Email::parse(raw_email).map_err(|reason| format!("--email {reason}"))?;
    let env = Env::from_process();
    let store = DynamoStore::from_env(&env).await.map_err(|error| error.to_string())?;
    let now = UnixTime::now();
    if let Some(existing) = store.user_by_email(&email).await.map_err(describe)? {
        // Promotion keeps the user's password; the role reaches tokens at the next login.
        let promote = UserChanges { role: Some(Role::Admin), ..UserChanges::default() };
        store.update_user(&existing.id, &promote, Some(now)).await.map_err(describe)?;
        println!("promoted {email} (id {}) to admin; their existing sessions were revoked", existing.id);
        return Ok(());
    }
    let password = Password::parse_new(read_password()?).map_err(|reason| format!("password {reason}"))?;
    let hasher = PasswordHasher::from_env(&env).map_err(|error| error.to_string())?;
    let password_hash = hasher.hash(password).await.map_err(|error| error.to_string())?;
    let user = User::new(email, password_hash, Role::Admin, now);
    store.create_user(&user, None).await.map_err(describe)?;
    println!("created admin {} (id {})", user.email, user.id);
    Ok(())
}

fn read_password() -> Result<String, String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|error| error.to_string())?;
        let second = rpassword::prompt_password("Again: ").map_err(|error| error.to_string())?;
        if first != second {
            return Err("the passwords differ".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|error| error.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err("no password given on stdin or at the prompt".into());
    }
    Ok(password)
}

pub(crate) fn describe(error: StoreError) -> String {
    match error {
        StoreError::Unavailable(_) => {
            "DynamoDB is unreachable: check AWS_REGION, credentials and AWS_ENDPOINT_URL_DYNAMODB".into()
        }
        other => other.to_string(),
    }
}
