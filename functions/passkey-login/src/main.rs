//! `POST /auth/passkeys/login/options` and `POST /auth/passkeys/login`: signing in with a
//! passkey. Wiring only: the logic is `shared::http::passkeys`. It signs, as login does.

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
    lambda::run_http(|request| shared::http::passkeys::passkey_login_function(&accounts, transport, request)).await
}
