//! `GET /.well-known/jwks.json`: the public verification keys. No store, no private key.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::tokens::VerifyingKeys;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let keys = init_or_exit(VerifyingKeys::from_env(&Env::from_process()));
    lambda::run_http(|_request| async { shared::http::jwks(&keys) }).await
}
