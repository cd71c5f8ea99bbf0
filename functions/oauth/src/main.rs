//! `GET /auth/oauth/{provider}/authorize`, the provider's callback (GET, and POST for Apple's
//! `form_post`), `GET /auth/oauth/providers` and the caller's identities (`/auth/identities`).
//! Wiring only: the logic is `shared::http::federation`. It holds the providers' client secrets
//! and no signing key.

use shared::config::Env;
use shared::federation::Federation;
use shared::lambda::{self, init_or_exit};
use shared::service::Recovery;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let recovery = init_or_exit(Recovery::from_env(&env).await);
    let federation = init_or_exit(Federation::from_env(&env).await);
    lambda::run_http(|request| shared::http::federation::oauth_function(&federation, &recovery, request)).await
}
