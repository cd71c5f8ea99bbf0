use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// JSON logs on stdout, filtered by `RUST_LOG` (default `info`). Lambda forwards stdout to
/// CloudWatch; with the function's JSON log format each line stays one structured record.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout));
}

/// Each line names its target, so the admin audit trail (`"target":"audit"`) can be told apart
/// from operational logs, filtered (`RUST_LOG=audit=info`) and routed (a CloudWatch filter).
fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(true)
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn audit_lines_are_recognisable_in_the_json() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&written);
        let writer = move || Sink(Arc::clone(&sink));
        tracing::subscriber::with_default(json_subscriber(writer), || {
            tracing::info!(target: "audit", actor = "admin-id", action = "update_user", outcome = "ok");
            tracing::info!("logged in");
        });
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["target"], "audit");
        assert_eq!(lines[0]["fields"]["action"], "update_user");
        assert_ne!(lines[1]["target"], "audit");
    }

    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
