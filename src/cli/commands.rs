//! One function per command: each loads only what it needs (query commands open
//! only the database; `run` and `evaluate` build the daemon).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::once::OnceSummary;
use super::{ListOutput, MuteUntilState, Output, csv, healthcheck, output};
use crate::config::Settings;
use crate::control::ControlState;
use crate::display::Terminal;
use crate::filter::Filter;
use crate::startup::Daemon;
use crate::store::{MuteError, MuteWords, Store};

/// Opens the state database for an edit (`mute`, `unmute`, GraphQL mutations):
/// its schema must be current, but only `run`, `migrate` and `evaluate` change
/// it (a newer CLI must not migrate a database under an older daemon, nor need a
/// role that may).
pub(super) async fn open_for_edit(settings: &Settings) -> anyhow::Result<Store> {
    let store =
        Store::connect_existing(settings.database_url(), settings.database.max_connections).await?;
    store.check_schema().await?;
    Ok(store)
}

/// Opens the state database for a command that only reads: read-only, never
/// created, never migrated; a missing or older schema is an error naming the
/// command that migrates it.
pub(super) async fn open_read_only(settings: &Settings) -> anyhow::Result<Store> {
    let store =
        Store::connect_read_only(settings.database_url(), settings.database.max_connections)
            .await?;
    store.check_schema().await?;
    Ok(store)
}

/// `rel04d run`: the daemon, until SIGTERM or SIGINT (re-planned in place when
/// the organisation's accounts change; see [`Daemon::run`]).
pub async fn run_daemon(settings: Settings) -> anyhow::Result<()> {
    Daemon::run(settings, crate::shutdown::stop_signal()).await
}

/// `rel04d run --once`: one sweep of every scope, a summary line, and a failure
/// when anything was not recorded.
pub async fn run_once(settings: Settings) -> anyhow::Result<()> {
    let daemon = Daemon::build(settings, None).await?;
    let reports = daemon.run_once().await;
    let summary = OnceSummary::of(&reports);
    eprintln!("{summary}");
    summary.into_result()
}

/// `rel04d healthcheck`: probes the running daemon on `http.listen`.
pub async fn healthcheck(
    settings: &Settings,
    ready: bool,
    timeout: Duration,
) -> anyhow::Result<()> {
    let path = if ready { "/readyz" } else { "/healthz" };
    let address = healthcheck::probe_address(settings.http.listen);
    healthcheck::probe(address, path, timeout)
        .await
        .map_err(|e| anyhow::anyhow!("healthcheck: {e}"))
}

pub async fn controls(settings: &Settings, filter: &str, format: ListOutput) -> anyhow::Result<()> {
    let filter = Filter::parse(filter)?;
    let rows = open_read_only(settings)
        .await?
        .list_controls(&filter)
        .await?;
    let policies = settings.policy_set()?;
    match format {
        ListOutput::Csv => csv::controls(&rows),
        ListOutput::Ocsf => {
            ocsf_lines(rows.iter().map(|row| {
                crate::ocsf::control(row, settings.securityhub.failed_severity, &policies)
            }))
        }
        ListOutput::Json => output::controls(&rows, Output::Json),
        ListOutput::Table => output::controls(&rows, Output::Table),
    }
}

pub async fn history(settings: &Settings, filter: &str, format: ListOutput) -> anyhow::Result<()> {
    let filter = Filter::parse(filter)?;
    let rows = open_read_only(settings)
        .await?
        .list_transitions(&filter)
        .await?;
    match format {
        ListOutput::Csv => csv::transitions(&rows),
        ListOutput::Ocsf => ocsf_lines(
            rows.iter()
                .map(|row| crate::ocsf::transition(row, settings.securityhub.failed_severity)),
        ),
        ListOutput::Json => output::transitions(&rows, Output::Json),
        ListOutput::Table => output::transitions(&rows, Output::Table),
    }
}

/// `--output ocsf`: one OCSF Compliance Finding per line on stdout.
fn ocsf_lines(events: impl Iterator<Item = serde_json::Value>) -> anyhow::Result<()> {
    crate::ocsf::write_lines(&mut std::io::stdout().lock(), events)?;
    Ok(())
}

/// `rel04d evaluate`: one workload now, announced like any other evaluation.
pub async fn evaluate(settings: Settings, workload: &str) -> anyhow::Result<()> {
    let daemon = Daemon::build(settings, None).await?;
    let result = daemon.evaluate(workload).await?;
    daemon.drain_outbox().await;
    let mut controls = daemon.store.controls_of_workload_id(workload).await?;
    controls.retain(|c| !c.is_removed());
    controls.sort_by_key(|c| (!c.key().is_rel04(), c.lens.clone(), c.question_id.clone()));
    output::evaluated(workload, &result, &controls)
}

/// A workload's control of one question (`--workload`, `--lens`, `--question`).
pub struct Which {
    pub workload: String,
    pub lens: String,
    pub question: String,
}

pub async fn explain(settings: &Settings, which: &Which, output: Output) -> anyhow::Result<()> {
    let store = open_read_only(settings).await?;
    let control = known_control(&store, which).await?;
    let definition = settings
        .controls()?
        .definition_of(&control.lens, &control.question_id);
    let explanation =
        crate::explain::explain(&definition, &control, &settings.policy_set()?, Utc::now());
    let history = store.mute_history_of(&control.key()).await?;
    output::explanation(&explanation, &history, output)
}

/// What `rel04d mute` was asked.
pub struct MuteRequest {
    pub until: Option<String>,
    pub until_state: Option<MuteUntilState>,
    pub reason: String,
    pub by: Option<String>,
}

pub async fn mute(settings: &Settings, which: &Which, request: MuteRequest) -> anyhow::Result<()> {
    let store = open_for_edit(settings).await?;
    let control = known_control(&store, which).await?;
    let workload = &which.workload;
    let until = request.until.as_deref().map(parse_until).transpose()?;
    let actor = actor(request.by);
    let reason = &request.reason;
    store
        .mute(
            &control,
            until,
            request.until_state.map(Into::into),
            &actor,
            reason,
            Utc::now(),
        )
        .await
        .map_err(in_cli_words)?;
    let ends = match (until, request.until_state) {
        (Some(at), _) => format!("until {}", at.to_rfc3339()),
        (None, Some(state)) => format!("until it is {}", ControlState::from(state)),
        (None, None) => "until unmuted".to_owned(),
    };
    println!(
        "{}: muted {ends} by {}: {}",
        Terminal(workload),
        Terminal(&actor),
        Terminal(reason)
    );
    Ok(())
}

/// A refused mute or unmute, in the CLI's flags.
fn in_cli_words(error: anyhow::Error) -> anyhow::Error {
    match error.downcast_ref::<MuteError>() {
        Some(mute) => anyhow::anyhow!(mute.in_words(MuteWords::CLI)),
        None => error,
    }
}

pub async fn unmute(
    settings: &Settings,
    which: &Which,
    reason: &str,
    by: Option<String>,
) -> anyhow::Result<()> {
    let store = open_for_edit(settings).await?;
    let control = known_control(&store, which).await?;
    let workload = &which.workload;
    let actor = actor(by);
    store
        .unmute(&control, &actor, reason, Utc::now())
        .await
        .map_err(in_cli_words)?;
    println!(
        "{}: unmuted by {}: {}",
        Terminal(workload),
        Terminal(&actor),
        Terminal(reason)
    );
    Ok(())
}

pub fn check_config(settings: &Settings) -> anyhow::Result<()> {
    for warning in settings.policy_set()?.enforce_warnings() {
        eprintln!("warning: {warning}");
    }
    println!("{}", serde_json::to_string_pretty(&settings.redacted())?);
    eprintln!("configuration is valid");
    Ok(())
}

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = Store::connect(settings.database_url(), settings.database.max_connections).await?;
    store.migrate().await?;
    // Closing checkpoints SQLite's write-ahead log into the file.
    store.close().await;
    eprintln!(
        "migrations applied to {}",
        crate::store::redact_url(settings.database_url())
    );
    Ok(())
}

/// The control of a workload, or an error saying there is none.
async fn known_control(store: &Store, which: &Which) -> anyhow::Result<crate::store::ControlRow> {
    let workload_id = &which.workload;
    if crate::store::is_rel04(&which.lens, &which.question) {
        return store
            .control_by_workload_id(workload_id)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("no control for workload {workload_id} in the state database")
            });
    }
    let controls = store.controls_of_workload_id(workload_id).await?;
    controls
        .into_iter()
        .find(|c| c.lens == which.lens && c.question_id == which.question)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no control for workload {workload_id}, lens {}, question {} in the state database",
                crate::display::Terminal(&which.lens),
                crate::display::Terminal(&which.question)
            )
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
