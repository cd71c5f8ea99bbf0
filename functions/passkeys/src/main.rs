//! Adding a passkey (`/auth/passkeys/register/options`, `/auth/passkeys/register`), the owner's
//! list, rename and removal (`/auth/passkeys`, `/auth/passkeys/{id}`), and the administrators'
//! (`/admin/users/{id}/passkeys`). Wiring only: the logic is `shared::http::passkeys`. It signs
//! nothing.

use shared::config::Env;
use shared::lambda::{self, init_or_exit};
use shared::service::Recovery;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    shared::telemetry::init();
    let recovery = init_or_exit(Recovery::from_env(&Env::from_process()).await);
    lambda::run_http(|request| shared::http::passkeys::passkeys_function(&recovery, request)).await
}
