//! `rel04d-simulator`: the Well-Architected Tool simulator alone, for benchmarks and
//! experiments (the same as `rel04d simulator`).

use clap::Parser;
use rel04d_simulator::cli::ServeArgs;

/// Serve an in-memory AWS Well-Architected Tool on the service's REST-JSON wire format.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match rel04d_simulator::cli::serve(Cli::parse().serve).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
