//! The tracing subscriber, built once at start.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::config::LogFormat;

/// Installs the global subscriber: JSON lines on stdout (`timestamp`, `level`,
/// `target`, `message` and the event's fields at the top level, and the
/// innermost span under `span`, e.g. `"span":{"name":"reconcile","workload_id":…}`),
/// or human text.
/// `RUST_LOG`, when set, overrides `level` for debugging sessions. Commands whose
/// stdout is their output (queries, JSON) log to stderr instead.
pub fn init(format: LogFormat, level: &str, to_stderr: bool) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directive| EnvFilter::try_new(directive).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    let writer = BoxMakeWriter::new(move || -> Box<dyn std::io::Write> {
        if to_stderr {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        }
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // A second init (tests, demo restarts) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}
