use tracing_subscriber::EnvFilter;

/// JSON logs on stdout, filtered by `RUST_LOG` (default `info`). Lambda forwards stdout to
/// CloudWatch; with the function's JSON log format each line stays one structured record.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false).with_target(false).try_init();
}
