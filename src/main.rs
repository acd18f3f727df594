use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = rel04d::cli::Cli::parse();
    match rel04d::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
