//! Whether a password appears in a known breach, through the Have I Been Pwned range API with
//! k-anonymity (haveibeenpwned.com/API/v3#SearchingPwnedPasswordsByRange): only the first five
//! hex characters of the password's SHA-1 leave the function; the answer lists every known
//! suffix under that prefix (`SUFFIX:COUNT` lines), padded with `:0` decoys (`Add-Padding: true`)
//! so that its size says nothing either. `PASSWORD_BREACH_API` points at a mirror (or, in tests,
//! a stand-in that serves the same format).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::Password;
use crate::federation::http::HttpClient;

#[async_trait]
pub trait RangeApi: Send + Sync {
    /// The body of `GET {base}/range/{prefix}`.
    async fn range(&self, prefix: &str) -> Result<String, String>;
}

#[derive(Clone)]
pub struct BreachCheck {
    api: Arc<dyn RangeApi>,
}

impl BreachCheck {
    pub fn new(api: impl RangeApi + 'static) -> Self {
        Self { api: Arc::new(api) }
    }

    /// A check over an API the caller keeps a handle on (tests count its calls).
    pub fn shared(api: Arc<dyn RangeApi>) -> Self {
        Self { api }
    }

    pub fn over_http(base: &str, timeout: Duration) -> Result<Self, String> {
        Ok(Self::new(HttpRange { client: HttpClient::new()?, base: base.trim_end_matches('/').to_owned(), timeout }))
    }

    /// Whether the password is in a known breach (any count above zero).
    pub async fn appears(&self, password: &Password) -> Result<bool, String> {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, password.expose().as_bytes());
        let hex: String = digest.as_ref().iter().map(|byte| format!("{byte:02X}")).collect();
        let (prefix, suffix) = hex.split_at(5);
        let body = self.api.range(prefix).await?;
        Ok(listed(&body, suffix))
    }
}

/// Whether `suffix` is in the range answer with a count above zero (a padding entry has 0).
fn listed(body: &str, suffix: &str) -> bool {
    body.lines().filter_map(|line| line.trim().split_once(':')).any(|(candidate, count)| {
        candidate.eq_ignore_ascii_case(suffix) && count.trim().parse::<u64>().is_ok_and(|count| count > 0)
    })
}

struct HttpRange {
    client: HttpClient,
    base: String,
    timeout: Duration,
}

#[async_trait]
impl RangeApi for HttpRange {
    async fn range(&self, prefix: &str) -> Result<String, String> {
        let url = format!("{}/range/{prefix}", self.base);
        let (status, body) = self
            .client
            .get_text(&url, &[("add-padding", "true")], self.timeout)
            .await
            .map_err(|error| error.to_string())?;
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        String::from_utf8(body.to_vec()).map_err(|_| format!("{url} answered no text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves one range as the API would, padded, and records the prefixes asked for.
    struct OneRange(std::sync::Mutex<Vec<String>>);

    #[async_trait]
    impl RangeApi for OneRange {
        async fn range(&self, prefix: &str) -> Result<String, String> {
            self.0.lock().unwrap().push(prefix.to_owned());
            // SHA-1("password") = 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8, seen 10,434,004 times
            // when this was written (the count itself does not matter).
            Ok("003D68EB55068C33ACE09247EE4C639306B:3\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\r\n\
                1E4C9B93F3F0682250B6CF8331B7EE68FD9:0\r\nFFFFF9B93F3F0682250B6CF8331B7EE68FD8:2"
                .into())
        }
    }

    #[tokio::test]
    async fn only_the_prefix_leaves_and_a_listed_suffix_is_a_breach() {
        let api = Arc::new(OneRange(std::sync::Mutex::default()));
        let check = BreachCheck { api: api.clone() };
        let password = |raw: &str| Password::parse_presented(raw.into()).unwrap();
        assert!(check.appears(&password("password")).await.unwrap());
        assert!(!check.appears(&password("not in the range at all")).await.unwrap());
        assert_eq!(api.0.lock().unwrap()[0], "5BAA6", "five hex characters, nothing else");
    }

    /// An HTTP server on this machine that answers one request with `status` and `body`, and
    /// hands back the request's head.
    async fn answering_once(status: &'static str, body: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = vec![0u8; 4096];
            let read = stream.read(&mut head).await.unwrap();
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            stream.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&head[..read]).to_lowercase()
        });
        (base, served)
    }

    #[tokio::test]
    async fn the_range_is_asked_for_with_padding_and_only_a_success_counts() {
        let (base, served) = answering_once("200 OK", "1E4C9B93F3F0682250B6CF8331B7EE68FD8:3").await;
        let range = HttpRange { client: HttpClient::new().unwrap(), base, timeout: Duration::from_secs(2) };
        assert_eq!(range.range("5BAA6").await.unwrap(), "1E4C9B93F3F0682250B6CF8331B7EE68FD8:3");
        let head = served.await.unwrap();
        assert!(head.starts_with("get /range/5baa6 http/1.1"), "{head}");
        assert!(head.contains("add-padding: true"), "{head}");
        let (base, _) = answering_once("503 Service Unavailable", "1E4C9B93F3F0682250B6CF8331B7EE68FD8:3").await;
        let range = HttpRange { client: HttpClient::new().unwrap(), base, timeout: Duration::from_secs(2) };
        assert!(range.range("5BAA6").await.unwrap_err().contains("503"), "an error page is no answer");
    }

    #[test]
    fn padding_entries_and_near_misses_are_not_breaches() {
        let body = "1E4C9B93F3F0682250B6CF8331B7EE68FD8:7\r\nAAAA:0\r\n";
        assert!(listed(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
        assert!(listed(body, "1e4c9b93f3f0682250b6cf8331b7ee68fd8"), "case does not matter");
        assert!(!listed(body, "AAAA"), "a padding entry (count 0)");
        assert!(!listed(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD"), "a prefix of a listed suffix");
        assert!(!listed("garbage", "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
    }
}
