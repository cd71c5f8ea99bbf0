//! The Cognito user pool a deployment migrates from: `LEGACY_COGNITO_USER_POOL_ID` and
//! `LEGACY_COGNITO_CLIENT_ID`, with the client's secret (if it has one) from the Secrets Manager
//! secret `LEGACY_COGNITO_CLIENT_SECRET_ARN` names (deployed) or `LEGACY_COGNITO_CLIENT_SECRET`
//! (local runs). Neither id: no migration.

use secrecy::SecretString;

use super::{ConfigError, Env, aws_sdk_config};
use crate::legacy::{CognitoDirectory, Legacy};

pub const LEGACY_POOL: &str = "LEGACY_COGNITO_USER_POOL_ID";
pub const LEGACY_CLIENT: &str = "LEGACY_COGNITO_CLIENT_ID";
pub const LEGACY_CLIENT_SECRET: &str = "LEGACY_COGNITO_CLIENT_SECRET";
pub const LEGACY_CLIENT_SECRET_ARN: &str = "LEGACY_COGNITO_CLIENT_SECRET_ARN";

impl Legacy {
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let invalid = |name, reason: &str| ConfigError::Invalid { name, reason: reason.into() };
        let (pool, client_id) = match (env.get(LEGACY_POOL), env.get(LEGACY_CLIENT)) {
            (None, None) => return Ok(Self::default()),
            (Some(pool), Some(client_id)) => (pool.trim(), client_id.trim()),
            (Some(_), None) => return Err(invalid(LEGACY_CLIENT, "is needed with LEGACY_COGNITO_USER_POOL_ID")),
            (None, Some(_)) => return Err(invalid(LEGACY_POOL, "is needed with LEGACY_COGNITO_CLIENT_ID")),
        };
        let region =
            pool_region(pool).ok_or_else(|| invalid(LEGACY_POOL, "must be a user pool id (us-east-1_AbCd…)"))?;
        let client_shaped =
            !client_id.is_empty() && client_id.len() <= 128 && client_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !client_shaped {
            return Err(invalid(LEGACY_CLIENT, "must be an app client id"));
        }
        let secret = match (env.get(LEGACY_CLIENT_SECRET), env.get(LEGACY_CLIENT_SECRET_ARN)) {
            (Some(_), Some(_)) => {
                return Err(invalid(LEGACY_CLIENT_SECRET, "set either it or LEGACY_COGNITO_CLIENT_SECRET_ARN"));
            }
            (Some(secret), None) => Some(SecretString::from(secret.to_owned())),
            (None, Some(arn)) => Some(read_secret(arn).await?),
            (None, None) => None,
        };
        // The pool's own region, whatever the function's.
        let config = aws_sdk_config().await;
        let config = aws_sdk_cognitoidentityprovider::config::Builder::from(&config)
            .region(aws_sdk_cognitoidentityprovider::config::Region::new(region.to_owned()))
            .build();
        let client = aws_sdk_cognitoidentityprovider::Client::from_conf(config);
        Ok(Self::from(CognitoDirectory::new(client, pool.to_owned(), client_id.to_owned(), secret)))
    }
}

/// `us-east-1` of `us-east-1_AbCdEf`.
fn pool_region(pool: &str) -> Option<&str> {
    let (region, id) = pool.split_once('_')?;
    let region_ok =
        !region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let id_ok = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    (region_ok && id_ok).then_some(region)
}

async fn read_secret(arn: &str) -> Result<SecretString, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name: LEGACY_CLIENT_SECRET_ARN, reason };
    let client = aws_sdk_secretsmanager::Client::new(&aws_sdk_config().await);
    let output = client.get_secret_value().secret_id(arn).send().await.map_err(|error| {
        invalid(format!("GetSecretValue failed: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&error)))
    })?;
    let text = output.secret_string().ok_or_else(|| invalid("the secret has no SecretString".into()))?;
    Ok(SecretString::from(text.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_id_names_its_region() {
        assert_eq!(pool_region("eu-west-3_AbC123"), Some("eu-west-3"));
        assert_eq!(pool_region("us-east-1_e3c00a84074541a1b31fc7787eb87472"), Some("us-east-1"));
        for bad in ["", "us-east-1", "_abc", "us-east-1_", "us east_1", "us-east-1_a-b"] {
            assert_eq!(pool_region(bad), None, "{bad:?}");
        }
    }

    async fn refused(pairs: &[(&str, &str)]) -> &'static str {
        match Legacy::from_env(&Env::from_pairs(pairs.iter().copied())).await {
            Err(ConfigError::Invalid { name, .. }) => name,
            other => panic!("{pairs:?}: {:?}", other.map(|legacy| legacy.0.is_some())),
        }
    }

    #[tokio::test]
    async fn half_a_configuration_is_refused_by_name_and_none_is_off() {
        assert_eq!(refused(&[(LEGACY_POOL, "us-east-1_abc")]).await, LEGACY_CLIENT);
        assert_eq!(refused(&[(LEGACY_CLIENT, "abc")]).await, LEGACY_POOL);
        assert_eq!(refused(&[(LEGACY_POOL, "abc"), (LEGACY_CLIENT, "abc")]).await, LEGACY_POOL);
        assert_eq!(refused(&[(LEGACY_POOL, "us-east-1_abc"), (LEGACY_CLIENT, "a b")]).await, LEGACY_CLIENT);
        let both = [
            (LEGACY_POOL, "us-east-1_abc"),
            (LEGACY_CLIENT, "abc"),
            (LEGACY_CLIENT_SECRET, "s"),
            (LEGACY_CLIENT_SECRET_ARN, "arn"),
        ];
        assert_eq!(refused(&both).await, LEGACY_CLIENT_SECRET);
        assert!(Legacy::from_env(&Env::from_pairs([])).await.unwrap().0.is_none());
        let on = Env::from_pairs([(LEGACY_POOL, "us-east-1_abc"), (LEGACY_CLIENT, "abc")]);
        assert!(Legacy::from_env(&on).await.unwrap().0.is_some());
    }
}
