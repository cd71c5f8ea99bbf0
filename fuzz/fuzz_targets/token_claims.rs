//! The claim checks behind a valid signature: the input is `header JSON \n payload JSON`
//! (plus 8 bytes of "now" in front), HS256-signed with the fixture secret and verified. Must
//! never panic, and whatever verifies must satisfy every rule the verifier promises.
#![no_main]

use jwt_auth_fuzz::{AUDIENCE, ISSUER, hs256_verifier, sign_hs256};
use libfuzzer_sys::fuzz_target;
use shared::time::UnixTime;

const LEEWAY: u64 = 5;

fuzz_target!(|data: &[u8]| {
    let Some((now, rest)) = data.split_first_chunk::<8>() else { return };
    // Around the seeds' timestamps most of the time, anything at all otherwise.
    let raw_now = u64::from_le_bytes(*now);
    let now_secs = if raw_now & 1 == 0 { 1_800_000_000 + (raw_now >> 1) % 10_000 } else { raw_now >> 1 };
    let now = UnixTime::from_secs(now_secs);
    let split = rest.iter().position(|&byte| byte == b'\n').unwrap_or(rest.len());
    let (header, payload) = (&rest[..split], rest.get(split + 1..).unwrap_or_default());
    let token = sign_hs256(header, payload);

    let verifier = hs256_verifier();
    let access = verifier.verify_access(&token, now);
    let refresh = verifier.verify_refresh(&token, now);
    assert!(access.is_err() || refresh.is_err(), "one token passed as both kinds: {token}");

    let header: serde_json::Value = serde_json::from_slice(header).unwrap_or_default();
    let typ = header["typ"].as_str().unwrap_or_default().to_ascii_lowercase();
    let now = now.secs();
    if let Ok(claims) = access {
        assert_eq!(typ, "at+jwt");
        assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISSUER, AUDIENCE));
        assert!(claims.exp.checked_add(LEEWAY).is_none_or(|end| end > now), "expired token accepted");
        assert!(claims.iat <= now.saturating_add(LEEWAY), "token from the future accepted");
    }
    if let Ok(claims) = refresh {
        assert_eq!(typ, "rt+jwt");
        assert_eq!((claims.iss.as_str(), claims.aud.as_str()), (ISSUER, ISSUER));
        assert!(claims.exp.checked_add(LEEWAY).is_none_or(|end| end > now), "expired token accepted");
        assert!(claims.iat <= now.saturating_add(LEEWAY), "token from the future accepted");
    }
});
