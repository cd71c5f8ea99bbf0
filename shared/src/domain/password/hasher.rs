use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordVerifier as _, Version};

use super::{HashingError, Password, PasswordCheck, PasswordParams, StoredHash};

/// Hashes and verifies passwords with Argon2id. Every call runs on Tokio's blocking pool:
/// a hash takes tens of milliseconds and would otherwise stall the runtime.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: PasswordParams,
    argon2: Argon2<'static>,
    /// A hash-shaped string with the current parameters and random salt and output: checking
    /// an unknown email against it costs exactly one Argon2 computation, like a wrong password
    /// does. Made at init from random bytes (no hashing), so the first unknown email costs no
    /// more than the next.
    dummy_hash: String,
    /// Argon2 working memory (19 MiB with the defaults), kept between hashes instead of being
    /// allocated, zeroed and freed by the argon2 crate for each one. With glibc, such a freed
    /// block raises malloc's mmap threshold, so later ones come from per-thread arenas that keep
    /// them: a login function grew to 125 MiB RSS over 30 logins (docs/performance.md); kept
    /// here, it stays at one buffer per hash running at once.
    memory: Mutex<Vec<Vec<Block>>>,
    /// How many buffers are kept at most (hashes running at once beyond that allocate their own).
    kept_buffers: usize,
    /// Argon2 computations run so far (hashes and checks): what the login throttle bounds, and
    /// what an unknown email must cost like a wrong password (tests read it).
    computations: AtomicU64,
}

impl PasswordHasher {
    pub fn new(params: PasswordParams) -> Result<Self, String> {
        let argon2_params = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|error| error.to_string())?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params);
        let kept_buffers = std::thread::available_parallelism().map_or(1, usize::from);
        let dummy_hash = dummy_hash(params)?;
        let computations = AtomicU64::new(0);
        let inner = Inner { params, argon2, dummy_hash, memory: Mutex::default(), kept_buffers, computations };
        Ok(Self { inner: Arc::new(inner) })
    }

    pub fn params(&self) -> PasswordParams {
        self.inner.params
    }

    /// How many Argon2 computations (hashes and checks) this hasher has run.
    pub fn computations(&self) -> u64 {
        self.inner.computations.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashingError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.hash(&password))
            .await
            .map_err(|join| HashingError(join.to_string()))?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account,
    /// so that both cases take the same time. With no account the answer is always `Invalid`.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> Result<PasswordCheck, HashingError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || match stored {
            Some(stored) => inner.verify(&password, &stored),
            None => {
                inner.verify(&password, &inner.dummy_hash)?;
                Ok(PasswordCheck::Invalid)
            }
        })
        .await
        .map_err(|join| HashingError(join.to_string()))?
    }
}

impl Inner {
    /// Runs `f` with `blocks` blocks of Argon2 memory: a kept buffer when one of that size is
    /// free, else a new one (kept afterwards if it has today's size and there is room).
    fn with_memory<R>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
        self.computations.fetch_add(1, Ordering::Relaxed);
        let current = self.argon2.params().block_count();
        let kept = if blocks == current { self.memory.lock().unwrap_or_else(|e| e.into_inner()).pop() } else { None };
        let mut buffer = kept.unwrap_or_else(|| vec![Block::default(); blocks]);
        let result = f(&mut buffer);
        if blocks == current {
            let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            if memory.len() < self.kept_buffers {
                memory.push(buffer);
            }
        }
        result
    }

    /// The PHC string `argon2::PasswordHasher::hash_password` makes (16-byte random salt, 32-byte
    /// output), computed in kept memory.
    fn hash(&self, password: &Password) -> Result<String, HashingError> {
        let error = |error: &dyn std::fmt::Display| HashingError(error.to_string());
        let salt = argon2::password_hash::try_generate_salt().map_err(|e| error(&e))?;
        let mut out = [0u8; 32];
        self.with_memory(self.argon2.params().block_count(), |memory| {
            self.argon2.hash_password_into_with_memory(password.bytes(), &salt, &mut out, memory)
        })
        .map_err(|e| error(&e))?;
        let hash = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params()).map_err(|e| error(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| error(&e))?),
            hash: Some(Output::new(&out).map_err(|e| error(&e))?),
        };
        Ok(hash.to_string())
    }

    fn verify(&self, password: &Password, stored: &str) -> Result<PasswordCheck, HashingError> {
        let parsed =
            StoredHash::parse(stored).map_err(|error| HashingError(format!("stored hash unreadable: {error}")))?;
        let matches = match &parsed {
            StoredHash::Argon2 { phc, .. } => PasswordHash::new(phc).is_ok_and(|hash| self.matches(password, &hash)),
            imported => {
                self.computations.fetch_add(1, Ordering::Relaxed);
                imported.matches(password)
            }
        };
        if !matches {
            return Ok(PasswordCheck::Invalid);
        }
        Ok(PasswordCheck::Valid { needs_rehash: parsed.requires_upgrade(self.params) })
    }

    /// Argon2id v19 hashes are recomputed in kept memory and compared in constant time
    /// (`Output`'s equality); any other kind goes through the argon2 crate's own check.
    fn matches(&self, password: &Password, hash: &PasswordHash) -> bool {
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
        if hash.algorithm != argon2::ARGON2ID_IDENT || hash.version != Some(Version::V0x13.into()) {
            self.computations.fetch_add(1, Ordering::Relaxed);
            return self.argon2.verify_password(password.bytes(), hash).is_ok();
        }
        // Carries the stored hash's own cost and output length.
        let Ok(params) = Params::try_from(hash) else { return false };
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = vec![0u8; expected.len()];
        let computed = self.with_memory(argon2.params().block_count(), |memory| {
            argon2.hash_password_into_with_memory(password.bytes(), salt.as_ref(), &mut out, memory)
        });
        computed.is_ok() && Output::new(&out).is_ok_and(|output| output == *expected)
    }
}

/// `$argon2id$v=19$m=…,t=…,p=…$<salt>$<output>` with 16 random salt bytes and 32 random
/// output bytes: no password has it, and verifying against it runs one full Argon2id.
fn dummy_hash(params: PasswordParams) -> Result<String, String> {
    use base64::Engine as _;
    let mut random = [0u8; 48];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| "the system RNG failed".to_owned())?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let PasswordParams { memory_kib, iterations, parallelism } = params;
    Ok(format!(
        "$argon2id$v=19$m={memory_kib},t={iterations},p={parallelism}${}${}",
        b64.encode(&random[..16]),
        b64.encode(&random[16..])
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordParams {
        PasswordParams { memory_kib: 256, iterations: 1, parallelism: 1 }
    }

    fn presented(raw: &str) -> Password {
        Password::parse_presented(raw.to_owned()).unwrap()
    }

    #[test]
    fn the_dummy_hash_is_ready_at_init_with_the_current_parameters() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        let dummy = StoredHash::parse(&hasher.inner.dummy_hash).expect("a PHC string");
        assert!(!dummy.requires_upgrade(cheap()), "{}", hasher.inner.dummy_hash);
        let other = PasswordHasher::new(cheap()).unwrap();
        assert_ne!(hasher.inner.dummy_hash, other.inner.dummy_hash, "random per instance");
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        let hash = hasher.hash(presented("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{hash}");
        assert_eq!(
            hasher.verify(presented("correct horse"), Some(hash.clone())).await.unwrap(),
            PasswordCheck::Valid { needs_rehash: false }
        );
        assert_eq!(hasher.verify(presented("wrong horse"), Some(hash)).await.unwrap(), PasswordCheck::Invalid);
    }

    #[tokio::test]
    async fn unknown_account_is_always_invalid() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        assert_eq!(hasher.verify(presented("anything at all"), None).await.unwrap(), PasswordCheck::Invalid);
    }

    #[tokio::test]
    async fn a_hash_with_older_parameters_asks_for_a_rehash() {
        let old = PasswordHasher::new(cheap()).unwrap();
        let hash = old.hash(presented("correct horse")).await.unwrap();
        let current = PasswordHasher::new(PasswordParams { memory_kib: 512, ..cheap() }).unwrap();
        assert_eq!(
            current.verify(presented("correct horse"), Some(hash)).await.unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_both_ways() {
        use argon2::PasswordHasher as _;
        let ours = PasswordHasher::new(cheap()).unwrap();
        let crate_argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(256, 1, 1, None).unwrap());
        let theirs = crate_argon2.hash_password(b"correct horse").unwrap().to_string();
        let mine = ours.hash(presented("correct horse")).await.unwrap();
        let parsed = PasswordHash::new(&mine).unwrap();
        assert!(crate_argon2.verify_password(b"correct horse", &parsed).is_ok());
        assert!(crate_argon2.verify_password(b"wrong horse", &parsed).is_err());
        assert_eq!(
            ours.verify(presented("correct horse"), Some(theirs.clone())).await.unwrap(),
            PasswordCheck::Valid { needs_rehash: false }
        );
        assert_eq!(ours.verify(presented("wrong horse"), Some(theirs)).await.unwrap(), PasswordCheck::Invalid);
        // Other kinds (here Argon2i) go through the crate's check, and ask for a rehash.
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(256, 1, 1, None).unwrap());
        let old = argon2i.hash_password(b"correct horse").unwrap().to_string();
        assert_eq!(
            ours.verify(presented("correct horse"), Some(old.clone())).await.unwrap(),
            PasswordCheck::Valid { needs_rehash: true }
        );
        assert_eq!(ours.verify(presented("wrong horse"), Some(old)).await.unwrap(), PasswordCheck::Invalid);
    }

    #[tokio::test]
    async fn working_memory_is_kept_and_bounded() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        let hash = hasher.hash(presented("correct horse")).await.unwrap();
        assert_eq!(hasher.inner.memory.lock().unwrap().len(), 1);
        let checks = (0..8).map(|_| hasher.verify(presented("correct horse"), Some(hash.clone())));
        for check in futures::future::join_all(checks).await {
            assert_eq!(check.unwrap(), PasswordCheck::Valid { needs_rehash: false });
        }
        let kept = hasher.inner.memory.lock().unwrap();
        assert!((1..=hasher.inner.kept_buffers).contains(&kept.len()), "{}", kept.len());
        assert!(kept.iter().all(|buffer| buffer.len() == 256));
    }

    #[tokio::test]
    async fn each_hash_and_check_is_one_counted_computation() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        assert_eq!(hasher.params(), cheap());
        assert_eq!(hasher.computations(), 0);
        let hash = hasher.hash(presented("correct horse")).await.unwrap();
        hasher.verify(presented("correct horse"), Some(hash)).await.unwrap();
        hasher.verify(presented("no account"), None).await.unwrap();
        assert_eq!(hasher.computations(), 3, "a hash, a check, and the dummy check of an unknown account");
    }

    #[tokio::test]
    async fn sequential_checks_reuse_one_kept_buffer() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        // A hash of ours, checked by a fresh hasher: the check itself takes and keeps memory.
        let hash = PasswordHasher::new(cheap()).unwrap().hash(presented("correct horse")).await.unwrap();
        assert_eq!(hasher.inner.memory.lock().unwrap().len(), 0);
        for _ in 0..3 {
            let check = hasher.verify(presented("correct horse"), Some(hash.clone())).await.unwrap();
            assert_eq!(check, PasswordCheck::Valid { needs_rehash: false });
            assert_eq!(hasher.inner.memory.lock().unwrap().len(), 1, "one buffer, taken and given back");
        }
    }

    /// `depth` computations at once (each holding its buffer while the next starts).
    fn nested(inner: &Inner, blocks: usize, depth: usize) {
        if depth > 0 {
            inner.with_memory(blocks, |_| nested(inner, blocks, depth - 1));
        }
    }

    #[test]
    fn no_more_buffers_are_kept_than_the_bound() {
        let hasher = PasswordHasher::new(cheap()).unwrap();
        let blocks = hasher.inner.argon2.params().block_count();
        nested(&hasher.inner, blocks, hasher.inner.kept_buffers + 2);
        assert_eq!(hasher.inner.memory.lock().unwrap().len(), hasher.inner.kept_buffers);
        // Memory of another size (an older hash's cost) is never kept.
        nested(&hasher.inner, blocks * 2, 1);
        assert!(hasher.inner.memory.lock().unwrap().iter().all(|buffer| buffer.len() == blocks));
    }
}
