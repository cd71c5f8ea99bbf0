//! A refresh: one conditional write spends the presented token; when its condition refuses,
//! a read tells reuse from revocation and from the one grace presentation, which a second
//! conditional write claims.

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::errors::unless_refused;
use super::items::{n, s, session_key};
use crate::store::{Rotation, RotationOutcome, SessionStore, StoreError, judge_rotation};

impl DynamoStore {
    pub(super) async fn rotate(&self, rotation: &Rotation) -> Result<RotationOutcome, StoreError> {
        // The last use and the client ride on the same write: the session list costs the hot
        // path no request (and, as the index projects keys only, no index write either).
        let mut assignments = String::from(
            "SET current_jti = :next, previous_jti = :presented, rotated_ms = :now_ms, grace_used = :false, \
             expires_at = :next_expires_at, last_used_ms = :now_ms",
        );
        let mut seen = Vec::new();
        if let Some(user_agent) = &rotation.seen_from.user_agent {
            assignments.push_str(", user_agent = :user_agent");
            seen.push((":user_agent", s(user_agent)));
        }
        if let Some(ip) = &rotation.seen_from.ip {
            assignments.push_str(", ip = :ip");
            seen.push((":ip", s(ip)));
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(&rotation.session_id)))
            .update_expression(assignments);
        for (name, value) in seen {
            request = request.expression_attribute_values(name, value);
        }
        let result = request
            .condition_expression(
                "attribute_exists(pk) AND user_id = :user_id AND current_jti = :presented AND revoked = :false \
                 AND expires_at > :now_s AND created_ms > :cutoff",
            )
            .expression_attribute_values(":next", s(&rotation.next_jti))
            .expression_attribute_values(":presented", s(&rotation.presented_jti))
            .expression_attribute_values(":now_ms", n(rotation.now.millis()))
            .expression_attribute_values(":now_s", n(rotation.now.secs()))
            .expression_attribute_values(":next_expires_at", n(rotation.next_expires_at))
            .expression_attribute_values(":user_id", s(&rotation.user_id))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":cutoff", n(rotation.sessions_valid_after_ms))
            .send()
            .await;
        if unless_refused(result)?.is_some() {
            return Ok(RotationOutcome::Rotated);
        }
        // Off the success path: read why the condition failed.
        let stored = self.session(&rotation.session_id).await?;
        match judge_rotation(stored.as_ref().map(|(session, revoked)| (session, *revoked)), rotation) {
            RotationOutcome::Grace { current_jti, expires_at } => {
                // The grace presentation is granted once: claim it atomically.
                if self.claim_grace(rotation, &current_jti).await? {
                    Ok(RotationOutcome::Grace { current_jti, expires_at })
                } else {
                    Ok(RotationOutcome::Reused)
                }
            }
            // The condition failed, so the token was not current an instant ago: never
            // report success from a read that raced with another rotation.
            RotationOutcome::Rotated => Ok(RotationOutcome::Reused),
            outcome => Ok(outcome),
        }
    }

    async fn claim_grace(&self, rotation: &Rotation, current_jti: &str) -> Result<bool, StoreError> {
        let claimed = self
            .client
            .update_item()
            .table_name(&self.tables.revocations)
            .key("pk", s(session_key(&rotation.session_id)))
            .update_expression("SET grace_used = :true")
            .condition_expression(
                "current_jti = :current AND previous_jti = :presented AND grace_used = :false AND revoked = :false",
            )
            .expression_attribute_values(":current", s(current_jti))
            .expression_attribute_values(":presented", s(&rotation.presented_jti))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        Ok(unless_refused(claimed)?.is_some())
    }
}
