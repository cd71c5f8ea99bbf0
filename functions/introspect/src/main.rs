//! `POST /auth/introspect` (RFC 7662): whether a token is good now, for resource servers that
//! authenticate with HTTP Basic. Wiring only: the logic is `shared::http::standards::introspect`.
//! Holds no private key; reads the store, writes only its per-client rate.

use shared::config::Env;
use shared::domain::IntrospectionClients;
use shared::lambda::{self, init_or_exit};
use shared::store::DynamoStore;
use shared::tokens::TokenVerifier;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let verifier = init_or_exit(TokenVerifier::from_env(&env));
    let clients = init_or_exit(IntrospectionClients::from_env(&env).await);
    let store = init_or_exit(DynamoStore::from_env(&env).await);
    lambda::run_http(|request| shared::http::standards::introspect(&store, &verifier, &clients, request)).await
}
