//! The embedded store: the same semantics as DynamoDB, in one process's memory, each role in its
//! own file (`accounts.rs`, `sessions.rs`, ...), as `dynamo/` has them.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{SessionRenewal, StoreError, ThrottleRecord};
use crate::domain::federation::{LoginCode, UpstreamLogin};
use crate::domain::mfa::{MfaChallenge, PendingEnrolment};
use crate::domain::passkeys::Ceremony;
use crate::domain::{OneTimeToken, RoleCatalog, Session, User};

mod accounts;
mod federation;
mod mfa;
mod one_time;
mod passkeys;
mod revocation;
mod roles;
mod sessions;
mod throttle;
mod transfer;

/// The embedded store: the same semantics as DynamoDB, in one process's memory. Every
/// operation takes the lock once, which gives the atomicity DynamoDB's conditions give.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
pub(super) struct State {
    users: HashMap<String, User>,
    user_id_by_email: HashMap<String, String>,
    sessions: HashMap<String, StoredSession>,
    revoked_access_tokens: HashMap<String, u64>,
    throttle: HashMap<String, ThrottleRecord>,
    one_time_tokens: HashMap<String, OneTimeToken>,
    mfa_enrolments: HashMap<String, PendingEnrolment>,
    mfa_challenges: HashMap<String, MfaChallenge>,
    roles: RoleCatalog,
    /// (provider, subject) → user id: the identities' guards.
    user_id_by_identity: HashMap<(String, String), String>,
    upstream_logins: HashMap<String, UpstreamLogin>,
    login_codes: HashMap<String, LoginCode>,
    /// Passkey ceremonies by challenge digest.
    ceremonies: HashMap<String, Ceremony>,
}

struct StoredSession {
    session: Session,
    revoked: bool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| StoreError::Internal("embedded store lock poisoned".into()))
    }
}

impl State {
    /// Whether the caller's session is as a [`SessionRenewal`] read it, and not cut off since.
    pub(super) fn renewable(&self, user_id: &str, renewal: &SessionRenewal) -> bool {
        let not_cut_off =
            self.users.get(user_id).is_some_and(|user| user.sessions_valid_after_ms < renewal.session_created_ms);
        not_cut_off
            && self.sessions.get(&renewal.session_id).is_some_and(|stored| {
                !stored.revoked
                    && stored.session.user_id == user_id
                    && stored.session.created_ms == renewal.session_created_ms
                    && stored.session.expires_at > renewal.cutoff.secs()
            })
    }

    /// A credential event that ends every other session, and the caller's carried over it.
    pub(super) fn renew(&mut self, user_id: &str, renewal: &SessionRenewal) {
        if let Some(user) = self.users.get_mut(user_id) {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(renewal.cutoff.millis());
            user.credentials_changed();
        }
        if let Some(stored) = self.sessions.get_mut(&renewal.session_id) {
            let session = &mut stored.session;
            session.current_jti = renewal.next_jti.clone();
            session.created_ms = renewal.cutoff.millis() + 1;
            session.expires_at = renewal.expires_at;
            session.methods = renewal.methods;
            // A new rotation chain: nothing from before may claim grace.
            session.previous_jti = None;
            session.rotated_ms = 0;
            session.grace_used = false;
        }
    }
}
