//! `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`: the public
//! verification keys and the discovery document that points at them, both built at init. No
//! store, no private key.

use shared::config::Env;
use shared::http::discovery::Discovery;
use shared::lambda::{self, init_or_exit};
use shared::tokens::VerifyingKeys;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let keys = init_or_exit(VerifyingKeys::from_env(&env));
    let discovery = init_or_exit(Discovery::from_env(&env, &keys));
    let (keys, discovery) = (&keys, discovery.as_ref());
    lambda::run_http(|request| async move { shared::http::jwks_function(keys, discovery, &request) }).await
}
