//! `POST /auth/login`. Wiring only: the logic is `shared::http::login`.

use shared::browser::TokenTransport;
use shared::config::Env;
use shared::domain::{LoginThrottle, PasswordHasher};
use shared::lambda::{self, init_or_exit};
use shared::store::DynamoStore;
use shared::tokens::TokenIssuer;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let issuer = init_or_exit(TokenIssuer::from_env(&env));
    let hasher = init_or_exit(PasswordHasher::from_env(&env));
    let throttle = init_or_exit(LoginThrottle::from_env(&env));
    let transport = init_or_exit(TokenTransport::from_env(&env));
    let store = init_or_exit(DynamoStore::from_env(&env).await);
    lambda::run_http(|request| shared::http::login(&store, &hasher, &throttle, &issuer, transport, request)).await
}
