//! `POST /auth/mfa/verify` (the second step of a login for an account with MFA) and `POST
//! /auth/mfa/totp/confirm` (turning MFA on, which renews the caller's session). Wiring only: the
//! logic is `shared::http::mfa`. It signs the session's tokens, as login does.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::service::{Accounts, MfaConfig};
use shared::transport::TokenTransport;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let accounts = init_or_exit(Accounts::from_env(&env).await);
    let mfa = init_or_exit(MfaConfig::from_env(&env).await);
    let transport = init_or_exit(TokenTransport::from_env(&env));
    lambda::run_http(|request| shared::http::mfa::mfa_verify_function(&accounts, &mfa, transport, request)).await
}
