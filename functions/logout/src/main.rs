//! `POST /auth/logout`. Wiring only: the logic is `shared::http::auth::logout`. Holds no private key.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::store::DynamoStore;
use shared::tokens::TokenVerifier;
use shared::transport::TokenTransport;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let verifier = init_or_exit(TokenVerifier::from_env(&env));
    let transport = init_or_exit(TokenTransport::from_env(&env));
    let store = init_or_exit(DynamoStore::from_env(&env).await);
    lambda::run_http(|request| shared::http::auth::logout(&store, &verifier, transport, request)).await
}
