//! `POST /auth/oauth/token`: the app trades a federated sign-in's one-time login code (with its
//! PKCE verifier) for the session's tokens. Wiring only: the logic is `shared::http::federation`.
//! It signs, as login does, and holds no provider secret.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::service::Accounts;
use shared::transport::TokenTransport;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let accounts = init_or_exit(Accounts::from_env(&env).await);
    let transport = init_or_exit(TokenTransport::from_env(&env));
    lambda::run_http(|request| shared::http::federation::oauth_token_function(&accounts, transport, request)).await
}
