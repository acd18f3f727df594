//! The simulator as a program: `rel04d-simulator` and `rel04d simulator` share these
//! flags and this loop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::{Faults, Simulator};

/// How to serve the simulator: its fleet, its address and the faults it injects.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:9405")]
    pub listen: SocketAddr,
    /// Generate this many workloads (ignored with --seed-file).
    #[arg(long, default_value_t = 1000)]
    pub workloads: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Load workloads from a JSON seed file instead.
    #[arg(long)]
    pub seed_file: Option<PathBuf>,
    /// Serve this lens (JSON, a custom lens's shape with the alias
    /// `wellarchitected`) as the Framework instead of the built-in excerpt; it must
    /// carry REL 04 as the excerpt does (the 57-question benchmark's lens).
    #[arg(long)]
    pub framework_file: Option<PathBuf>,
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Latency added to every API call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Hard rate limit in requests per second (429 beyond it).
    #[arg(long)]
    pub rate_limit: Option<f64>,
    /// Probability of a 429 ThrottlingException per call.
    #[arg(long, default_value_t = 0.0)]
    pub throttle: f64,
    /// Probability of a 500 InternalServerException per call.
    #[arg(long, default_value_t = 0.0)]
    pub errors: f64,
}

/// Serves the simulator until SIGTERM or Ctrl-C.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let sim = match &args.seed_file {
        Some(path) => Simulator::from_seed_file(path)?,
        None => Simulator::generated(&args.region, args.workloads, args.seed),
    };
    if let Some(path) = &args.framework_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading framework file {}", path.display()))?;
        let lens = serde_json::from_str(&text)
            .with_context(|| format!("parsing framework file {}", path.display()))?;
        sim.replace_framework(lens)
            .with_context(|| format!("framework file {}", path.display()))?;
    }
    sim.set_faults(Faults {
        latency: Duration::from_millis(args.latency_ms),
        rate_limit_per_second: args.rate_limit,
        throttle_probability: args.throttle,
        error_probability: args.errors,
        ..Faults::default()
    });
    let server = sim.serve(args.listen).await?;
    println!(
        "simulator serving {} workloads at {}",
        sim.workloads().len(),
        server.url()
    );
    println!(
        "point the SDK at it: AWS_ENDPOINT_URL_WELLARCHITECTED={}",
        server.url()
    );
    stop_signal().await;
    server.shutdown().await;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
