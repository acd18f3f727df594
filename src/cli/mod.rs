//! Command-line parsing and dispatch. Each command loads settings, wires what it
//! needs and nothing more: query commands open only the database.

mod healthcheck;
mod output;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::control::ControlState;
use crate::filter::Filter;
use crate::startup::Daemon;
use crate::store::Store;
use crate::sweep::SweepReport;
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
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// State transitions, newest first.
    History {
        #[arg(long, default_value = "")]
        filter: String,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
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
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Mute a control: still evaluated and recorded, but not announced.
    Mute {
        #[arg(long, value_name = "ID")]
        workload: String,
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
        #[arg(long, default_value = "unmuted by hand")]
        reason: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Run a GraphQL query against the state database (no daemon needed).
    Graphql {
        query: String,
        /// Variables as a JSON object.
        #[arg(long)]
        variables: Option<String>,
    },
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

/// Loads settings with the command-line overrides applied.
fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        settings.database.url = url.clone().into();
    }
    Ok(settings)
}

/// Opens the state database for a query or an edit: its schema must be current,
/// but only `run`, `migrate` and `evaluate` change it (a newer CLI must not
/// migrate a database under an older daemon, nor need a role that may).
async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store =
        Store::connect_existing(settings.database_url(), settings.database.max_connections).await?;
    store.check_schema().await?;
    Ok(store)
}

/// Runs the parsed command; the caller prints the error and sets the exit code.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Demo(args) => {
            return crate::demo::run(args.clone(), cli.database_url.clone()).await;
        }
        Command::Simulator(args) => return crate::demo::serve_simulator(args.clone()).await,
        _ => {}
    }
    let settings = settings(&cli)?;
    if let Command::Healthcheck { ready, timeout } = &cli.command {
        let path = if *ready { "/readyz" } else { "/healthz" };
        let address = healthcheck::probe_address(settings.http.listen);
        return healthcheck::probe(address, path, *timeout)
            .await
            .map_err(|e| anyhow::anyhow!("healthcheck: {e}"));
    }
    let is_daemon = matches!(cli.command, Command::Run { .. });
    let level = if is_daemon {
        settings.log.level.as_str()
    } else {
        "warn"
    };
    telemetry::init(settings.log.format, level, !is_daemon);
    match cli.command {
        Command::Run { once: false } => {
            let daemon = Daemon::build(settings, None).await?;
            daemon.run(crate::shutdown::stop_signal()).await
        }
        Command::Run { once: true } => {
            let daemon = Daemon::build(settings, None).await?;
            let reports = daemon.run_once().await;
            let summary = OnceSummary::of(&reports);
            eprintln!("{summary}");
            summary.into_result()
        }
        Command::Controls { filter, output } => {
            let filter = Filter::parse(&filter)?;
            let rows = open_store(&settings).await?.list_controls(&filter).await?;
            output::controls(&rows, output)
        }
        Command::History { filter, output } => {
            let filter = Filter::parse(&filter)?;
            let rows = open_store(&settings)
                .await?
                .list_transitions(&filter)
                .await?;
            output::transitions(&rows, output)
        }
        Command::Evaluate { workload } => {
            let daemon = Daemon::build(settings, None).await?;
            let result = daemon.evaluate(&workload).await?;
            daemon.drain_outbox().await;
            let control = daemon.store.control_by_workload_id(&workload).await?;
            output::evaluated(&workload, &result, control.as_ref())
        }
        Command::Explain { workload, output } => {
            let store = open_store(&settings).await?;
            let control = known_control(&store, &workload).await?;
            let explanation =
                crate::explain::explain(&control, &settings.policies.to_policy_set()?, Utc::now());
            let history = store.mute_history(&control.workload_arn).await?;
            output::explanation(&explanation, &history, output)
        }
        Command::Mute {
            workload,
            until,
            until_state,
            reason,
            by,
        } => {
            let store = open_store(&settings).await?;
            let control = known_control(&store, &workload).await?;
            let until = until.as_deref().map(parse_until).transpose()?;
            let actor = actor(by);
            store
                .mute(
                    &control,
                    until,
                    until_state.map(Into::into),
                    &actor,
                    &reason,
                    Utc::now(),
                )
                .await?;
            let ends = match (until, until_state) {
                (Some(at), _) => format!("until {}", at.to_rfc3339()),
                (None, Some(state)) => format!("until it is {}", ControlState::from(state)),
                (None, None) => "until unmuted".to_owned(),
            };
            println!("{workload}: muted {ends} by {actor}: {reason}");
            Ok(())
        }
        Command::Unmute {
            workload,
            reason,
            by,
        } => {
            let store = open_store(&settings).await?;
            let control = known_control(&store, &workload).await?;
            anyhow::ensure!(control.mute.is_some(), "{workload} is not muted");
            let actor = actor(by);
            store.unmute(&control, &actor, &reason, Utc::now()).await?;
            println!("{workload}: unmuted by {actor}: {reason}");
            Ok(())
        }
        Command::Graphql { query, variables } => {
            let store = open_store(&settings).await?;
            let schema = crate::graphql::schema(store, settings.policies.to_policy_set()?);
            let mut request = async_graphql::Request::new(query);
            if let Some(variables) = variables {
                let variables: serde_json::Value =
                    serde_json::from_str(&variables).context("--variables is not a JSON object")?;
                request = request.variables(async_graphql::Variables::from_json(variables));
            }
            let response = crate::graphql::execute(&schema, request).await;
            println!("{}", serde_json::to_string_pretty(&response)?);
            anyhow::ensure!(response.errors.is_empty(), "the query returned errors");
            Ok(())
        }
        Command::CheckConfig => {
            settings.policies.to_policy_set()?;
            println!("{}", serde_json::to_string_pretty(&settings.redacted())?);
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Migrate => {
            Store::connect(settings.database_url(), settings.database.max_connections)
                .await?
                .migrate()
                .await?;
            eprintln!(
                "migrations applied to {}",
                crate::store::redact_url(settings.database_url())
            );
            Ok(())
        }
        Command::Demo(_) | Command::Simulator(_) | Command::Healthcheck { .. } => {
            unreachable!("handled above")
        }
    }
}

/// The control of a workload, or an error saying there is none.
async fn known_control(
    store: &Store,
    workload_id: &str,
) -> anyhow::Result<crate::store::ControlRow> {
    store
        .control_by_workload_id(workload_id)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("no control for workload {workload_id} in the state database")
        })
}

/// `--until`: an RFC 3339 time, or a duration from now.
fn parse_until(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let duration = humantime::parse_duration(text).map_err(|_| {
        anyhow::anyhow!("--until {text:?} is neither an RFC 3339 time nor a duration like 8h")
    })?;
    Ok(Utc::now() + chrono::Duration::from_std(duration)?)
}

fn actor(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".to_owned())
}

/// What `run --once` did, over every scope: printed as one line, and a failure
/// (non-zero exit) when it did not record the whole fleet — a scope that could
/// not be listed, or an evaluation that could not be recorded.
#[derive(Debug, Default, PartialEq, Eq)]
struct OnceSummary {
    scopes: usize,
    listed: usize,
    evaluated: usize,
    removed: usize,
    failed: usize,
    listing_errors: Vec<String>,
}

impl OnceSummary {
    fn of(reports: &[SweepReport]) -> OnceSummary {
        let mut summary = OnceSummary {
            scopes: reports.len(),
            ..Default::default()
        };
        for report in reports {
            summary.listed += report.listed;
            summary.evaluated += report.evaluated;
            summary.removed += report.removed;
            summary.failed += report.failed;
            if let Some(error) = &report.listing_error {
                summary
                    .listing_errors
                    .push(format!("{}: {error}", report.scope));
            }
        }
        summary
    }

    fn into_result(self) -> anyhow::Result<()> {
        let unlisted = self.listing_errors.len();
        anyhow::ensure!(
            self.failed == 0 && unlisted == 0,
            "the sweep was incomplete: {} evaluation(s) not recorded, {unlisted} of {} scope(s) not listed{}",
            self.failed,
            self.scopes,
            if unlisted == 0 {
                String::new()
            } else {
                format!(" ({})", self.listing_errors.join("; "))
            }
        );
        Ok(())
    }
}

impl std::fmt::Display for OnceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run --once: {} scope(s) swept, {} workload(s) listed, {} evaluated, {} removed, {} failed to record, {} listing error(s)",
            self.scopes,
            self.listed,
            self.evaluated,
            self.removed,
            self.failed,
            self.listing_errors.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(scope: &str, evaluated: usize, failed: usize, listing: Option<&str>) -> SweepReport {
        SweepReport {
            scope: scope.to_owned(),
            listed: evaluated + failed,
            evaluated,
            failed,
            listing_error: listing.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_sweep_succeeds() {
        let summary = OnceSummary::of(&[report("a", 3, 0, None), report("b", 2, 0, None)]);
        assert_eq!(
            summary.to_string(),
            "run --once: 2 scope(s) swept, 5 workload(s) listed, 5 evaluated, 0 removed, 0 failed to record, 0 listing error(s)"
        );
        summary.into_result().unwrap();
    }

    #[test]
    fn unrecorded_evaluations_or_unlisted_scopes_fail() {
        let failed = OnceSummary::of(&[report("a", 6, 94, None)]).into_result();
        assert!(
            format!("{:#}", failed.unwrap_err()).contains("94 evaluation(s) not recorded"),
            "names the failures"
        );
        let unlisted = OnceSummary::of(&[
            report("a", 1, 0, None),
            report("b", 0, 0, Some("connection refused")),
        ]);
        let message = format!("{:#}", unlisted.into_result().unwrap_err());
        assert!(
            message.contains("1 of 2 scope(s) not listed (b: connection refused)"),
            "{message}"
        );
    }
}
