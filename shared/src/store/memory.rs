use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    AccessTokenRef, ChallengeDraw, Decision, Draw, DrawOutcome, Effect, HOLD_MS, KeptSession, MfaActivation,
    MfaCompletion, MfaRemoval, OwnedSession, PasswordChange, Redeemed, Redemption, RevocationCheck, Rotation,
    RotationOutcome, SessionCursor, SessionEnd, SessionListing, SessionPage, SessionRenewal, Store, StoreError,
    ThrottleRecord, UserChanges, UserPage, UserSummary, is_live, judge_access, judge_draw, judge_rotation, window_end,
};
use crate::domain::mfa::{CHALLENGE_ATTEMPTS, MfaChallenge, PendingEnrolment, SpentFactor};
use crate::domain::{Bucket, Email, MfaFactor, OneTimeToken, Purpose, SeenFrom, Session, User};
use crate::time::UnixTime;

/// The embedded store: the same semantics as DynamoDB, in one process's memory. Every
/// operation takes the lock once, which gives the atomicity DynamoDB's conditions give.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    users: HashMap<String, User>,
    user_id_by_email: HashMap<String, String>,
    sessions: HashMap<String, StoredSession>,
    revoked_access_tokens: HashMap<String, u64>,
    throttle: HashMap<String, ThrottleRecord>,
    one_time_tokens: HashMap<String, OneTimeToken>,
    mfa_enrolments: HashMap<String, PendingEnrolment>,
    mfa_challenges: HashMap<String, MfaChallenge>,
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

#[async_trait]
impl Store for MemoryStore {
    async fn create_user(&self, user: &User, first_session: Option<&Session>) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if state.user_id_by_email.contains_key(user.email.as_str()) {
            return Err(StoreError::EmailTaken);
        }
        state.user_id_by_email.insert(user.email.as_str().to_owned(), user.id.clone());
        state.users.insert(user.id.clone(), user.clone());
        if let Some(session) = first_session {
            state.sessions.insert(session.id.clone(), StoredSession { session: session.clone(), revoked: false });
        }
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let state = self.lock()?;
        Ok(state.user_id_by_email.get(email.as_str()).and_then(|id| state.users.get(id)).cloned())
    }

    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.lock()?.users.get(user_id).cloned())
    }

    async fn set_password_hash(&self, user_id: &str, current: &str, new: &str) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(user_id).filter(|user| user.password_hash == current) else {
            return Ok(false);
        };
        user.password_hash = new.to_owned();
        Ok(true)
    }

    async fn change_password(&self, change: &PasswordChange) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let account_as_read = state.users.get(&change.user_id).is_some_and(|user| {
            user.password_hash == change.verified_hash && user.sessions_started == change.sessions_started
        });
        if !(account_as_read && state.renewable(&change.user_id, &change.renewal)) {
            return Ok(false);
        }
        if let Some(user) = state.users.get_mut(&change.user_id) {
            user.password_hash = change.new_hash.clone();
            // A reset link mailed before the change must not undo it.
            user.latest_reset_ms = None;
        }
        state.renew(&change.user_id, &change.renewal);
        Ok(true)
    }

    async fn update_user(
        &self,
        user_id: &str,
        changes: &UserChanges,
        revoke_sessions_at: Option<UnixTime>,
    ) -> Result<Option<User>, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(user_id) else { return Ok(None) };
        if let Some(role) = changes.role {
            user.role = role;
        }
        if let Some(disabled) = changes.disabled {
            user.disabled = disabled;
        }
        if let Some(claims) = &changes.claims {
            user.claims = claims.clone();
        }
        if let Some(cutoff) = revoke_sessions_at {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
            user.credentials_changed();
        }
        Ok(Some(user.clone()))
    }

    async fn draw_attempt(&self, bucket: &Bucket, now: UnixTime) -> Result<DrawOutcome, StoreError> {
        let mut state = self.lock()?;
        let expires_at = window_end(bucket, now);
        let record = state.throttle.get(&bucket.key).copied();
        let draw = match judge_draw(record.as_ref(), &bucket.budget, now) {
            Decision::Refused { retry_after_ms } => return Ok(DrawOutcome::Refused { retry_after_ms }),
            Decision::NewWindow => {
                state
                    .throttle
                    .insert(bucket.key.clone(), ThrottleRecord { attempts: 1, locked_until_ms: None, expires_at });
                Draw { attempts: 1, hold_until_ms: None }
            }
            decision @ (Decision::Free | Decision::PastBudget) => {
                let Some(record) = state.throttle.get_mut(&bucket.key) else {
                    return Err(StoreError::Internal("throttle record vanished under the lock".into()));
                };
                record.attempts += 1;
                record.expires_at = record.expires_at.max(expires_at);
                let hold = (decision == Decision::PastBudget).then(|| now.millis() + HOLD_MS);
                if let Some(hold) = hold {
                    record.locked_until_ms = Some(hold);
                    record.expires_at = record.expires_at.max(hold / 1000 + 1);
                }
                Draw { attempts: record.attempts, hold_until_ms: hold }
            }
        };
        Ok(DrawOutcome::Granted(draw))
    }

    async fn attempt_failed(
        &self,
        bucket: &Bucket,
        draw: &Draw,
        lock_until: Option<UnixTime>,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let Some(record) = state.throttle.get_mut(&bucket.key) else { return Ok(()) };
        let own_hold = draw.hold_until_ms.is_some() && record.locked_until_ms == draw.hold_until_ms;
        match lock_until {
            Some(until) if own_hold || record.locked_until_ms.is_none_or(|locked| locked < until.millis()) => {
                record.locked_until_ms = Some(until.millis());
                record.expires_at = record.expires_at.max(until.secs() + 1);
            }
            None if own_hold => record.locked_until_ms = None,
            _ => {}
        }
        Ok(())
    }

    async fn attempt_returned(&self, bucket: &Bucket, draw: &Draw, forget: bool) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if forget {
            state.throttle.remove(&bucket.key);
        } else if let Some(record) = state.throttle.get_mut(&bucket.key) {
            record.attempts = record.attempts.saturating_sub(1);
            if draw.hold_until_ms.is_some() && record.locked_until_ms == draw.hold_until_ms {
                record.locked_until_ms = None;
            }
            // Nothing left on record: as if there had been no attempt (DynamoDB deletes it).
            if record.attempts == 0 && record.locked_until_ms.is_none() {
                state.throttle.remove(&bucket.key);
            }
        }
        Ok(())
    }

    async fn list_users(&self, limit: u32, after: Option<&str>) -> Result<UserPage, StoreError> {
        let state = self.lock()?;
        let mut ids: Vec<&String> =
            state.users.keys().filter(|id| after.is_none_or(|after| id.as_str() < after)).collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let users: Vec<UserSummary> = ids.iter().take(limit).map(|id| UserSummary::from(&state.users[*id])).collect();
        let next_after = (ids.len() > limit).then(|| users.last().map(|user| user.id.clone())).flatten();
        Ok(UserPage { users, next_after })
    }

    async fn revoke_user_sessions(&self, user_id: &str, cutoff: UnixTime) -> Result<(), StoreError> {
        if let Some(user) = self.lock()?.users.get_mut(user_id) {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
            user.credentials_changed();
        }
        Ok(())
    }

    async fn create_session(&self, session: &Session, verified_hash: &str) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        if state.sessions.contains_key(&session.id) {
            return Err(StoreError::Internal("session id collision".into()));
        }
        let Some(user) = state
            .users
            .get_mut(&session.user_id)
            .filter(|user| user.password_hash == verified_hash && !user.disabled && user.mfa.is_none())
        else {
            return Ok(false);
        };
        user.sessions_started += 1;
        state.sessions.insert(session.id.clone(), StoredSession { session: session.clone(), revoked: false });
        Ok(true)
    }

    async fn list_sessions(&self, listing: &SessionListing) -> Result<SessionPage, StoreError> {
        let state = self.lock()?;
        // The index's order: created_ms, then the key, both descending.
        let position = |session: &Session| (session.created_ms, session.id.clone());
        let mut live: Vec<Session> = state
            .sessions
            .values()
            .filter(|stored| {
                is_live(&stored.session, stored.revoked, &listing.user_id, listing.sessions_valid_after_ms, listing.now)
            })
            .map(|stored| stored.session.clone())
            .filter(|session| {
                listing
                    .after
                    .as_ref()
                    .is_none_or(|after| position(session) < (after.created_ms, after.session_id.clone()))
            })
            .collect();
        live.sort_by_key(|session| std::cmp::Reverse(position(session)));
        let more = live.len() > listing.limit as usize;
        live.truncate(listing.limit as usize);
        let next_after = live
            .last()
            .filter(|_| more)
            .map(|last| SessionCursor { created_ms: last.created_ms, session_id: last.id.clone() });
        Ok(SessionPage { sessions: live, next_after })
    }

    async fn revoke_owned_session(&self, owned: &OwnedSession) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let Some(stored) = state.sessions.get_mut(&owned.session_id).filter(|stored| {
            is_live(&stored.session, stored.revoked, &owned.user_id, owned.sessions_valid_after_ms, owned.now)
        }) else {
            return Ok(false);
        };
        stored.revoked = true;
        Ok(true)
    }

    async fn end_other_sessions(&self, kept: &KeptSession) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let account_as_read = state.users.get(&kept.user_id).is_some_and(|user| {
            user.sessions_valid_after_ms < kept.session_created_ms && user.sessions_started == kept.sessions_started
        });
        let session_as_read = state.sessions.get(&kept.session_id).is_some_and(|stored| {
            !stored.revoked
                && stored.session.user_id == kept.user_id
                && stored.session.current_jti == kept.jti
                && stored.session.created_ms == kept.session_created_ms
                && stored.session.expires_at > kept.cutoff.secs()
        });
        if !(account_as_read && session_as_read) {
            return Ok(false);
        }
        if let Some(user) = state.users.get_mut(&kept.user_id) {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(kept.cutoff.millis());
            user.credentials_changed();
        }
        if let Some(stored) = state.sessions.get_mut(&kept.session_id) {
            stored.session.created_ms = kept.cutoff.millis() + 1;
        }
        Ok(true)
    }

    async fn session(&self, session_id: &str) -> Result<Option<(Session, bool)>, StoreError> {
        Ok(self.lock()?.sessions.get(session_id).map(|stored| (stored.session.clone(), stored.revoked)))
    }

    async fn rotate_session(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError> {
        let mut state = self.lock()?;
        let Some(stored) = state.sessions.get_mut(&rotation.session_id) else {
            return Ok(RotationOutcome::Revoked);
        };
        let outcome = judge_rotation(Some((&stored.session, stored.revoked)), rotation);
        match outcome {
            RotationOutcome::Rotated => {
                let session = &mut stored.session;
                session.previous_jti = Some(std::mem::replace(&mut session.current_jti, rotation.next_jti.clone()));
                session.rotated_ms = rotation.now.millis();
                session.grace_used = false;
                session.expires_at = rotation.next_expires_at;
                session.last_used_ms = rotation.now.millis();
                merge_seen_from(&mut session.seen_from, &rotation.seen_from);
            }
            RotationOutcome::Grace { .. } => stored.session.grace_used = true,
            RotationOutcome::Reused | RotationOutcome::Revoked => {}
        }
        Ok(outcome)
    }

    async fn end_session(&self, session_id: &str, jti: &str) -> Result<SessionEnd, StoreError> {
        let mut state = self.lock()?;
        let Some(stored) = state.sessions.get_mut(session_id) else { return Ok(SessionEnd::Unknown) };
        let was_revoked = std::mem::replace(&mut stored.revoked, true);
        Ok(match (stored.session.current_jti == jti, was_revoked) {
            (true, false) => SessionEnd::Ended { created_ms: stored.session.created_ms },
            (true, true) => SessionEnd::AlreadyEnded,
            (false, _) => SessionEnd::Spent,
        })
    }

    async fn revoke_session(&self, session_id: &str) -> Result<(), StoreError> {
        if let Some(stored) = self.lock()?.sessions.get_mut(session_id) {
            stored.revoked = true;
        }
        Ok(())
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.lock()?.revoked_access_tokens.insert(jti.to_owned(), expires_at);
        Ok(())
    }

    async fn issue_one_time_token(&self, token: &OneTimeToken) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(&token.user_id) else { return Ok(false) };
        if token.purpose == Purpose::ResetPassword {
            user.latest_reset_ms = Some(token.issued_ms);
        }
        state.one_time_tokens.insert(token.digest.clone(), token.clone());
        Ok(true)
    }

    async fn one_time_token(&self, digest: &str) -> Result<Option<OneTimeToken>, StoreError> {
        Ok(self.lock()?.one_time_tokens.get(digest).cloned())
    }

    async fn redeem(&self, redemption: &Redemption) -> Result<Redeemed, StoreError> {
        let mut state = self.lock()?;
        let token = &redemption.token;
        let stored_as_presented = state.one_time_tokens.get(&token.digest).is_some_and(|stored| {
            stored.purpose == token.purpose
                && stored.user_id == token.user_id
                && stored.expires_at > redemption.now.secs()
        });
        let Some(user) = state
            .users
            .get(&token.user_id)
            .filter(|user| stored_as_presented && user.unchanged_since(token.credential_epoch) && !user.disabled)
        else {
            return Ok(Redeemed::Refused);
        };
        let account_as_required = match &redemption.effect {
            Effect::VerifyEmail { .. } => user.email == token.email,
            Effect::ResetPassword { sessions_started, cutoff, .. } => {
                user.email == token.email
                    && user.latest_reset_ms == Some(token.issued_ms)
                    && user.sessions_started == *sessions_started
                    && user.sessions_valid_after_ms < cutoff.millis()
            }
            Effect::ChangeEmail { old_email } => user.email == *old_email,
        };
        if !account_as_required {
            return Ok(Redeemed::Refused);
        }
        if let Effect::ChangeEmail { old_email } = &redemption.effect {
            if state.user_id_by_email.contains_key(token.email.as_str()) {
                return Ok(Redeemed::EmailTaken);
            }
            state.user_id_by_email.remove(old_email.as_str());
            state.user_id_by_email.insert(token.email.as_str().to_owned(), token.user_id.clone());
        }
        state.one_time_tokens.remove(&token.digest);
        let Some(user) = state.users.get_mut(&token.user_id) else { return Ok(Redeemed::Refused) };
        user.email_verified = true;
        match &redemption.effect {
            Effect::VerifyEmail { remove_factor: false } => {}
            Effect::VerifyEmail { remove_factor: true } => {
                user.mfa = None;
                user.credentials_changed();
            }
            Effect::ResetPassword { new_hash, cutoff, remove_factor, .. } => {
                user.credentials_changed();
                user.password_hash = new_hash.clone();
                user.sessions_valid_after_ms = cutoff.millis();
                user.latest_reset_ms = None;
                if *remove_factor {
                    user.mfa = None;
                }
            }
            Effect::ChangeEmail { .. } => {
                user.email = token.email.clone();
                user.credentials_changed();
            }
        }
        Ok(Redeemed::Done)
    }

    async fn put_mfa_enrolment(&self, enrolment: &PendingEnrolment) -> Result<(), StoreError> {
        self.lock()?.mfa_enrolments.insert(enrolment.user_id.clone(), enrolment.clone());
        Ok(())
    }

    async fn mfa_enrolment(&self, user_id: &str) -> Result<Option<PendingEnrolment>, StoreError> {
        Ok(self.lock()?.mfa_enrolments.get(user_id).cloned())
    }

    async fn enable_mfa(&self, activation: &MfaActivation) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let renewal = &activation.renewal;
        let pending_as_read = state.mfa_enrolments.get(&activation.user_id).is_some_and(|pending| {
            pending.sealed_key == activation.sealed_key
                && pending.expires_at > renewal.cutoff.secs()
                && pending.credential_epoch == activation.credential_epoch
        });
        let account_as_read = state.users.get(&activation.user_id).is_some_and(|user| {
            user.mfa.is_none()
                && !user.disabled
                && user.unchanged_since(activation.credential_epoch)
                && user.sessions_started == activation.sessions_started
        });
        if !(pending_as_read && account_as_read && state.renewable(&activation.user_id, renewal)) {
            return Ok(false);
        }
        if let Some(user) = state.users.get_mut(&activation.user_id) {
            user.mfa = Some(MfaFactor {
                sealed_key: activation.sealed_key.clone(),
                last_used_step: Some(activation.step),
                recovery_digests: activation.recovery_digests.clone(),
            });
        }
        state.renew(&activation.user_id, renewal);
        state.mfa_enrolments.remove(&activation.user_id);
        Ok(true)
    }

    async fn put_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        self.lock()?.mfa_challenges.insert(challenge.digest.clone(), challenge.clone());
        Ok(())
    }

    async fn draw_mfa_challenge(&self, digest: &str, now: UnixTime) -> Result<ChallengeDraw, StoreError> {
        let mut state = self.lock()?;
        let Some(challenge) = state.mfa_challenges.get_mut(digest).filter(|found| found.expires_at > now.secs()) else {
            return Ok(ChallengeDraw::Unknown);
        };
        if challenge.attempts >= CHALLENGE_ATTEMPTS {
            return Ok(ChallengeDraw::Exhausted);
        }
        challenge.attempts += 1;
        Ok(ChallengeDraw::Drawn(challenge.clone()))
    }

    async fn complete_mfa(&self, completion: &MfaCompletion) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let session = &completion.session;
        if state.sessions.contains_key(&session.id) {
            return Err(StoreError::Internal("session id collision".into()));
        }
        let challenge_stands = state
            .mfa_challenges
            .get(&completion.challenge_digest)
            .is_some_and(|challenge| challenge.user_id == session.user_id && challenge.attempts <= CHALLENGE_ATTEMPTS);
        let Some(user) = state.users.get_mut(&session.user_id).filter(|user| {
            challenge_stands
                && user.unchanged_since(completion.credential_epoch)
                && user.password_hash == completion.verified_hash
                && !user.disabled
                && user.mfa.as_ref().is_some_and(|factor| {
                    factor.sealed_key == completion.sealed_key && unspent(factor, &completion.spent)
                })
        }) else {
            return Ok(false);
        };
        if let Some(factor) = user.mfa.as_mut() {
            spend(factor, &completion.spent);
        }
        user.sessions_started += 1;
        state.mfa_challenges.remove(&completion.challenge_digest);
        state.sessions.insert(session.id.clone(), StoredSession { session: session.clone(), revoked: false });
        Ok(true)
    }

    async fn remove_mfa(&self, removal: &MfaRemoval) -> Result<Option<User>, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.get_mut(&removal.user_id) else { return Ok(None) };
        if let Some((sealed_key, spent)) = &removal.proof {
            let holds =
                user.mfa.as_ref().is_some_and(|factor| &factor.sealed_key == sealed_key && unspent(factor, spent));
            if !holds {
                return Ok(None);
            }
        }
        user.mfa = None;
        user.credentials_changed();
        if let Some(cutoff) = removal.revoke_sessions_at {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(cutoff.millis());
        }
        Ok(Some(user.clone()))
    }
}

impl State {
    /// Whether the caller's session is as a [`SessionRenewal`] read it, and not cut off since.
    fn renewable(&self, user_id: &str, renewal: &SessionRenewal) -> bool {
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
    fn renew(&mut self, user_id: &str, renewal: &SessionRenewal) {
        if let Some(user) = self.users.get_mut(user_id) {
            user.sessions_valid_after_ms = user.sessions_valid_after_ms.max(renewal.cutoff.millis());
            user.credentials_changed();
        }
        if let Some(stored) = self.sessions.get_mut(&renewal.session_id) {
            let session = &mut stored.session;
            session.current_jti = renewal.next_jti.clone();
            session.created_ms = renewal.cutoff.millis() + 1;
            session.expires_at = renewal.expires_at;
            session.mfa = renewal.mfa;
            // A new rotation chain: nothing from before may claim grace.
            session.previous_jti = None;
            session.rotated_ms = 0;
            session.grace_used = false;
        }
    }
}

/// Whether the factor can still be spent: a step after the last one used, or an unused code.
fn unspent(factor: &MfaFactor, spent: &SpentFactor) -> bool {
    match spent {
        SpentFactor::TotpStep(step) => factor.last_used_step.is_none_or(|used| *step > used),
        SpentFactor::RecoveryCode(digest) => factor.recovery_digests.contains(digest),
    }
}

fn spend(factor: &mut MfaFactor, spent: &SpentFactor) {
    match spent {
        SpentFactor::TotpStep(step) => factor.last_used_step = Some(*step),
        SpentFactor::RecoveryCode(digest) => factor.recovery_digests.retain(|kept| kept != digest),
    }
}

#[async_trait]
impl RevocationCheck for MemoryStore {
    async fn is_access_revoked(&self, token: &AccessTokenRef, now: UnixTime) -> Result<bool, StoreError> {
        let state = self.lock()?;
        let session = state.sessions.get(&token.session_id).map(|stored| (&stored.session, stored.revoked));
        let revoked_until = state.revoked_access_tokens.get(&token.jti).copied();
        Ok(judge_access(token, state.users.get(&token.user_id), session, revoked_until, now))
    }
}

/// What a refresh saw of its client replaces what was known; what it did not see stays.
fn merge_seen_from(known: &mut SeenFrom, seen: &SeenFrom) {
    if seen.user_agent.is_some() {
        known.user_agent.clone_from(&seen.user_agent);
    }
    if seen.ip.is_some() {
        known.ip.clone_from(&seen.ip);
    }
}
