//! A stored password hash, parsed by its prefix into one type (as kanidm's `libs/crypto` does):
//! Argon2 in PHC form, as this service writes it, and what an import brings from elsewhere —
//! scrypt and PBKDF2 in PHC form, bcrypt (`$2a$`, `$2b$`, `$2y$`) and Django's `pbkdf2_sha256$`,
//! `pbkdf2_sha1$`, `argon2$`, `bcrypt$` and `bcrypt_sha256$`. Everything but Argon2id at today's
//! cost [requires an upgrade](StoredHash::requires_upgrade): the login that proves the password
//! replaces the hash in the same conditional write (`service::accounts`).
//!
//! An import also bounds each hash's cost ([`StoredHash::within_login_bounds`]), so that an
//! imported hash cannot make one login cost seconds of CPU or more memory than the function has.

use std::num::NonZeroU32;

use argon2::PasswordHash;
use base64::Engine as _;

use super::{Password, PasswordParams};

// The bounds an imported hash's cost must keep (`StoredHash::within_login_bounds`), so that its
// first check fits the login function (256 MB, a share of a vCPU) and its 10 s timeout.
/// Django 6.0 makes 1,200,000 PBKDF2 iterations.
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// bcrypt's cost doubles with each step (10 to 12 are the common defaults).
pub const MAX_BCRYPT_COST: u32 = 13;
/// scrypt's working memory, 128·r·N bytes, and its work, N·r·p (passlib's default, ln=16, r=8,
/// p=1, needs 64 MiB and 2^19).
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 128 << 20;
pub const MAX_SCRYPT_WORK: u64 = 1 << 20;
/// Argon2's memory (KiB) and memory × passes: Django's default is 100 MiB × 2, argon2-cffi's
/// 64 MiB × 3.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 128 << 10;
pub const MAX_ARGON2_WORK_KIB: u32 = 256 << 10;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashFormatError {
    #[error(
        "unknown password hash format (expected argon2, scrypt or pbkdf2 in PHC form, bcrypt $2a$/$2b$/$2y$, or Django's pbkdf2_sha256$/pbkdf2_sha1$/argon2$/bcrypt$/bcrypt_sha256$)"
    )]
    Unknown,
    #[error("malformed {0} hash")]
    Malformed(&'static str),
    #[error("{0} hash costs more than this service checks at a login ({1})")]
    TooCostly(&'static str, String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pbkdf2Digest {
    Sha1,
    Sha256,
    Sha512,
}

/// A stored hash, parsed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredHash {
    /// `$argon2id$…` (and `$argon2i$`, `$argon2d$`): checked by the hasher in kept memory.
    /// `prefixed`: it came as Django's `argon2$…`, rewritten at the next login.
    Argon2 {
        phc: String,
        prefixed: bool,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Pbkdf2 {
        digest: Pbkdf2Digest,
        iterations: NonZeroU32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    /// `sha256_first`: Django's `bcrypt_sha256$`, bcrypt over the password's SHA-256 in hex.
    Bcrypt {
        hash: String,
        sha256_first: bool,
    },
}

impl StoredHash {
    pub fn parse(stored: &str) -> Result<Self, HashFormatError> {
        if let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") {
            return django_pbkdf2(Pbkdf2Digest::Sha256, rest);
        }
        if let Some(rest) = stored.strip_prefix("pbkdf2_sha1$") {
            return django_pbkdf2(Pbkdf2Digest::Sha1, rest);
        }
        if stored.starts_with("argon2$argon2") {
            return argon2(&stored["argon2".len()..], true);
        }
        if let Some(hash) = stored.strip_prefix("bcrypt_sha256$") {
            return bcrypt(hash, true);
        }
        if let Some(hash) = stored.strip_prefix("bcrypt$") {
            return bcrypt(hash, false);
        }
        if ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| stored.starts_with(prefix)) {
            return bcrypt(stored, false);
        }
        if stored.starts_with("$argon2") {
            return argon2(stored, false);
        }
        if stored.starts_with("$scrypt$") {
            return scrypt_phc(stored);
        }
        if stored.starts_with("$pbkdf2-") || stored.starts_with("$pbkdf2$") {
            return pbkdf2_phc(stored);
        }
        Err(HashFormatError::Unknown)
    }

    /// The format's name, for reports (`argon2id`, `bcrypt`, `django-pbkdf2_sha256`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            StoredHash::Argon2 { prefixed: true, .. } => "django-argon2",
            StoredHash::Argon2 { phc, .. } if phc.starts_with("$argon2id$") => "argon2id",
            StoredHash::Argon2 { .. } => "argon2",
            StoredHash::Scrypt { .. } => "scrypt",
            StoredHash::Pbkdf2 { .. } => "pbkdf2",
            StoredHash::Bcrypt { sha256_first: true, .. } => "django-bcrypt_sha256",
            StoredHash::Bcrypt { .. } => "bcrypt",
        }
    }

    /// Whether checking it costs no more than a login may spend (the bounds above). An import
    /// refuses a hash past them; the service's own Argon2id hashes are never asked (their cost
    /// is `ARGON2_*`'s).
    pub fn within_login_bounds(&self) -> Result<(), HashFormatError> {
        let too_costly = |kind, cost: String| Err(HashFormatError::TooCostly(kind, cost));
        match self {
            StoredHash::Argon2 { phc, .. } => {
                let hash = PasswordHash::new(phc).map_err(|_| HashFormatError::Malformed("argon2"))?;
                let params = argon2::Params::try_from(&hash).map_err(|_| HashFormatError::Malformed("argon2"))?;
                let (m, t) = (params.m_cost(), params.t_cost());
                if m > MAX_ARGON2_MEMORY_KIB || m.saturating_mul(t) > MAX_ARGON2_WORK_KIB {
                    return too_costly("argon2", format!("m={m} KiB, t={t}"));
                }
            }
            StoredHash::Scrypt { log_n, r, p, .. } => {
                let n = 1u64.checked_shl(u32::from(*log_n)).unwrap_or(u64::MAX);
                let memory = n.saturating_mul(128).saturating_mul(u64::from(*r));
                let work = n.saturating_mul(u64::from(*r)).saturating_mul(u64::from(*p));
                if memory > MAX_SCRYPT_MEMORY_BYTES || work > MAX_SCRYPT_WORK {
                    return too_costly("scrypt", format!("ln={log_n}, r={r}, p={p}"));
                }
            }
            StoredHash::Pbkdf2 { iterations, .. } if iterations.get() > MAX_PBKDF2_ITERATIONS => {
                return too_costly("pbkdf2", format!("{iterations} iterations"));
            }
            StoredHash::Bcrypt { hash, .. } => {
                let cost: u32 = hash[4..6].parse().map_err(|_| HashFormatError::Malformed("bcrypt"))?;
                if cost > MAX_BCRYPT_COST {
                    return too_costly("bcrypt", format!("cost {cost}"));
                }
            }
            StoredHash::Pbkdf2 { .. } => {}
        }
        Ok(())
    }

    /// Whether a login should replace it with an Argon2id hash at `params`.
    pub fn requires_upgrade(&self, params: PasswordParams) -> bool {
        let StoredHash::Argon2 { phc, prefixed: false } = self else { return true };
        let Ok(hash) = PasswordHash::new(phc) else { return true };
        let Ok(found) = argon2::Params::try_from(&hash) else { return true };
        hash.algorithm != argon2::ARGON2ID_IDENT
            || hash.version != Some(argon2::Version::V0x13.into())
            || found.m_cost() != params.memory_kib
            || found.t_cost() != params.iterations
            || found.p_cost() != params.parallelism
    }

    /// Whether `password` is the one hashed, compared in constant time. (The hasher checks
    /// Argon2 itself, in its kept memory; this is the argon2 crate's own check.)
    pub fn matches(&self, password: &Password) -> bool {
        use aws_lc_rs::{constant_time, digest, pbkdf2};
        match self {
            StoredHash::Argon2 { phc, .. } => {
                use argon2::PasswordVerifier as _;
                PasswordHash::new(phc)
                    .is_ok_and(|hash| argon2::Argon2::default().verify_password(password.bytes(), &hash).is_ok())
            }
            StoredHash::Scrypt { log_n, r, p, salt, hash } => {
                let Ok(params) = scrypt::Params::new(*log_n, *r, *p) else { return false };
                let mut out = vec![0u8; hash.len()];
                scrypt::scrypt(password.bytes(), salt, &params, &mut out).is_ok()
                    && constant_time::verify_slices_are_equal(&out, hash).is_ok()
            }
            StoredHash::Pbkdf2 { digest, iterations, salt, hash } => {
                let algorithm = match digest {
                    Pbkdf2Digest::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
                    Pbkdf2Digest::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
                    Pbkdf2Digest::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
                };
                pbkdf2::verify(algorithm, *iterations, salt, password.bytes(), hash).is_ok()
            }
            StoredHash::Bcrypt { hash, sha256_first: false } => bcrypt::verify(password.bytes(), hash).unwrap_or(false),
            StoredHash::Bcrypt { hash, sha256_first: true } => {
                let prehash = hex(digest::digest(&digest::SHA256, password.bytes()).as_ref());
                bcrypt::verify(prehash.as_bytes(), hash).unwrap_or(false)
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn argon2(phc: &str, prefixed: bool) -> Result<StoredHash, HashFormatError> {
    let hash = PasswordHash::new(phc).map_err(|_| HashFormatError::Malformed("argon2"))?;
    argon2::Params::try_from(&hash).map_err(|_| HashFormatError::Malformed("argon2"))?;
    let known = ["argon2id", "argon2i", "argon2d"].contains(&hash.algorithm.as_str());
    if !known || hash.salt.is_none() || hash.hash.is_none() {
        return Err(HashFormatError::Malformed("argon2"));
    }
    Ok(StoredHash::Argon2 { phc: phc.to_owned(), prefixed })
}

/// Django: `pbkdf2_sha256$<iterations>$<salt>$<base64 of the derived key>`; the salt is text,
/// used as its bytes.
fn django_pbkdf2(digest: Pbkdf2Digest, rest: &str) -> Result<StoredHash, HashFormatError> {
    let malformed = HashFormatError::Malformed(match digest {
        Pbkdf2Digest::Sha1 => "django pbkdf2_sha1",
        _ => "django pbkdf2_sha256",
    });
    let mut parts = rest.split('$');
    let (Some(iterations), Some(salt), Some(encoded), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed);
    };
    let iterations = iterations.parse::<NonZeroU32>().map_err(|_| malformed.clone())?;
    let hash = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| malformed.clone())?;
    if salt.is_empty() || hash.is_empty() || hash.len() > 64 {
        return Err(malformed);
    }
    Ok(StoredHash::Pbkdf2 { digest, iterations, salt: salt.as_bytes().to_vec(), hash })
}

/// `$pbkdf2-sha256$i=<iterations>,l=<length>$<salt>$<hash>` (RustCrypto's PHC form; B64 salt;
/// `$pbkdf2$` is HMAC-SHA-1, `$pbkdf2-sha512$` HMAC-SHA-512).
fn pbkdf2_phc(stored: &str) -> Result<StoredHash, HashFormatError> {
    let malformed = || HashFormatError::Malformed("pbkdf2");
    let hash = PasswordHash::new(stored).map_err(|_| malformed())?;
    let digest = match hash.algorithm.as_str() {
        "pbkdf2-sha256" => Pbkdf2Digest::Sha256,
        "pbkdf2-sha512" => Pbkdf2Digest::Sha512,
        "pbkdf2" => Pbkdf2Digest::Sha1,
        _ => return Err(malformed()),
    };
    let iterations = hash.params.get_decimal("i").and_then(NonZeroU32::new).ok_or_else(malformed)?;
    let (Some(salt), Some(output)) = (&hash.salt, &hash.hash) else { return Err(malformed()) };
    Ok(StoredHash::Pbkdf2 { digest, iterations, salt: salt.as_ref().to_vec(), hash: output.as_ref().to_vec() })
}

/// `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>` (passlib's and RustCrypto's PHC form).
fn scrypt_phc(stored: &str) -> Result<StoredHash, HashFormatError> {
    let malformed = || HashFormatError::Malformed("scrypt");
    let hash = PasswordHash::new(stored).map_err(|_| malformed())?;
    let params = scrypt::Params::try_from(&hash).map_err(|_| malformed())?;
    let (Some(salt), Some(output)) = (&hash.salt, &hash.hash) else { return Err(malformed()) };
    let (log_n, r, p) = (params.log_n(), params.r(), params.p());
    Ok(StoredHash::Scrypt { log_n, r, p, salt: salt.as_ref().to_vec(), hash: output.as_ref().to_vec() })
}

/// `$2b$<cost>$<22 characters of salt><31 of hash>`, as the bcrypt crate reads it.
fn bcrypt(hash: &str, sha256_first: bool) -> Result<StoredHash, HashFormatError> {
    let malformed = || HashFormatError::Malformed("bcrypt");
    let known = ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| hash.starts_with(prefix));
    let body_ok = hash.len() == 60
        && hash.is_ascii()
        && hash.as_bytes()[6] == b'$'
        && hash[7..].bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'/');
    if !known || !body_ok {
        return Err(malformed());
    }
    let cost: u32 = hash[4..6].parse().map_err(|_| malformed())?;
    if !(4..=31).contains(&cost) {
        return Err(malformed());
    }
    Ok(StoredHash::Bcrypt { hash: hash.to_owned(), sha256_first })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "correct horse battery";

    /// Made by Django 5.2 (`make_password` with cheap costs), Python's `bcrypt` 4.3 and
    /// `hashlib` (scrypt, PBKDF2) for the password above. The import tests make fresh ones.
    const VECTORS: &[(&str, &str)] = &[
        ("django-pbkdf2_sha256", "pbkdf2_sha256$1000$seasalt1$0UvS6l9UWQG4zEMeKWDwJFnUyGmC4VWfwUskGdk54Es="),
        ("django-pbkdf2_sha1", "pbkdf2_sha1$1000$seasalt2$ZXKgkKtGgMyeFjSN97n9NWVUzUU="),
        ("django-bcrypt_sha256", "bcrypt_sha256$$2b$04$zI9xRyIhMlimF41rMWDFH.AEm0VMx98rWti33BYa7HNclXe.rYZsq"),
        ("django-bcrypt", "bcrypt$$2b$04$xR34aT0wqln8WtYSZsFheOd6hJEoNHlh1TmiaT0BC0i6v7w8R9MR2"),
        (
            "django-argon2",
            "argon2$argon2id$v=19$m=256,t=1,p=1$eHc0QXRtR2lRMkhhYTNzSGdCdnBCMA$LPoyuBU02COC7sriw2z4Rz5oO/rKA0CFO9HzHBSWs/A",
        ),
        ("bcrypt-2a", "$2a$04$WYs6yhzRrUMaXe0ZlncPUOWNlA28cMNjVhvX7wlmR9riPOV3UguW."),
        ("bcrypt-2b", "$2b$04$9sicPNg48CFVDv7zObOSbe8UpPHPQTEYxkWqkMNhgO2ozkk5HdiRK"),
        ("scrypt", "$scrypt$ln=10,r=8,p=1$c2NyeXB0LXNhbHQtMTZieQ$t6NwwNDAx8/+uBdSV+X7qAzMetTRBpTRW4Gibk5TBdk"),
        (
            "pbkdf2-sha256",
            "$pbkdf2-sha256$i=1000,l=32$cGJrZGYyLXNhbHQtMTZieQ$9HKBHkPzdQM7Y1Fm1exyiZth8Rg43lGwj/d4KOxUtfk",
        ),
        ("pbkdf2-sha1", "$pbkdf2$i=1000,l=20$cGJrZGYyLXNhbHQtMTZieQ$xYjE9BsO3/CU0hRLK1IzI0wq7tA"),
        (
            "pbkdf2-sha512",
            "$pbkdf2-sha512$i=1000,l=64$cGJrZGYyLXNhbHQtMTZieQ$IQcEHc/58nZF4Zj7bNlODb+rr8C38rQ7xGeQK4Ble7wFf8RkCZfdffTOIUDTRb6c8W4QplFKs29Q2c8HAnwV2Q",
        ),
    ];

    fn password(raw: &str) -> Password {
        Password::parse_presented(raw.to_owned()).unwrap()
    }

    #[test]
    fn every_imported_format_checks_its_password_and_only_it() {
        for (name, stored) in VECTORS {
            let hash = StoredHash::parse(stored).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert!(hash.matches(&password(PASSWORD)), "{name}: the right password");
            assert!(!hash.matches(&password("correct horse batterY")), "{name}: a wrong one");
            assert!(!hash.matches(&password("")), "{name}: none");
            assert!(hash.requires_upgrade(PasswordParams::default()), "{name}: upgraded at the next login");
        }
    }

    #[test]
    fn bcrypt_s_alphabet_includes_the_slash_and_the_dot_only() {
        let with_slash = "$2b$10$lP3q.bpY2/3O2YyCYAHKn.Xs3tnuTC/vjKiCZEwCshJupzy2JjqDe";
        assert_eq!(StoredHash::parse(with_slash).unwrap().kind(), "bcrypt");
        let with_bang = with_slash.replacen('/', "!", 1);
        assert_eq!(StoredHash::parse(&with_bang), Err(HashFormatError::Malformed("bcrypt")));
    }

    #[test]
    fn bcrypt_2y_is_read_as_2b() {
        let stored = VECTORS.iter().find(|(name, _)| *name == "bcrypt-2b").unwrap().1.replacen("$2b$", "$2y$", 1);
        assert!(StoredHash::parse(&stored).unwrap().matches(&password(PASSWORD)));
    }

    #[test]
    fn argon2id_at_todays_cost_needs_no_upgrade_and_django_s_prefix_does() {
        let params = PasswordParams { memory_kib: 256, iterations: 1, parallelism: 1 };
        let django = StoredHash::parse(VECTORS[4].1).unwrap();
        assert_eq!(django.kind(), "django-argon2");
        assert!(django.requires_upgrade(params), "rewritten without Django's prefix");
        let plain = StoredHash::parse(VECTORS[4].1.strip_prefix("argon2").unwrap()).unwrap();
        assert_eq!(plain.kind(), "argon2id");
        assert!(!plain.requires_upgrade(params));
        assert!(plain.requires_upgrade(PasswordParams::default()), "another cost");
    }

    #[test]
    fn any_one_difference_from_today_s_argon2id_asks_for_an_upgrade() {
        let params = PasswordParams { memory_kib: 256, iterations: 2, parallelism: 1 };
        let hash = |ident: &str, version: u32, m: u32, t: u32, p: u32| {
            StoredHash::parse(&format!("${ident}$v={version}$m={m},t={t},p={p}$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"))
                .unwrap()
        };
        assert!(!hash("argon2id", 19, 256, 2, 1).requires_upgrade(params), "today's");
        assert!(hash("argon2i", 19, 256, 2, 1).requires_upgrade(params), "another variant");
        assert!(hash("argon2d", 19, 256, 2, 1).requires_upgrade(params), "another variant");
        assert!(hash("argon2id", 16, 256, 2, 1).requires_upgrade(params), "another version");
        assert!(hash("argon2id", 19, 512, 2, 1).requires_upgrade(params), "another memory cost");
        assert!(hash("argon2id", 19, 256, 3, 1).requires_upgrade(params), "another pass count");
        assert!(hash("argon2id", 19, 256, 2, 2).requires_upgrade(params), "another lane count");
        assert_eq!(hash("argon2i", 19, 256, 2, 1).kind(), "argon2");
        assert_eq!(hash("argon2d", 19, 256, 2, 1).kind(), "argon2");
    }

    #[test]
    fn kinds_name_each_format() {
        let kinds: Vec<_> = VECTORS.iter().map(|(_, stored)| StoredHash::parse(stored).unwrap().kind()).collect();
        assert_eq!(
            kinds,
            [
                "pbkdf2",
                "pbkdf2",
                "django-bcrypt_sha256",
                "bcrypt",
                "django-argon2",
                "bcrypt",
                "bcrypt",
                "scrypt",
                "pbkdf2",
                "pbkdf2",
                "pbkdf2"
            ]
        );
    }

    #[test]
    fn unknown_and_malformed_hashes_are_refused_by_name() {
        for stored in ["", "plaintext", "md5$salt$abc", "sha1$$deadbeef", "!unusable", "$1$salt$hash", "$6$rounds"] {
            assert_eq!(StoredHash::parse(stored), Err(HashFormatError::Unknown), "{stored:?}");
        }
        let malformed = [
            ("pbkdf2_sha256$abc$salt$AAAA", "django pbkdf2_sha256"),
            ("pbkdf2_sha256$0$salt$AAAA", "django pbkdf2_sha256"),
            ("pbkdf2_sha256$1000$$AAAA", "django pbkdf2_sha256"),
            ("pbkdf2_sha256$1000$salt$not base64!", "django pbkdf2_sha256"),
            ("pbkdf2_sha256$1000$salt$AAAA$extra", "django pbkdf2_sha256"),
            ("pbkdf2_sha1$1000$salt", "django pbkdf2_sha1"),
            ("$2b$04$short", "bcrypt"),
            ("$2b$99$9sicPNg48CFVDv7zObOSbe8UpPHPQTEYxkWqkMNhgO2ozkk5HdiRK", "bcrypt"),
            ("$2b$04$9sicPNg48CFVDv7zObOSbe8UpPHPQTEYxkWqkMNhgO2ozkk5HdiR\u{e9}", "bcrypt"),
            ("bcrypt$$2x$04$9sicPNg48CFVDv7zObOSbe8UpPHPQTEYxkWqkMNhgO2ozkk5HdiRK", "bcrypt"),
            ("$argon2id$v=19$m=256,t=1,p=1", "argon2"),
            ("$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ", "argon2"),
            ("pbkdf2_sha256$1000$salt$", "django pbkdf2_sha256"),
            (
                "pbkdf2_sha256$1000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "django pbkdf2_sha256",
            ),
            ("$argon2x$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "argon2"),
            ("$scrypt$ln=99,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "scrypt"),
            ("$pbkdf2-md5$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "pbkdf2"),
            ("$pbkdf2-sha256$l=32$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "pbkdf2"),
        ];
        for (stored, kind) in malformed {
            assert_eq!(StoredHash::parse(stored), Err(HashFormatError::Malformed(kind)), "{stored:?}");
        }
    }

    #[test]
    fn a_derived_key_of_64_bytes_is_the_longest_taken() {
        let sixty_four = format!("pbkdf2_sha256$1000$salt${}", "A".repeat(86) + "==");
        assert!(StoredHash::parse(&sixty_four).is_ok());
    }

    #[test]
    fn costs_past_the_bounds_are_refused_and_the_bounds_themselves_accepted() {
        let refused = |stored: &str| match StoredHash::parse(stored).unwrap().within_login_bounds() {
            Err(HashFormatError::TooCostly(..)) => true,
            Ok(()) => false,
            Err(other) => panic!("{stored}: {other}"),
        };
        let bcrypt_at = |cost: u32| format!("$2b${cost:02}$9sicPNg48CFVDv7zObOSbe8UpPHPQTEYxkWqkMNhgO2ozkk5HdiRK");
        assert!(!refused(&bcrypt_at(MAX_BCRYPT_COST)) && refused(&bcrypt_at(MAX_BCRYPT_COST + 1)));
        let django_at = |iterations: u32| format!("pbkdf2_sha256${iterations}$salt$AAAA");
        assert!(!refused(&django_at(MAX_PBKDF2_ITERATIONS)) && refused(&django_at(MAX_PBKDF2_ITERATIONS + 1)));
        let phc_at = |iterations: u32| format!("$pbkdf2-sha256$i={iterations},l=32$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA");
        assert!(!refused(&phc_at(MAX_PBKDF2_ITERATIONS)) && refused(&phc_at(MAX_PBKDF2_ITERATIONS + 1)));
        // 128 · 8 · 2^17 bytes is 128 MiB; one more doubling is past it; and so is the work of
        // 2^17 · 8 · 2 (two lanes).
        let scrypt_at = |ln: u32, p: u32| format!("$scrypt$ln={ln},r=8,p={p}$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA");
        assert!(!refused(&scrypt_at(17, 1)) && refused(&scrypt_at(18, 1)));
        assert!(!refused(&scrypt_at(16, 2)) && refused(&scrypt_at(17, 2)));
        let argon2_at = |m: u32, t: u32| format!("$argon2id$v=19$m={m},t={t},p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA");
        assert!(!refused(&argon2_at(MAX_ARGON2_MEMORY_KIB, 2)) && refused(&argon2_at(MAX_ARGON2_MEMORY_KIB + 1, 1)));
        assert!(!refused(&argon2_at(102_400, 2)), "Django's default");
        assert!(!refused(&argon2_at(65_536, 3)), "argon2-cffi's default");
        assert!(refused(&argon2_at(65_536, 5)), "past the work bound");
    }

    #[test]
    fn the_service_s_own_hashes_are_checked_whatever_their_cost() {
        // ARGON2_MEMORY_KIB may be up to 1 GiB: such hashes parse (only an import bounds cost).
        let costly = "$argon2id$v=19$m=1048576,t=64,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        let hash = StoredHash::parse(costly).unwrap();
        assert!(hash.within_login_bounds().is_err());
        assert!(!hash.requires_upgrade(PasswordParams { memory_kib: 1_048_576, iterations: 64, parallelism: 1 }));
    }

    #[test]
    fn errors_say_what_was_wrong_without_the_hash() {
        let error = StoredHash::parse("pbkdf2_sha256$9000000$secret-salt$AAAA").unwrap().within_login_bounds();
        let error = error.unwrap_err().to_string();
        assert_eq!(error, "pbkdf2 hash costs more than this service checks at a login (9000000 iterations)");
        assert!(StoredHash::parse("md5$x").unwrap_err().to_string().starts_with("unknown password hash format"));
    }
}
