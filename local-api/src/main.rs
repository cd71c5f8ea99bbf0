//! `local-api`: every route of the contract on one port, running the same handler and
//! authorizer code as the Lambda functions, behind `shared::gateway` (API Gateway's semantics).

use std::io::{BufRead as _, IsTerminal as _};
use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use local_api::{AllowedHosts, StoreKind};
use shared::config::Env;
use shared::transport::AllowedOrigins;

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
    /// Another host name to answer for (repeatable), besides localhost, 127.0.0.1, [::1] and
    /// the --addr host: e.g. this machine's LAN name when listening on 0.0.0.0. Requests naming
    /// any other host get 421 (a page elsewhere cannot reach this API through DNS rebinding).
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    /// Make this account an administrator before listening, as `authctl create-admin` does: an
    /// existing one is promoted, otherwise it is created with the password in
    /// LOCAL_ADMIN_PASSWORD, else on stdin's first line.
    #[arg(long = "admin", visible_alias = "admin-email", value_name = "EMAIL")]
    admin_email: Option<String>,
}

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let args = Args::parse();
    let (gateway, dev) = match local_api::build_gateway(Env::from_process(), args.addr, args.store).await {
        Ok((gateway, dev)) => (Arc::new(gateway), dev),
        Err(error) => {
            eprintln!("local-api: {error}");
            std::process::exit(2);
        }
    };
    if let Some(email) = &args.admin_email {
        match local_api::bootstrap_admin(&gateway.accounts, email, read_password()).await {
            Ok(done) => println!("{done}"),
            Err(error) => {
                eprintln!("local-api: {error}");
                std::process::exit(2);
            }
        }
    }
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
    let hosts = AllowedHosts::new(args.addr, &args.allowed_hosts);
    let app = local_api::router(gateway, &origins, dev, hosts);
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

/// `LOCAL_ADMIN_PASSWORD`, else the first line of stdin when it is not a terminal (`--admin`
/// for a new account).
fn read_password() -> Option<String> {
    if let Some(password) = std::env::var("LOCAL_ADMIN_PASSWORD").ok().filter(|password| !password.is_empty()) {
        return Some(password);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return None;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).ok()?;
    let password = line.trim_end_matches(['\r', '\n']);
    (!password.is_empty()).then(|| password.to_owned())
}
