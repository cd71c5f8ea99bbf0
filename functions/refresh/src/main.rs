//! `POST /auth/refresh`. Wiring only: the logic is `shared::http::refresh`.

use shared::browser::TokenTransport;
use shared::config::Env;
use shared::domain::SessionPolicy;
use shared::lambda::{self, init_or_exit};
use shared::store::DynamoStore;
use shared::tokens::{TokenIssuer, TokenVerifier};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let issuer = init_or_exit(TokenIssuer::from_env(&env));
    let verifier = init_or_exit(TokenVerifier::from_env(&env));
    let sessions = init_or_exit(SessionPolicy::from_env(&env));
    let transport = init_or_exit(TokenTransport::from_env(&env));
    let store = init_or_exit(DynamoStore::from_env(&env).await);
    lambda::run_http(|request| shared::http::refresh(&store, &verifier, &issuer, &sessions, transport, request)).await
}
