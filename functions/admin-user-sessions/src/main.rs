//! `GET` and `DELETE /admin/users/{id}/sessions`, behind the authorizer (admins only): an
//! account's session list, and ending all of it. Wiring only: the logic is
//! `shared::http::sessions`. Signs nothing.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::store::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let store = init_or_exit(DynamoStore::from_env(&Env::from_process()).await);
    lambda::run_http(|request| shared::http::sessions::session_list_function(&store, "admin-user-sessions", request))
        .await
}
