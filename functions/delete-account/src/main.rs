//! `DELETE /auth/me` and `DELETE /admin/users/{id}`, behind the authorizer. Wiring only: the
//! logic is `shared::http::deletion`. Signs nothing, so it holds no key.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::service::Recovery;
use shared::transport::TokenTransport;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let recovery = init_or_exit(Recovery::from_env(&env).await);
    let transport = init_or_exit(TokenTransport::from_env(&env));
    lambda::run_http(|request| shared::http::deletion::delete_account_function(&recovery, transport, request)).await
}
