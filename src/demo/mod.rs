//! `rel04d demo`: the real daemon, through the real SDK, against the Well-Architected
//! Tool simulator and a local SQLite file — no AWS account needed. A background task
//! changes answers every few seconds so transitions happen while you watch.
//!
//! Also `rel04d simulator`, which serves the simulator alone (as the
//! `rel04d-simulator` binary does).
//!
//! Both need the `simulator` cargo feature (on by default). Without it, the
//! subcommands still parse, so that `rel04d demo` says what is missing instead of
//! "unrecognized subcommand".

use std::time::Duration;

#[cfg(feature = "simulator")]
mod live;
#[cfg(feature = "simulator")]
mod questions;

#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// Stop after this long (e.g. 60s); default: run until Ctrl-C.
    #[arg(long, value_parser = crate::config::parse_duration)]
    pub duration: Option<Duration>,
    /// How many simulated workloads.
    #[arg(long, default_value_t = 25)]
    pub workloads: usize,
    /// Time between sweeps.
    #[arg(long, value_parser = crate::config::parse_duration, default_value = "10s")]
    pub interval: Duration,
    /// Time between simulated answer changes.
    #[arg(long, value_parser = crate::config::parse_duration, default_value = "3s")]
    pub change_every: Duration,
    /// Seed of the simulated fleet.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// The flags of `rel04d simulator`: the simulator crate's own.
#[cfg(feature = "simulator")]
pub use rel04d_simulator::cli::ServeArgs as SimulatorArgs;

/// Without the simulator, `rel04d simulator` takes any arguments and refuses them all.
#[cfg(not(feature = "simulator"))]
#[derive(Clone, Debug, clap::Args)]
pub struct SimulatorArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    ignored: Vec<String>,
}

/// Runs the demo until `--duration` ends or Ctrl-C.
pub async fn run(args: DemoArgs, database_url: Option<String>) -> anyhow::Result<()> {
    #[cfg(feature = "simulator")]
    return live::run(args, database_url).await;
    #[cfg(not(feature = "simulator"))]
    {
        let _ = (args, database_url);
        Err(not_in_this_build("demo"))
    }
}

/// Serves the simulator until SIGTERM or Ctrl-C.
pub async fn serve_simulator(args: SimulatorArgs) -> anyhow::Result<()> {
    #[cfg(feature = "simulator")]
    return rel04d_simulator::cli::serve(args).await;
    #[cfg(not(feature = "simulator"))]
    {
        let _ = args;
        Err(not_in_this_build("simulator"))
    }
}

#[cfg(not(feature = "simulator"))]
fn not_in_this_build(command: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "`rel04d {command}` is not in this build: it was built without the `simulator` \
         feature (use the `rel04d-simulator` binary, or build rel04d with default features)"
    )
}
