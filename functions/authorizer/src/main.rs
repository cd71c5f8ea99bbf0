//! The API Gateway Lambda authorizer (HTTP API and REST API), for this service's routes and the
//! deployer's (`ROUTE_PERMISSIONS`). Public keys only. No AWS SDK
//! client unless strict revocation (`AUTHORIZER_REVOCATION_CHECK=true`) asks for one.

use shared::authorizer::{ApiRoutes, Authorizer};
use shared::config::{Env, strict_revocation};
use shared::lambda::{self, init_or_exit};
use shared::store::{DynamoStore, RevocationCheck};
use shared::tokens::TokenVerifier;
use shared::transport::TokenTransport;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let verifier = init_or_exit(TokenVerifier::from_env(&env));
    let transport = init_or_exit(TokenTransport::from_env(&env));
    // The deployer's routes and the permission each needs (ROUTE_PERMISSIONS), parsed once.
    let api_routes = init_or_exit(ApiRoutes::from_env(&env));
    let store = match init_or_exit(strict_revocation(&env)) {
        true => Some(init_or_exit(DynamoStore::from_env(&env).await)),
        false => None,
    };
    let authorizer = Authorizer::new(&verifier, store.as_ref().map(|store| store as &dyn RevocationCheck))
        .accepting_cookie(transport.uses_cookies())
        .guarding(&api_routes);
    lambda::run_authorizer(&authorizer).await
}
