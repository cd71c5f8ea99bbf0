//! Brute-force protection for logins without lockout abuse (OWASP's authentication cheat sheet,
//! "device cookies"). Each login attempt draws, before any password work, one attempt from
//! several budgets at once, and is refused if any is spent:
//! - **(account, client)**: the client is the device a valid device cookie names (a client that
//!   logged in to this account before), else the client's IP. A small budget with exponential
//!   backoff: the guesses one client can make at one account.
//! - **per IP**, across accounts (untrusted clients only): password spraying from one address.
//! - **per account** (untrusted clients only): a ceiling high enough that it does not lock the
//!   user out by itself, against guesses spread over many addresses.
//!
//! A trusted device keeps its own budget whatever others do, so nobody can lock a user out of a
//! device they signed in on before; a password change with a live session draws only from its
//! session's own budget, so login failures of others never block it.

use std::net::IpAddr;

use super::Email;

/// One budget: `free` attempts within `window_secs`; past it each failure locks the bucket for
/// `base_lock_secs * 2^(attempts - free)`, capped at `max_lock_secs`. A success resets the
/// (account, client) budget and gives back its own attempt elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub free: u32,
    pub base_lock_secs: u64,
    pub max_lock_secs: u64,
    pub window_secs: u64,
}

impl Budget {
    /// How long to lock after the `attempts`-th failed attempt in the window, if at all.
    pub fn lock_secs(&self, attempts: u32) -> Option<u64> {
        let beyond = attempts.checked_sub(self.free)?;
        let factor = 1u64.checked_shl(beyond.min(32)).unwrap_or(u64::MAX);
        Some(self.base_lock_secs.saturating_mul(factor).min(self.max_lock_secs))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    pub per_client: Budget,
    pub per_ip: Budget,
    pub per_account: Budget,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let per_client = Budget { free: 5, base_lock_secs: 1, max_lock_secs: 900, window_secs: 900 };
        Self { per_client, per_ip: Budget { free: 100, ..per_client }, per_account: Budget { free: 50, ..per_client } }
    }
}

/// Mails to one address: three an hour, then one per lock (a minute, doubling up to an hour).
pub const MAIL_PER_ADDRESS: Budget = Budget { free: 3, base_lock_secs: 60, max_lock_secs: 3600, window_secs: 3600 };
/// Mail requests from one address, across accounts.
pub const MAIL_PER_IP: Budget = Budget { free: 30, base_lock_secs: 60, max_lock_secs: 3600, window_secs: 3600 };

/// Second-factor codes of one account, across its `mfa_token`s and its own enrolment and
/// disable attempts: ten in 15 minutes, then a lock from 30 s doubling up to 15 minutes. Keyed by
/// the account, so a new login (a new `mfa_token`) does not start a fresh budget.
pub const MFA_PER_ACCOUNT: Budget = Budget { free: 10, base_lock_secs: 30, max_lock_secs: 900, window_secs: 900 };

/// Who is trying: a device that signed in to this account before, or an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Client {
    /// The id a valid device cookie for this account carries.
    Device(String),
    /// No (valid) device cookie: the client's IP as API Gateway saw it, if known.
    Untrusted(Option<IpAddr>),
}

/// What a bucket is keyed by; the store keeps one counter per bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub key: String,
    pub budget: Budget,
    /// Whether a success wipes the bucket (its own failures are forgiven) rather than only
    /// giving back its own attempt (other clients' failures stand).
    pub reset_on_success: bool,
}

impl LoginThrottle {
    /// The buckets a login attempt for `email` (if the input was an address at all) from
    /// `client` draws from.
    pub fn login_buckets(&self, email: Option<&Email>, client: &Client) -> Vec<Bucket> {
        let ip = match client {
            Client::Untrusted(Some(ip)) => ip.to_string(),
            Client::Untrusted(None) => "unknown".to_owned(),
            Client::Device(_) => String::new(),
        };
        let mut buckets = Vec::with_capacity(3);
        if let Some(email) = email {
            let client_key = match client {
                Client::Device(device) => format!("device#{device}"),
                Client::Untrusted(_) => format!("ip#{ip}"),
            };
            buckets.push(self.bucket(format!("{email}#{client_key}"), self.per_client, true));
            if matches!(client, Client::Untrusted(_)) {
                buckets.push(self.bucket(email.to_string(), self.per_account, false));
            }
        }
        if matches!(client, Client::Untrusted(_)) {
            buckets.push(self.bucket(format!("ip#{ip}"), self.per_ip, false));
        }
        buckets
    }

    /// The one bucket a password change draws from: its own session's, so only the holder of
    /// that session can spend it.
    pub fn password_change_bucket(&self, email: &Email, session_id: &str) -> Bucket {
        self.bucket(format!("{email}#session#{session_id}"), self.per_client, true)
    }

    /// The buckets a request that mails an address (forgot password, resend verification)
    /// draws from: that address's and the client's. Every request spends its attempt, whatever
    /// the account: a mailbox cannot be flooded, nor many addresses probed from one client.
    pub fn mail_buckets(&self, email: Option<&Email>, ip: Option<IpAddr>) -> Vec<Bucket> {
        let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let mut buckets = vec![self.bucket(format!("mail#ip#{ip}"), MAIL_PER_IP, false)];
        if let Some(email) = email {
            buckets.insert(0, self.bucket(format!("mail#{email}"), MAIL_PER_ADDRESS, false));
        }
        buckets
    }

    /// The one bucket every second-factor code of the account draws from. A right code gives back
    /// its own attempt only: it does not forgive the wrong ones someone else made.
    pub fn mfa_bucket(&self, user_id: &str) -> Bucket {
        self.bucket(format!("mfa#{user_id}"), MFA_PER_ACCOUNT, false)
    }

    fn bucket(&self, key: String, budget: Budget, reset_on_success: bool) -> Bucket {
        Bucket { key, budget, reset_on_success }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_attempt_past_the_allowance_and_is_capped() {
        let budget = LoginThrottle::default().per_client;
        let locks: Vec<_> = (1..=8).map(|attempts| budget.lock_secs(attempts)).collect();
        assert_eq!(locks, [None, None, None, None, Some(1), Some(2), Some(4), Some(8)]);
        assert_eq!(budget.lock_secs(20), Some(900));
        assert_eq!(budget.lock_secs(u32::MAX), Some(900));
    }

    #[test]
    fn trusted_devices_draw_only_from_their_own_budget() {
        let throttle = LoginThrottle::default();
        let email = Email::parse("alice@example.com").unwrap();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let untrusted: Vec<_> = throttle
            .login_buckets(Some(&email), &Client::Untrusted(Some(ip)))
            .into_iter()
            .map(|bucket| bucket.key)
            .collect();
        assert_eq!(untrusted, ["alice@example.com#ip#192.0.2.7", "alice@example.com", "ip#192.0.2.7"]);
        let trusted = throttle.login_buckets(Some(&email), &Client::Device("d1".into()));
        assert_eq!(
            trusted.iter().map(|bucket| bucket.key.as_str()).collect::<Vec<_>>(),
            ["alice@example.com#device#d1"]
        );
        assert!(trusted[0].reset_on_success);
        // Input that is no address at all still counts against the client's IP.
        let nobody = throttle.login_buckets(None, &Client::Untrusted(Some(ip)));
        assert_eq!(nobody.iter().map(|bucket| bucket.key.as_str()).collect::<Vec<_>>(), ["ip#192.0.2.7"]);
    }
}
