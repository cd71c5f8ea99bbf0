//! `POST /auth/email`, behind the authorizer. Wiring only: the logic is
//! `shared::http::recovery::change_email`. Signs nothing, so it holds no key.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::service::Recovery;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let recovery = init_or_exit(Recovery::from_env(&Env::from_process()).await);
    lambda::run_http(|request| shared::http::recovery::change_email(&recovery, request)).await
}
