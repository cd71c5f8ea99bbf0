//! MFA in DynamoDB. The factor lives on the user item (`mfa_totp` sealed, `mfa_last_step`,
//! `mfa_recovery` a string set of digests); the revocations table holds, under TTL, the
//! enrolments waiting for a code (`mfa_enrolment#<user id>`) and the logins waiting for their
//! second step (`mfa_challenge#<token digest>`). Every spend is one conditional write.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem, Update};

use super::DynamoStore;
use super::credentials::{CREDENTIAL_EVENT, one, unchanged_since};
use super::errors::unless_refused;
use super::items::{self, UserItem, mfa_challenge_key, mfa_enrolment_key, n, s, user_key};
use super::transactions::{build_failed, put};
use crate::domain::User;
use crate::domain::mfa::{CHALLENGE_ATTEMPTS, MfaChallenge, PendingEnrolment, SpentFactor};
use crate::domain::passkeys::PasskeyUse;
use crate::store::{ChallengeDraw, MfaActivation, MfaRemoval, MfaStore, StoreError};
use crate::time::UnixTime;

/// The update and condition that spend `spent` on an account whose key is `:sealed`.
pub(super) struct FactorSpend {
    pub(super) update: &'static str,
    pub(super) condition: &'static str,
    pub(super) names: Vec<(&'static str, String)>,
    pub(super) values: Vec<(&'static str, AttributeValue)>,
}

pub(super) fn factor_spend(sealed_key: &str, spent: &SpentFactor) -> FactorSpend {
    let sealed = (":sealed", s(sealed_key));
    match spent {
        SpentFactor::TotpStep(step) => FactorSpend {
            update: "SET mfa_last_step = :step",
            condition: "mfa_totp = :sealed AND (attribute_not_exists(mfa_last_step) OR mfa_last_step < :step)",
            names: Vec::new(),
            values: vec![sealed, (":step", n(*step))],
        },
        SpentFactor::RecoveryCode(digest) => FactorSpend {
            update: "DELETE mfa_recovery :spent",
            condition: "mfa_totp = :sealed AND contains(mfa_recovery, :digest)",
            names: Vec::new(),
            values: vec![sealed, (":digest", s(digest)), (":spent", AttributeValue::Ss(vec![digest.clone()]))],
        },
        SpentFactor::Passkey(used) => {
            let spend = passkey_spend(used);
            FactorSpend {
                update: spend.update,
                condition: "mfa_totp = :sealed AND passkeys.#passkey.credential = :key_as_read",
                values: spend.values.into_iter().chain([sealed]).collect(),
                ..spend
            }
        }
    }
}

/// A passkey's use: its credential rewritten (counter, backup flags) and its last use, only if
/// the credential is still as read — of two assertions with one counter value, one passes.
pub(super) fn passkey_spend(used: &PasskeyUse) -> FactorSpend {
    FactorSpend {
        update: "SET passkeys.#passkey.credential = :key_after, passkeys.#passkey.last_used_at = :used_at",
        condition: "passkeys.#passkey.credential = :key_as_read",
        names: vec![("#passkey", used.passkey_id.as_str().to_owned())],
        values: vec![
            (":key_as_read", s(&used.key_as_read)),
            (":key_after", s(&used.key_after)),
            (":used_at", n(used.used_at)),
        ],
    }
}

async fn updated_user(update: UpdateItemFluentBuilder) -> Result<Option<User>, StoreError> {
    let output = unless_refused(update.send().await)?;
    output.and_then(|output| output.attributes).map(items::read::<UserItem, _>).transpose()
}

#[async_trait]
impl MfaStore for DynamoStore {
    async fn put_mfa_enrolment(&self, enrolment: &PendingEnrolment) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.revocations)
            .set_item(Some(items::mfa_enrolment(enrolment)?))
            .send()
            .await
            .map_err(super::errors::classify)?;
        Ok(())
    }

    async fn mfa_enrolment(&self, user_id: &str) -> Result<Option<PendingEnrolment>, StoreError> {
        let item = self.get(&self.tables.revocations, mfa_enrolment_key(user_id), true).await?;
        item.map(items::read::<items::MfaEnrolmentItem, _>).transpose()
    }

    async fn enable_mfa(&self, activation: &MfaActivation) -> Result<bool, StoreError> {
        let renewal = &activation.renewal;
        let (unchanged, (epoch, epoch_value)) = unchanged_since(activation.credential_epoch);
        let spend = Delete::builder()
            .table_name(&self.tables.revocations)
            .key("pk", s(mfa_enrolment_key(&activation.user_id)))
            .condition_expression(
                "sealed_key = :sealed AND expires_at > :now \
                 AND (attribute_not_exists(credential_epoch) OR credential_epoch = :epoch)",
            )
            .expression_attribute_values(":sealed", s(&activation.sealed_key))
            .expression_attribute_values(":now", n(renewal.cutoff.secs()))
            .expression_attribute_values(epoch, epoch_value.clone())
            .build()
            .map_err(build_failed)?;
        let (one, one_value) = one();
        let factor = match activation.recovery_digests.is_empty() {
            true => "mfa_totp = :sealed, mfa_last_step = :step",
            false => "mfa_totp = :sealed, mfa_last_step = :step, mfa_recovery = :codes",
        };
        let mut account = Update::builder()
            .table_name(&self.tables.users)
            .key("pk", s(user_key(&activation.user_id)))
            // Every other session ends: the cutoff, as a password change raises it.
            .update_expression(format!("SET {factor}, sessions_valid_after_ms = :cutoff ADD {CREDENTIAL_EVENT}"))
            // As read: no factor, enabled, no credential event since the enrolment started, no
            // session started since, the caller's session not cut off meanwhile.
            .condition_expression(format!(
                "attribute_not_exists(mfa_totp) AND (attribute_not_exists(disabled) OR disabled = :false) \
                 AND {unchanged} AND (attribute_not_exists(sessions_started) OR sessions_started = :started) \
                 AND (attribute_not_exists(sessions_valid_after_ms) OR sessions_valid_after_ms < :session_created)"
            ))
            .expression_attribute_values(":sealed", s(&activation.sealed_key))
            .expression_attribute_values(":step", n(activation.step))
            .expression_attribute_values(":cutoff", n(renewal.cutoff.millis()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(epoch, epoch_value)
            .expression_attribute_values(":started", n(activation.sessions_started))
            .expression_attribute_values(":session_created", n(renewal.session_created_ms))
            .expression_attribute_values(one, one_value);
        if !activation.recovery_digests.is_empty() {
            account =
                account.expression_attribute_values(":codes", AttributeValue::Ss(activation.recovery_digests.clone()));
        }
        self.all_or_nothing(vec![
            TransactWriteItem::builder().delete(spend).build(),
            TransactWriteItem::builder().update(account.build().map_err(build_failed)?).build(),
            self.renewed_session(&activation.user_id, renewal)?,
        ])
        .await
    }

    async fn put_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        let stored = put(&self.tables.revocations, items::mfa_challenge(challenge)?)?;
        if self.all_or_nothing(vec![stored]).await? {
            Ok(())
        } else {
            Err(StoreError::Internal("mfa challenge digest collision".into()))
        }
    }

    async fn draw_mfa_challenge(&self, digest: &str, now: UnixTime) -> Result<ChallengeDraw, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(mfa_challenge_key(digest)))
            .update_expression("ADD attempts :one")
            .condition_expression("attribute_exists(pk) AND expires_at > :now AND attempts < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now.secs()))
            .expression_attribute_values(":max", n(u64::from(CHALLENGE_ATTEMPTS)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        if let Some(output) = unless_refused(result)? {
            let item =
                output.attributes.ok_or_else(|| StoreError::Internal("a drawn challenge came back empty".into()))?;
            return items::read_mfa_challenge(digest, item).map(ChallengeDraw::Drawn);
        }
        // Off the success path: tell an ended challenge from an unknown or expired one.
        let stored = self.get(&self.tables.revocations, mfa_challenge_key(digest), true).await?;
        let stored = stored.map(|item| items::read_mfa_challenge(digest, item)).transpose()?;
        Ok(match stored {
            Some(challenge) if challenge.expires_at > now.secs() => ChallengeDraw::Exhausted,
            _ => ChallengeDraw::Unknown,
        })
    }

    async fn remove_mfa(&self, removal: &MfaRemoval) -> Result<Option<User>, StoreError> {
        let remove = format!("REMOVE mfa_totp, mfa_last_step, mfa_recovery ADD {CREDENTIAL_EVENT}");
        let request = || {
            let (one, one_value) = one();
            self.client
                .update_item()
                .table_name(&self.tables.users)
                .key("pk", s(user_key(&removal.user_id)))
                .return_values(ReturnValue::AllNew)
                .expression_attribute_values(one, one_value)
        };
        if let Some((sealed_key, spent)) = &removal.proof {
            let spend = factor_spend(sealed_key, spent);
            let mut update = request().update_expression(&remove).condition_expression(spend.condition);
            // The condition alone: the spend's update is not made, so its values go unused.
            for (name, value) in spend.names.into_iter().filter(|(name, _)| spend.condition.contains(name)) {
                update = update.expression_attribute_names(name, value);
            }
            for (name, value) in spend.values.into_iter().filter(|(name, _)| spend.condition.contains(name)) {
                update = update.expression_attribute_values(name, value);
            }
            return updated_user(update).await;
        }
        if let Some(cutoff) = removal.revoke_sessions_at {
            // The cutoff only ever rises: refused when a later one stands (or no such account).
            let raising = request()
                .update_expression(format!("{remove} SET sessions_valid_after_ms = :cutoff"))
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(sessions_valid_after_ms) \
                     OR sessions_valid_after_ms < :cutoff)",
                )
                .expression_attribute_values(":cutoff", n(cutoff.millis()));
            if let Some(user) = updated_user(raising).await? {
                return Ok(Some(user));
            }
        }
        updated_user(request().update_expression(&remove).condition_expression("attribute_exists(pk)")).await
    }
}
