//! The API Gateway Lambda authorizer. Public keys only, and no AWS SDK client: a stateless check.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::tokens::TokenVerifier;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let verifier = init_or_exit(TokenVerifier::from_env(&Env::from_process()));
    lambda::run_authorizer(&verifier).await
}
