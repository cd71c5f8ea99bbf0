//! Operational metrics as CloudWatch embedded metric format (EMF) lines: one JSON line on stdout
//! per event, which CloudWatch Logs turns into a metric as it ingests the log — no API call on the
//! hot path. The template's alarms and dashboard read them (namespace [`NAMESPACE`], dimension
//! `Service` = the stack's name). On in Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) unless
//! `METRICS=off`; elsewhere (local API, tests) only with `METRICS=emf`.

use std::io::Write as _;
use std::sync::OnceLock;

use serde_json::json;

pub const NAMESPACE: &str = "JwtAuth";

/// Every metric the code emits; each is a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A password login that started a session (or asked for the second step).
    LoginSucceeded,
    /// A password login refused for its credentials (unknown address or wrong password).
    LoginFailed,
    /// A login refused by the throttle (`429`), before any password check.
    LoginThrottled,
    /// A spent refresh token presented again: the session was revoked.
    TokenReuseDetected,
    /// Any answer of status 500 or more.
    ServerError,
    /// A `503 unavailable`: DynamoDB or another dependency down or throttling.
    Unavailable,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::LoginSucceeded,
        Metric::LoginFailed,
        Metric::LoginThrottled,
        Metric::TokenReuseDetected,
        Metric::ServerError,
        Metric::Unavailable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::LoginSucceeded => "LoginSucceeded",
            Metric::LoginFailed => "LoginFailed",
            Metric::LoginThrottled => "LoginThrottled",
            Metric::TokenReuseDetected => "TokenReuseDetected",
            Metric::ServerError => "ServerError",
            Metric::Unavailable => "Unavailable",
        }
    }
}

/// Counts one `metric`, if metrics are on.
pub fn count(metric: Metric) {
    if let Some(service) = service() {
        let line = emf_line(metric, service, crate::time::UnixTime::now().millis());
        // One write of one line: Lambda's log capture keeps it whole beside the JSON logs.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// The `Service` dimension when metrics are on: `METRICS_SERVICE` (the template sets the stack's
/// name), else `jwt-auth`.
fn service() -> Option<&'static str> {
    static SERVICE: OnceLock<Option<String>> = OnceLock::new();
    SERVICE
        .get_or_init(|| {
            let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
            let on = match std::env::var("METRICS").as_deref() {
                Ok("emf") => true,
                Ok("off") => false,
                _ => in_lambda,
            };
            on.then(|| std::env::var("METRICS_SERVICE").unwrap_or_else(|_| "jwt-auth".to_owned()))
        })
        .as_deref()
}

/// The EMF document for one count of `metric` (the specification's required members only).
pub fn emf_line(metric: Metric, service: &str, timestamp_ms: u64) -> String {
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": [{ "Name": metric.name(), "Unit": "Count" }],
            }],
        },
        "Service": service,
    });
    line[metric.name()] = json!(1);
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_its_metric_dimension_and_value() {
        for metric in Metric::ALL {
            let line: serde_json::Value =
                serde_json::from_str(&emf_line(metric, "stack-a", 1_700_000_000_123)).unwrap();
            let directive = &line["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_123u64);
            assert_eq!(directive["Namespace"], NAMESPACE);
            assert_eq!(directive["Dimensions"], json!([["Service"]]));
            assert_eq!(directive["Metrics"], json!([{ "Name": metric.name(), "Unit": "Count" }]));
            assert_eq!(line["Service"], "stack-a");
            assert_eq!(line[metric.name()], 1, "the value sits at the top level, under the metric's name");
        }
        let names: std::collections::BTreeSet<_> = Metric::ALL.iter().map(|metric| metric.name()).collect();
        assert_eq!(names.len(), Metric::ALL.len(), "names are distinct");
    }
}
