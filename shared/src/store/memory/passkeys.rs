use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::passkeys::{Ceremony, PasskeyUse};
use crate::domain::{PasskeyId, User};
use crate::store::{PasskeyChange, PasskeyStore, StoreError};
use crate::time::UnixTime;

#[async_trait]
impl PasskeyStore for MemoryStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        self.lock()?.ceremonies.insert(ceremony.challenge_digest.clone(), ceremony.clone());
        Ok(())
    }

    async fn take_ceremony(&self, challenge_digest: &str, now: UnixTime) -> Result<Option<Ceremony>, StoreError> {
        let taken = self.lock()?.ceremonies.remove(challenge_digest);
        Ok(taken.filter(|ceremony| ceremony.expires_at > now.secs()))
    }

    async fn change_passkeys(&self, change: &PasskeyChange) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let Some(user) =
            state.users.get_mut(&change.user_id).filter(|user| user.unchanged_since(change.credential_epoch))
        else {
            return Ok(false);
        };
        user.passkeys = change.passkeys.clone();
        user.credentials_changed();
        Ok(true)
    }

    async fn rename_passkey(&self, user_id: &str, passkey: &PasskeyId, name: &str) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let stored =
            state.users.get_mut(user_id).and_then(|user| user.passkeys.iter_mut().find(|stored| &stored.id == passkey));
        let Some(stored) = stored else { return Ok(false) };
        name.clone_into(&mut stored.name);
        Ok(true)
    }
}

/// Whether the use's credential is still as it was read (no other use since).
pub(super) fn unspent(user: &User, used: &PasskeyUse) -> bool {
    user.passkey(&used.passkey_id).is_some_and(|passkey| passkey.key_as_stored == used.key_as_read)
}

pub(super) fn spend(user: &mut User, used: &PasskeyUse) {
    let Some(passkey) = user.passkeys.iter_mut().find(|passkey| passkey.id == used.passkey_id) else { return };
    if let Ok(key) = serde_json::from_str(&used.key_after) {
        passkey.key = key;
        passkey.key_as_stored.clone_from(&used.key_after);
    }
    passkey.last_used_at = Some(used.used_at);
}
