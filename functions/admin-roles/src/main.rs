//! `GET /admin/roles`, `GET|PUT|DELETE /admin/roles/{name}`, behind the authorizer (admins
//! only). Wiring only: the logic is `shared::http::roles`.

use shared::config::Env;
use shared::events::Events;
use shared::lambda::{self, init_or_exit};
use shared::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let env = Env::from_process();
    let store = init_or_exit(DynamoStore::from_env(&env).await);
    let events = init_or_exit(Events::from_env(&env).await);
    lambda::run_http(|request| shared::http::roles::admin_roles_function(&store, &events, request)).await
}
