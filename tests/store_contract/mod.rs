//! The store contract: the same cases against the embedded store and against DynamoDB.
//! One file per store role, as the adapters have them.

mod accounts;
mod mfa;
mod one_time;
mod roles;
mod sessions;
mod throttle;
mod transfer;

use shared::domain::{Email, Role, SeenFrom, Session, User};
use shared::store::{LoginProof, Rotation};
use shared::time::UnixTime;

/// The proof of a login that checked `user`'s password as read.
pub(crate) fn by_password(user: &User) -> LoginProof {
    LoginProof::Password { credential_epoch: user.credential_epoch }
}

pub(crate) const NOW: UnixTime = UnixTime::from_millis(1_800_000_000_000);

pub(crate) fn user(email: &str) -> User {
    let hash = "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into();
    User::new(Email::parse(email).unwrap(), hash, Role::User, NOW)
}

pub(crate) fn session(user: &User, created: UnixTime) -> Session {
    Session::new(
        uuid::Uuid::new_v4().to_string(),
        user.id.clone(),
        uuid::Uuid::new_v4().to_string(),
        created.millis(),
        created.secs() + 3600,
    )
}

pub(crate) fn rotation(session: &Session, presented: &str, now: UnixTime) -> Rotation {
    Rotation {
        session_id: session.id.clone(),
        user_id: session.user_id.clone(),
        presented_jti: presented.to_owned(),
        next_jti: uuid::Uuid::new_v4().to_string(),
        next_expires_at: now.secs() + 3600,
        sessions_valid_after_ms: 0,
        grace_ms: 0,
        seen_from: SeenFrom::new(Some("contract-test/1"), "198.51.100.4".parse().ok()),
        now,
    }
}
