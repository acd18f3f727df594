//! The demo itself: a simulated fleet, the daemon sweeping it, and a task that keeps
//! changing answers.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::seq::IndexedRandom;
use rel04d_simulator::Simulator;
use tokio::net::TcpListener;

use super::{DemoArgs, questions};
use crate::aws::{AwsSetup, Endpoints};
use crate::config::Settings;
use crate::display::Terminal;
use crate::shutdown::{CancellationToken, Supervisor};
use crate::startup::Daemon;
use crate::store::TransitionRow;

const REGION: &str = "us-east-1";
/// The status page's port when it is free (the daemon's default `http.listen`
/// port), so the address is the same every run; any free port otherwise.
const STATUS_PAGE_PORT: u16 = 9404;
const DEMO_DATABASE: &str = "rel04d-demo.db";

/// The demo's configuration file, written next to its database so that the
/// query commands (`explain` above all) see the same policies as the demo.
const DEMO_CONFIG: &str = "rel04d-demo.toml";

/// The demo's policies: a global requirement, an account override, name-glob
/// variations (skip, none of these), enforcement for one workload id, and tags;
/// and its controls: REL 04, REL 05 and a custom lens's two questions.
fn demo_config(interval: Duration, enforced: Option<&str>) -> String {
    let mut config = format!(
        r#"# Written by `rel04d demo`: the policies it ran with.
[schedule]
interval = "{interval}"
jitter = "0s"

[aws]
regions = ["{REGION}"]
max_requests_per_second = 50.0
max_concurrency = 4

[http]
listen = "127.0.0.1:0"

[log]
format = "text"
level = "warn"

[policies.global]
rel04 = "Check: Choices based on sub policies"
identify = "True"
loosely_coupled = "True"
idempotent = "True"
{more_policies}
[[policies.settings]]
scope = "account:444455556666"
constant_work = "True"

[[policies.settings]]
scope = "workload-name:*-reporting"
rel04 = "Skip"

[[policies.settings]]
scope = "workload-name:*-analytics"
rel04 = "Check: None of these"

[policies.tags]
enabled = true
prefix = "rel04d:"
"#,
        interval = humantime::format_duration(interval),
        more_policies = questions::GLOBAL_POLICIES,
    );
    config.push_str(&questions::controls_config());
    if let Some(id) = enforced {
        config.push_str(&format!(
            "\n[[policies.settings]]\nscope = \"workload:{id}\"\nrel04 = \"Enforce: Choices based on sub policies\"\n"
        ));
    }
    config
}

fn demo_settings(
    database_url: &str,
    interval: Duration,
    enforced: Option<&str>,
) -> anyhow::Result<Settings> {
    std::fs::write(DEMO_CONFIG, demo_config(interval, enforced))
        .with_context(|| format!("writing {DEMO_CONFIG}"))?;
    let env = [("REL04D__DATABASE__URL".to_owned(), database_url.to_owned())].into();
    Ok(Settings::load_with(
        Some(std::path::Path::new(DEMO_CONFIG)),
        Some(env),
    )?)
}

pub async fn run(args: DemoArgs, database_url: Option<String>) -> anyhow::Result<()> {
    let database_url = match database_url {
        Some(url) => url,
        None => {
            // The demo's own file starts fresh each run, so what you see is this run.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{DEMO_DATABASE}{suffix}"));
            }
            format!("sqlite://{DEMO_DATABASE}?mode=rwc")
        }
    };
    let sim = Simulator::generated(REGION, args.workloads, args.seed);
    questions::seed(&sim)?;
    let enforced = stage_special_cases(&sim);
    let settings = demo_settings(&database_url, args.interval, enforced.as_deref())?;
    crate::telemetry::init(settings.log.format, &settings.log.level, true);
    let server = sim.serve("127.0.0.1:0".parse()?).await?;
    let endpoints = Endpoints {
        wellarchitected: Some(server.url()),
        ..Endpoints::default()
    };
    let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
    let daemon = Daemon::build(settings, Some(setup)).await?;
    let listener = match TcpListener::bind(("127.0.0.1", STATUS_PAGE_PORT)).await {
        Ok(listener) => listener,
        Err(_) => TcpListener::bind(("127.0.0.1", 0)).await?,
    };

    println!(
        "rel04d demo: open the status page at http://{}/",
        listener.local_addr()?
    );
    println!(
        "{} simulated workloads (the Well-Architected Tool simulator at {})",
        args.workloads,
        server.url()
    );
    println!(
        "controls per workload: REL 04 and REL 05 of the Framework, and the two questions \
         of a custom lens ({})",
        questions::DATA_LENS
    );
    println!(
        "state database: {}, policies: {DEMO_CONFIG}",
        crate::store::redact_url(&database_url)
    );
    println!(
        "sweeping every {}; changing an answer every {}; Ctrl-C to stop\n",
        humantime::format_duration(args.interval),
        humantime::format_duration(args.change_every)
    );

    let names: BTreeMap<String, String> = sim
        .workloads()
        .into_iter()
        .map(|w| (w.id, w.name))
        .collect();
    // The demo's own tasks stop with the daemon, on the same kind of token.
    let demo_tasks = Supervisor::new();
    let token = demo_tasks.token();
    demo_tasks.spawn(
        "printer",
        until(token.clone(), print_transitions(daemon.subscribe(), names)),
    );
    demo_tasks.spawn(
        "changer",
        until(
            token.clone(),
            change_answers(sim.clone(), args.change_every),
        ),
    );
    demo_tasks.spawn(
        "summary",
        until(token, print_summaries(daemon.clone(), args.interval)),
    );

    let stop = async {
        match args.duration {
            Some(duration) => tokio::select! {
                _ = tokio::time::sleep(duration) => {}
                _ = crate::shutdown::stop_signal() => {}
            },
            None => crate::shutdown::stop_signal().await,
        }
    };
    daemon.clone().run_on(listener, stop).await?;
    demo_tasks.shut_down().await;
    let history = daemon
        .store
        .list_transitions(&crate::filter::Filter::default())
        .await?;
    print_states(&daemon).await?;
    println!("{} transitions recorded. Explore them with:", history.len());
    let flags = format!("--config {DEMO_CONFIG} --database-url '{database_url}'");
    println!("  rel04d controls {flags}");
    println!("  rel04d history {flags} --filter \"state:alarm\"");
    println!("  rel04d explain {flags} --workload <id>");
    println!(
        "  rel04d graphql {flags} '{{ controls(filter: \"state:active\") {{ items {{ workloadName state reason }} }} }}'"
    );
    server.shutdown().await;
    Ok(())
}

/// Makes sure the demo shows `invalid`, `error` and enforcement too: one workload
/// gets a bad policy tag, one is denied to the daemon, and the id of a third is
/// returned to be enforced.
fn stage_special_cases(sim: &Simulator) -> Option<String> {
    let ordinary: Vec<_> = sim
        .workloads()
        .into_iter()
        .filter(|w| w.lenses.iter().any(|l| l == "wellarchitected"))
        .filter(|w| !w.name.ends_with("-reporting") && !w.name.ends_with("-analytics"))
        .collect();
    if let Some(w) = ordinary.first() {
        let mut tags = w.tags.clone();
        tags.insert("rel04d:idempotent".into(), "Maybe".into());
        let _ = sim.set_tags(&w.id, tags);
    }
    if let Some(w) = ordinary.get(1) {
        let mut faults = sim.faults();
        faults.deny_workloads.insert(w.id.clone());
        sim.set_faults(faults);
    }
    ordinary.get(2).map(|w| w.id.clone())
}

/// Runs `task` until `token` is cancelled.
async fn until(token: CancellationToken, task: impl Future<Output = ()>) {
    tokio::select! {
        _ = task => {}
        _ = token.cancelled() => {}
    }
}

async fn print_transitions(
    mut rx: tokio::sync::broadcast::Receiver<TransitionRow>,
    names: BTreeMap<String, String>,
) {
    loop {
        match rx.recv().await {
            Ok(t) => {
                let name = Terminal(
                    names
                        .get(&t.workload_id)
                        .map_or(t.workload_id.as_str(), String::as_str),
                );
                let time = t.occurred_at.get(11..19).unwrap_or(&t.occurred_at);
                let enforced = if t.action.is_some() {
                    " [enforced]"
                } else {
                    ""
                };
                println!(
                    "{time}  {name:<24} {:<28} {:>7} → {:<7} ({}){enforced}  {}",
                    Terminal(&t.question_id),
                    t.from_state.as_deref().unwrap_or("new"),
                    t.to_state,
                    Terminal(&t.trigger),
                    Terminal(&t.reason)
                );
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                println!("… {n} transitions not shown")
            }
            Err(_) => return,
        }
    }
}

/// Every few seconds, toggles one best practice on a random workload.
async fn change_answers(sim: Simulator, every: Duration) {
    let practices = [
        rel04d_simulator::CHOICE_IDENTIFY,
        rel04d_simulator::CHOICE_LOOSELY_COUPLED,
        rel04d_simulator::CHOICE_IDEMPOTENT,
        rel04d_simulator::CHOICE_CONSTANT_WORK,
    ];
    loop {
        tokio::time::sleep(every).await;
        let workloads = sim.workloads();
        let (Some(w), Some(choice)) = (
            workloads.choose(&mut rand::rng()),
            practices.choose(&mut rand::rng()),
        ) else {
            continue;
        };
        let mut answer = w.answer.clone();
        let verb = if let Some(at) = answer.selected.iter().position(|c| c == choice) {
            answer.selected.remove(at);
            "unselected"
        } else {
            answer
                .selected
                .retain(|c| c != rel04d_simulator::CHOICE_NONE);
            answer.selected.push(choice.to_string());
            answer.is_applicable = true;
            "selected"
        };
        if sim.set_answer(&w.id, answer).is_ok() {
            println!(
                "{:>8}  {:<28} someone {verb} {choice}",
                "change",
                Terminal(&w.name)
            );
        }
    }
}

async fn print_summaries(daemon: Arc<Daemon>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let _ = print_states(&daemon).await;
    }
}

async fn print_states(daemon: &Daemon) -> anyhow::Result<()> {
    let counts = daemon
        .store
        .count_by_state()
        .await
        .context("count controls")?;
    let text: Vec<String> = counts
        .iter()
        .map(|c| {
            format!(
                "{} {}{}",
                c.state,
                c.count,
                if c.muted { " (muted)" } else { "" }
            )
        })
        .collect();
    println!("── controls: {} ──", text.join(" · "));
    Ok(())
}
