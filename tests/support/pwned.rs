//! A stand-in for the Have I Been Pwned range API (haveibeenpwned.com/API/v3, "Searching by
//! range"): `GET /range/{5 hex}` answers `SUFFIX:COUNT` lines (35 upper-case hex characters of
//! the SHA-1 after the prefix, CRLF-separated) for the passwords of a public list
//! (tests/fixtures/common-passwords.txt), and with `Add-Padding: true` adds decoy lines with a
//! count of 0, as the real API does. It records what each request sent, so tests can check that
//! only the prefix left.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// One request as received: the path and whether it asked for padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeRequest {
    pub path: String,
    pub padded: bool,
}

pub struct PwnedStandIn {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<RangeRequest>>>,
}

/// The list's passwords (every non-comment line).
pub fn listed_passwords() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/common-passwords.txt");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().filter(|line| !line.starts_with('#') && !line.is_empty()).map(str::to_owned).collect()
}

fn sha1_hex(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, text.as_bytes());
    digest.as_ref().iter().map(|byte| format!("{byte:02X}")).collect()
}

impl PwnedStandIn {
    pub async fn start() -> Self {
        let mut ranges: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (rank, password) in listed_passwords().iter().enumerate() {
            let hex = sha1_hex(password);
            ranges.entry(hex[..5].to_owned()).or_default().push(format!("{}:{}", &hex[5..], 1_000_000 / (rank + 1)));
        }
        let ranges = Arc::new(ranges);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let recorded = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (ranges, recorded) = (Arc::clone(&ranges), Arc::clone(&recorded));
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 8192];
                    let mut read = 0;
                    while !buffer[..read].windows(4).any(|window| window == b"\r\n\r\n") && read < buffer.len() {
                        match stream.read(&mut buffer[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(count) => read += count,
                        }
                    }
                    let head = String::from_utf8_lossy(&buffer[..read]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                    let padded =
                        head.lines().any(|line| line.to_ascii_lowercase().replace(' ', "") == "add-padding:true");
                    recorded.lock().unwrap().push(RangeRequest { path: path.clone(), padded });
                    let (status, body) = match path.strip_prefix("/range/") {
                        Some(prefix) if prefix.len() == 5 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) => {
                            let mut lines = ranges.get(&prefix.to_ascii_uppercase()).cloned().unwrap_or_default();
                            if padded {
                                lines.extend((0..800).map(|index| format!("{:035X}:0", index * 7919 + 13)));
                            }
                            ("200 OK", lines.join("\r\n"))
                        }
                        _ => ("400 Bad Request", "The hash prefix was not in a valid format".to_owned()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        Self { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<RangeRequest> {
        self.requests.lock().unwrap().clone()
    }
}
