//! Command-line parsing and dispatch. Each command loads settings, wires what it
//! needs and nothing more: query commands open only the database.

mod commands;
mod csv;
mod graphql;
mod healthcheck;
mod once;
mod output;
mod plan;
mod yaml;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Settings;
use crate::control::ControlState;
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "rel04d",
    version,
    about = "Keeps the AWS Well-Architected REL 04 control true across workloads"
)]
pub struct Cli {
    /// An extra configuration file layered over the defaults (also REL04D_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The state database, overriding database.url.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: scheduled sweeps until SIGTERM/SIGINT.
    Run {
        /// One full sweep, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Current control states.
    Controls {
        #[arg(long, default_value = "")]
        filter: String,
        #[arg(long, value_enum, default_value_t = ListOutput::Table)]
        output: ListOutput,
    },
    /// State transitions, newest first.
    History {
        #[arg(long, default_value = "")]
        filter: String,
        #[arg(long, value_enum, default_value_t = ListOutput::Table)]
        output: ListOutput,
    },
    /// Evaluate one workload now (trigger `manual`).
    Evaluate {
        #[arg(long, value_name = "ID")]
        workload: String,
    },
    /// Why a control is in its state: each policy's value and source, what was
    /// passed over, the answer as last read and the verdict per best practice.
    Explain {
        #[arg(long, value_name = "ID")]
        workload: String,
        #[command(flatten)]
        question: QuestionArgs,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Mute a control: still evaluated and recorded, but not announced.
    Mute {
        #[arg(long, value_name = "ID")]
        workload: String,
        #[command(flatten)]
        question: QuestionArgs,
        /// Until this time: RFC 3339 (2027-01-01T00:00:00Z) or a duration from now (8h).
        #[arg(long, conflicts_with = "until_state")]
        until: Option<String>,
        /// Until the control reaches this state.
        #[arg(long, value_enum)]
        until_state: Option<MuteUntilState>,
        #[arg(long)]
        reason: String,
        /// Who mutes (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// End a control's mute.
    Unmute {
        #[arg(long, value_name = "ID")]
        workload: String,
        #[command(flatten)]
        question: QuestionArgs,
        #[arg(long, default_value = "unmuted by hand")]
        reason: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// What Enforce would write to each workload's answer now (read live from
    /// the Tool), per workload: choices to select and unselect. Writes nothing.
    Enforce {
        /// List the plan (required: Enforce itself runs in the daemon, as the
        /// policies say).
        #[arg(long, required = true)]
        plan: bool,
        /// Which controls, in the `controls` filter grammar.
        #[arg(long, default_value = "")]
        filter: String,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Run a GraphQL query against the state database (no daemon needed), or
    /// list controls or notifications the way `turbot graphql` does.
    Graphql(graphql::GraphqlArgs),
    /// Validate the configuration and print it resolved, secrets redacted.
    CheckConfig,
    /// Apply database migrations.
    Migrate,
    /// Probe the running daemon's /healthz (or /readyz) on http.listen; exit 0 on
    /// HTTP 200 (for container health checks).
    Healthcheck {
        /// Probe /readyz instead of /healthz.
        #[arg(long)]
        ready: bool,
        #[arg(long, value_parser = crate::config::parse_duration, default_value = "3s")]
        timeout: Duration,
    },
    /// The daemon against the built-in simulator and a local SQLite file.
    Demo(crate::demo::DemoArgs),
    /// Serve the Well-Architected Tool simulator alone (benchmarks, experiments).
    Simulator(crate::demo::SimulatorArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum MuteUntilState {
    Ok,
    Alarm,
    Skipped,
    Invalid,
    Error,
}

impl From<MuteUntilState> for ControlState {
    fn from(state: MuteUntilState) -> ControlState {
        match state {
            MuteUntilState::Ok => ControlState::Ok,
            MuteUntilState::Alarm => ControlState::Alarm,
            MuteUntilState::Skipped => ControlState::Skipped,
            MuteUntilState::Invalid => ControlState::Invalid,
            MuteUntilState::Error => ControlState::Error,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

/// The formats of the list commands (`controls`, `history`): also CSV, every
/// row, for spreadsheets, and OCSF Compliance Findings as JSON lines.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ListOutput {
    Table,
    Json,
    Csv,
    Ocsf,
}

/// Loads settings with the command-line overrides applied.
fn settings(config: Option<&Path>, database_url: Option<String>) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(config)?;
    if let Some(url) = database_url {
        settings.override_database_url(url)?;
    }
    Ok(settings)
}

/// The process: parse the command line, run it on a multi-threaded runtime, and
/// turn the result into an exit code.
///
/// This lives in the library, not in `main.rs`, for build time: with Cargo's
/// release settings generic code is not shared between crates, so a binary that
/// polls `run`'s future itself compiles every future under it again (about 40 s
/// of a cold build on 2 cores). Polled here, it is compiled once.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run { .. } | Command::Simulator(_)) {
        quiet_on_closed_pipe();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Errors echo names and values others chose (a workload id, a filter).
            eprintln!(
                "error: {}",
                crate::display::Terminal(crate::display::chain(&error))
            );
            std::process::ExitCode::FAILURE
        }
    }
}

/// `rel04d controls | head`: once the reader has gone, the command ends quietly,
/// as Unix tools do, instead of failing on its next write (Rust ignores SIGPIPE,
/// so every write would fail with "Broken pipe" or panic in `println!`).
/// Not for the daemon and the simulator, which must outlive a closed log reader;
/// network writes never raise SIGPIPE (sockets are written with MSG_NOSIGNAL).
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal, before any thread
    // that could be writing exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs the parsed command; the caller prints the error and sets the exit code.
/// Every command is one function in [`commands`].
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        config,
        database_url,
        command,
    } = cli;
    let load = || settings(config.as_deref(), database_url.clone());
    // The daemon logs at its configured level; one-shot commands log warnings
    // only, to stderr, beside their output.
    let daemon = || -> anyhow::Result<Settings> {
        let settings = load()?;
        telemetry::init(settings.log.format, &settings.log.level, false);
        Ok(settings)
    };
    let one_shot = || -> anyhow::Result<Settings> {
        let settings = load()?;
        telemetry::init(settings.log.format, "warn", true);
        Ok(settings)
    };
    match command {
        Command::Demo(args) => crate::demo::run(args, database_url).await,
        Command::Simulator(args) => crate::demo::serve_simulator(args).await,
        Command::Healthcheck { ready, timeout } => {
            commands::healthcheck(&load()?, ready, timeout).await
        }
        Command::Run { once: false } => commands::run_daemon(daemon()?).await,
        Command::Run { once: true } => commands::run_once(daemon()?).await,
        Command::Controls { filter, output } => {
            commands::controls(&one_shot()?, &filter, output).await
        }
        Command::History { filter, output } => {
            commands::history(&one_shot()?, &filter, output).await
        }
        Command::Evaluate { workload } => commands::evaluate(one_shot()?, &workload).await,
        Command::Explain {
            workload,
            question,
            output,
        } => {
            let which = question.of(workload);
            commands::explain(&one_shot()?, &which, output).await
        }
        Command::Mute {
            workload,
            question,
            until,
            until_state,
            reason,
            by,
        } => {
            let request = commands::MuteRequest {
                until,
                until_state,
                reason,
                by,
            };
            commands::mute(&one_shot()?, &question.of(workload), request).await
        }
        Command::Unmute {
            workload,
            question,
            reason,
            by,
        } => commands::unmute(&one_shot()?, &question.of(workload), &reason, by).await,
        Command::Graphql(args) => graphql::run(&one_shot()?, args).await,
        Command::Enforce {
            plan: _,
            filter,
            output,
        } => plan::enforce_plan(one_shot()?, &filter, output).await,
        Command::CheckConfig => commands::check_config(&one_shot()?),
        Command::Migrate => commands::migrate(&one_shot()?).await,
    }
}

/// Which question's control of a workload a command means (default: REL 04).
#[derive(Clone, Debug, clap::Args)]
pub struct QuestionArgs {
    /// The control's lens: an alias or a lens ARN (default: wellarchitected).
    #[arg(long, value_name = "LENS")]
    lens: Option<String>,
    /// The control's question id (default: REL 04's, prevent-interaction-failure).
    #[arg(long, value_name = "ID")]
    question: Option<String>,
}

impl QuestionArgs {
    fn of(self, workload: String) -> commands::Which {
        use crate::control::policy::{LENS_ALIAS, QUESTION_ID};
        commands::Which {
            workload,
            lens: self.lens.unwrap_or_else(|| LENS_ALIAS.to_owned()),
            question: self.question.unwrap_or_else(|| QUESTION_ID.to_owned()),
        }
    }
}
