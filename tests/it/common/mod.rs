//! Shared harness: a simulator on port 0, a fresh database per test, and the real
//! daemon talking to the simulator through the real SDK.
//!
//! The database is a new SQLite file by default. With `REL04D_TEST_POSTGRES_URL`
//! set (the test script sets it for its Postgres pass), each test gets a freshly
//! created Postgres database on that server instead.

pub mod asff;
pub mod db;
pub mod moto;
pub mod process;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use rel04d::aws::{AwsSetup, Endpoints};
use rel04d::config::Settings;
use rel04d::filter::Filter;
use rel04d::startup::Daemon;
use rel04d::store::{ControlRow, TransitionRow};
use rel04d_simulator::{AnswerSpec, SimServer, Simulator, WorkloadInfo, WorkloadSpec};
use tokio::task::JoinHandle;

pub const REGION: &str = "us-east-1";
pub const IDENTIFY: &str = "rel_prevent_interaction_failure_identify";
pub const LOOSELY: &str = "rel_prevent_interaction_failure_loosely_coupled_system";
pub const IDEMPOTENT: &str = "rel_prevent_interaction_failure_idempotent";
pub const CONSTANT: &str = "rel_prevent_interaction_failure_constant_work";
pub const NONE: &str = "rel_prevent_interaction_failure_no";
pub const ALL_FOUR: [&str; 4] = [IDENTIFY, LOOSELY, IDEMPOTENT, CONSTANT];

/// Global policies requiring all four best practices.
pub const ALL_TRUE: &str = r#"rel04 = "Check: Choices based on sub policies"
identify = "True"
loosely_coupled = "True"
idempotent = "True"
constant_work = "True""#;

/// The state [`ALL_TRUE`] gives `answer`: `ok` when the question applies and all
/// four are selected (and not "none of these"), else `alarm`.
pub fn expected_state(answer: &AnswerSpec) -> &'static str {
    let all_four = ALL_FOUR
        .iter()
        .all(|c| answer.selected.iter().any(|s| s == c));
    let none_of_these = answer.selected.iter().any(|s| s == NONE);
    if answer.is_applicable && all_four && !none_of_these {
        "ok"
    } else {
        "alarm"
    }
}

/// Flips a workload between passing and failing [`ALL_TRUE`] (all four selected,
/// or only two), so each call is a real change.
pub fn flip_answer(sim: &Simulator, id: &str) {
    let passing = expected_state(&sim.workload(id).unwrap().answer) == "ok";
    let selected = if passing {
        &ALL_FOUR[..2]
    } else {
        &ALL_FOUR[..]
    };
    sim.set_answer(id, answer(selected, &[], true)).unwrap();
}

/// A fresh database URL for one test.
pub async fn fresh_database_url(dir: &tempfile::TempDir) -> String {
    match std::env::var("REL04D_TEST_POSTGRES_URL") {
        Ok(server) => {
            let name = format!("rel04d_test_{}", uuid_like());
            let admin = format!("{server}/postgres");
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&admin)
                .await
                .expect("connect to the test Postgres server");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .expect("create a test database");
            pool.close().await;
            format!("{server}/{name}")
        }
        Err(_) => format!("sqlite://{}/state.db?mode=rwc", dir.path().display()),
    }
}

fn uuid_like() -> String {
    format!("{:016x}{:08x}", rand::random::<u64>(), std::process::id())
}

pub fn answer(selected: &[&str], not_applicable: &[&str], is_applicable: bool) -> AnswerSpec {
    AnswerSpec {
        selected: selected.iter().map(|s| s.to_string()).collect(),
        not_applicable: not_applicable.iter().map(|s| s.to_string()).collect(),
        is_applicable,
    }
}

pub fn workload(name: &str, answer: AnswerSpec) -> WorkloadSpec {
    WorkloadSpec {
        id: None,
        name: name.to_owned(),
        owner: "111122223333".to_owned(),
        lenses: vec!["wellarchitected".to_owned()],
        tags: BTreeMap::new(),
        answer,
    }
}

/// One simulator + one database + one daemon.
pub struct TestEnv {
    pub sim: Simulator,
    pub server: SimServer,
    pub daemon: Arc<Daemon>,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    workers: Vec<JoinHandle<()>>,
}

impl TestEnv {
    /// Starts everything; `config` is TOML layered over the defaults (policies,
    /// limits). Workers are running, so `sweep` can be called at will.
    pub async fn start(sim: Simulator, config: &str) -> TestEnv {
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database_url(&dir).await;
        let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let settings = settings(&dir, &database_url, config);
        let endpoints = Endpoints {
            wellarchitected: Some(server.url()),
            ..Endpoints::default()
        };
        let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
        let daemon = Daemon::build(settings, Some(setup))
            .await
            .expect("daemon builds");
        let workers = daemon.start_workers();
        TestEnv {
            sim,
            server,
            daemon,
            database_url,
            dir,
            workers,
        }
    }

    pub async fn sweep(&self) -> Vec<rel04d::sweep::SweepReport> {
        self.daemon.sweep_all().await
    }

    pub async fn controls(&self, filter: &str) -> Vec<ControlRow> {
        self.daemon
            .store
            .list_controls(&Filter::parse(filter).unwrap())
            .await
            .unwrap()
    }

    pub async fn transitions(&self) -> Vec<TransitionRow> {
        self.daemon
            .store
            .list_transitions(&Filter::default())
            .await
            .unwrap()
    }

    pub async fn state_of(&self, workload_id: &str) -> String {
        self.daemon
            .store
            .control_by_workload_id(workload_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no control for {workload_id}"))
            .state
            .to_string()
    }

    pub async fn stop(self) {
        self.daemon.stop_workers(self.workers).await;
        self.server.shutdown().await;
    }
}

/// The whole daemon running (scheduler, HTTP on port 0, intake, publisher).
pub struct RunningDaemon {
    pub sim: Simulator,
    pub server: SimServer,
    pub daemon: Arc<Daemon>,
    pub http: std::net::SocketAddr,
    /// Its state database, for `Db` reads.
    pub database_url: String,
    /// Holds the database file and the config; removed when the daemon is dropped.
    _dir: tempfile::TempDir,
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningDaemon {
    /// `endpoints` may point SQS and EventBridge at moto; Well-Architected is
    /// always the simulator.
    pub async fn start(sim: Simulator, config: &str, endpoints: Endpoints) -> RunningDaemon {
        let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        RunningDaemon::start_on(sim, server, config, endpoints).await
    }

    /// Like [`RunningDaemon::start`], with the Tool served by `server`.
    pub async fn start_on(
        sim: Simulator,
        server: SimServer,
        config: &str,
        mut endpoints: Endpoints,
    ) -> RunningDaemon {
        if let Ok(level) = std::env::var("REL04D_TEST_LOG") {
            rel04d::telemetry::init(rel04d::config::LogFormat::Text, &level, true);
        }
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database_url(&dir).await;
        let settings = settings(&dir, &database_url, config);
        endpoints.wellarchitected = Some(server.url());
        let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
        let daemon = Daemon::build(settings, Some(setup))
            .await
            .expect("daemon builds");
        let (http, stop, task) = serve(&daemon).await;
        RunningDaemon {
            sim,
            server,
            daemon,
            http,
            database_url,
            _dir: dir,
            stop,
            task,
        }
    }

    /// Polls `check` until it holds; panics with `what` after `timeout`.
    pub async fn wait_for<F, Fut>(&self, what: &str, timeout: std::time::Duration, check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        process::wait_until(what, timeout, check).await
    }

    pub async fn transitions(&self) -> Vec<TransitionRow> {
        self.daemon
            .store
            .list_transitions(&Filter::default())
            .await
            .unwrap()
    }

    pub async fn state_of(&self, workload_id: &str) -> Option<String> {
        self.daemon
            .store
            .control_by_workload_id(workload_id)
            .await
            .unwrap()
            .map(|c| c.state.to_string())
    }

    /// Stops the daemon gracefully and checks it exited cleanly.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().expect("daemon stops cleanly");
        self.server.shutdown().await;
    }
}

/// Test settings: `config` (TOML) over the defaults, with the database, the
/// region and, unless `config` sets them, generous client limits from the
/// environment layer.
pub fn settings(dir: &tempfile::TempDir, database_url: &str, config: &str) -> Settings {
    let path = dir.path().join("rel04d.toml");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(config.as_bytes()).unwrap();
    drop(file);
    let mut env = std::collections::HashMap::from([(
        "REL04D__DATABASE__URL".to_owned(),
        database_url.to_owned(),
    )]);
    if !config.contains("regions") {
        env.insert("REL04D__AWS__REGIONS".to_owned(), REGION.to_owned());
    }
    if !config.contains("max_requests_per_second") {
        env.insert(
            "REL04D__AWS__MAX_REQUESTS_PER_SECOND".to_owned(),
            "2000".to_owned(),
        );
    }
    Settings::load_with(Some(&path), Some(env)).expect("test settings are valid")
}

/// Adds workloads to `sim` and returns their infos in order.
pub fn add_all(sim: &Simulator, specs: Vec<WorkloadSpec>) -> Vec<WorkloadInfo> {
    specs
        .into_iter()
        .map(|spec| sim.add_workload(spec))
        .collect()
}

/// Runs `daemon` (`run_on`) with HTTP on a port-0 listener: its address, the
/// sender that stops it, and the task to await for its result.
pub async fn serve(
    daemon: &Arc<Daemon>,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    JoinHandle<anyhow::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(daemon.clone().run_on(listener, async move {
        let _ = stopped.await;
    }));
    (http, stop, task)
}

/// A control row of the workload `arn` in `state`, with a policy value in its
/// details, a name that needs escaping, and fixed times (no database needed).
pub fn control_row(arn: &str, state: rel04d::control::ControlState) -> ControlRow {
    ControlRow {
        workload_id: arn.rsplit('/').next().unwrap().to_owned(),
        workload_arn: arn.to_owned(),
        workload_name: format!("payments \"{state}\" — ünïcode"),
        account_id: "111122223333".into(),
        region: REGION.into(),
        control_type: "rel04".into(),
        lens: "wellarchitected".into(),
        question_id: "prevent-interaction-failure".into(),
        lens_status: None,
        state,
        reason: format!("Why it is {state}"),
        details: rel04d::store::JsonText::of(&serde_json::json!({
            "policies": [{"key": "idempotent", "value": "True", "source": "global", "origin": "policies.global"}],
            "best_practices": [],
        })),
        created_at: "2026-01-01T00:00:00.000000Z".into(),
        updated_at: "2026-01-02T00:00:00.000000Z".into(),
        evaluated_at: None,
        removed_at: None,
        muted: false,
        mute: None,
        scanned_by: format!("ambient/{REGION}"),
        version: 1,
        claimed_by: None,
    }
}

/// [`control_row`] of a custom lens's question (`data-retention`, policy name
/// `retention`) whose answer the Tool last judged `risk`.
pub fn custom_question_row(
    arn: &str,
    state: rel04d::control::ControlState,
    risk: &str,
) -> ControlRow {
    let lens = "arn:aws:wellarchitected:us-east-1:111122223333:lens/data";
    ControlRow {
        control_type: "retention".into(),
        lens: lens.into(),
        question_id: "data-retention".into(),
        details: rel04d::store::JsonText::of(&serde_json::json!({
            "policies": [{"key": "retention", "value": "Check: Choices based on sub policies",
                          "source": "global", "origin": "policies.global"}],
            "question": {"question_id": "data-retention", "is_applicable": true,
                         "risk": risk, "lens_arn": lens},
            "best_practices": [{"choice_id": "retention_encrypt", "title": "Encrypt backups",
                                "policy": "True", "source": "global", "observed": "UNSELECTED",
                                "result": "fail"}],
        })),
        ..control_row(arn, state)
    }
}
