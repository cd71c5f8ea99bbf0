//! `POST /auth/mfa/totp`, `POST /auth/mfa/totp/confirm`, `DELETE /auth/mfa/totp` (behind the
//! authorizer) and `DELETE /admin/users/{id}/mfa` (admins only): enrolment and removal of the
//! second factor. Wiring only: the logic is `shared::http::mfa`. Signs nothing, so it holds no
//! signing key; it holds the data key that seals TOTP keys.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::service::{MfaConfig, Recovery};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let flows = init_or_exit(Recovery::from_env(&env).await);
    let mfa = init_or_exit(MfaConfig::from_env(&env).await);
    lambda::run_http(|request| shared::http::mfa::mfa_function(&flows, &mfa, request)).await
}
