//! The resource servers that may introspect tokens (RFC 7662): each client id with the SHA-256 of
//! its secret. Secrets are random (at least 32 bytes), so a plain digest is enough at rest, and
//! the configuration holds no secret itself.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntrospectionClients {
    clients: Vec<(String, [u8; 32])>,
}

impl IntrospectionClients {
    /// `client_id:sha256-hex-of-its-secret`, comma-separated (`INTROSPECTION_CLIENTS`).
    pub fn parse(list: &str) -> Result<Self, String> {
        let pairs = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| entry.split_once(':').ok_or_else(|| "each entry must be client_id:sha256-hex".to_owned()));
        Self::from_pairs(pairs.collect::<Result<Vec<_>, _>>()?)
    }

    /// A JSON object of `{"client_id": "sha256-hex"}` (the Secrets Manager form).
    pub fn from_json(json: &str) -> Result<Self, String> {
        let map: std::collections::BTreeMap<String, String> = serde_json::from_str(json)
            .map_err(|_| "must be a JSON object of client ids to SHA-256 hex digests".to_owned())?;
        Self::from_pairs(map.iter().map(|(id, hash)| (id.as_str(), hash.as_str())).collect())
    }

    fn from_pairs(pairs: Vec<(&str, &str)>) -> Result<Self, String> {
        let mut clients = Vec::with_capacity(pairs.len());
        for (id, hash) in pairs {
            let id = id.trim();
            if id.is_empty() || id.len() > 128 {
                return Err("a client id must be 1 to 128 characters".into());
            }
            let digest =
                decode_hex(hash.trim()).ok_or_else(|| format!("the digest of client {id} is not 64 hex digits"))?;
            if clients.iter().any(|(known, _)| known == id) {
                return Err(format!("client {id} is listed twice"));
            }
            clients.push((id.to_owned(), digest));
        }
        Ok(Self { clients })
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The client these credentials prove, if any. Every client's digest is compared, in
    /// constant time, so the answer's timing says nothing about which ids exist.
    pub fn authenticate(&self, client_id: &str, secret: &str) -> Option<&str> {
        let presented = digest(&SHA256, secret.as_bytes());
        let mut found = None;
        for (id, expected) in &self.clients {
            let secret_matches = verify_slices_are_equal(expected, presented.as_ref()).is_ok();
            if secret_matches && id == client_id {
                found = Some(id.as_str());
            }
        }
        found
    }
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_its_id_and_the_secret_whose_digest_is_listed() {
        let digest = crate::domain::sha256_hex("gateway secret");
        let clients = IntrospectionClients::parse(&format!(" gateway:{digest} , other:{}", "0".repeat(64))).unwrap();
        assert_eq!(clients.authenticate("gateway", "gateway secret"), Some("gateway"));
        assert_eq!(clients.authenticate("gateway", "wrong"), None);
        assert_eq!(clients.authenticate("other", "gateway secret"), None, "another client's secret");
        assert_eq!(clients.authenticate("nobody", "gateway secret"), None);
        let json = IntrospectionClients::from_json(&format!(r#"{{"gateway": "{digest}"}}"#)).unwrap();
        assert_eq!(json.authenticate("gateway", "gateway secret"), Some("gateway"));
        assert!(IntrospectionClients::parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_lists_are_refused_without_echoing_digests() {
        for bad in ["gateway", "gateway:abc", &format!("a:{0},a:{0}", "1".repeat(64)), &format!(":{}", "1".repeat(64))]
        {
            assert!(IntrospectionClients::parse(bad).is_err(), "{bad}");
        }
        assert!(IntrospectionClients::from_json("[1]").is_err());
    }
}
