//! The daemon's own reliability under hostile conditions (issue 10, findings 4, 5,
//! 7 and 8): a full disk, a stop with accepted events in flight, a restart under
//! a long interval, and `run --once` when nothing could be recorded.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use rel04d::aws::{AwsSetup, Endpoints};
use rel04d::events::sample::update_answer_event;
use rel04d::filter::Filter;
use rel04d::startup::Daemon;
use rel04d_simulator::{Faults, Simulator};
use tokio::task::JoinHandle;

use crate::common::db::Db;
use crate::common::process::wait_until;
use crate::common::*;

const TOKEN: &str = "hostile-runtime-token-0123456789";

/// One in-process daemon on a database the test chooses (so a second one can
/// start on the same database after the first stopped).
struct Node {
    daemon: Arc<Daemon>,
    http: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Node {
    async fn start(
        dir: &tempfile::TempDir,
        database_url: &str,
        sim_url: &str,
        config: &str,
    ) -> Node {
        let settings = settings(dir, database_url, config);
        let endpoints = Endpoints {
            wellarchitected: Some(sim_url.to_owned()),
            ..Endpoints::default()
        };
        let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
        let daemon = Daemon::build(settings, Some(setup))
            .await
            .expect("daemon builds");
        let (http, stop, task) = serve(&daemon).await;
        Node {
            daemon,
            http,
            stop,
            task,
        }
    }

    /// What SIGTERM does: a graceful stop, which must end cleanly.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().expect("the daemon stops cleanly");
    }

    async fn states(&self) -> Vec<String> {
        self.daemon
            .store
            .list_controls(&Filter::default())
            .await
            .map(|controls| controls.into_iter().map(|c| c.state.to_string()).collect())
            .unwrap_or_default()
    }

    async fn healthz(&self) -> u16 {
        reqwest::get(format!("http://{}/healthz", self.http))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    async fn post_event(&self, body: String) -> u16 {
        reqwest::Client::new()
            .post(format!("http://{}/events", self.http))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .body(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }
}

fn config(interval: &str) -> String {
    format!(
        "[http]\nevents_token = \"{TOKEN}\"\n[schedule]\ninterval = \"{interval}\"\njitter = \"0s\"\n[policies.global]\n{ALL_TRUE}\n"
    )
}

fn add_passing(sim: &Simulator, prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            sim.add_workload(workload(
                &format!("{prefix}-{i:04}"),
                answer(&ALL_FOUR, &[], true),
            ))
            .id
        })
        .collect()
}

/// A small tmpfs holding the SQLite database, so the test can fill it up. Needs
/// root (as in CI); `None` where mounting is not permitted.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .is_ok_and(|o| o.status.success());
        mounted.then(|| SmallDisk {
            path: path.to_owned(),
        })
    }

    fn filler(&self) -> PathBuf {
        self.path.join("filler")
    }

    /// Writes a file until the disk has only `room` bytes left.
    fn fill(&self, room: u64) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0xa5_u8; 16 * 1024];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&chunk[..512]).is_ok() {}
        let full = file.metadata().unwrap().len();
        file.set_len(full.saturating_sub(room)).unwrap();
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).output();
    }
}

/// Finding 4: after commits fail on a full disk, the daemon records again by
/// itself once there is room; meanwhile `/healthz` reports the wedge and the
/// intake refuses events with 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_does_not_wedge_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), "16m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let database_url = format!("sqlite://{}/state.db?mode=rwc", disk.path.display());
    let sim = Simulator::new(REGION);
    let first = add_passing(&sim, "before", 20);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let node = Node::start(&dir, &database_url, &server.url(), &config("1s")).await;
    wait_until("the first sweep", Duration::from_secs(30), || async {
        node.states().await == vec!["ok"; 20]
    })
    .await;

    // Some room, so that the disk fills up in the middle of evaluations: their
    // commits fail, not only the sweep's lease.
    disk.fill(256 * 1024);
    let added = add_passing(&sim, "during", 600);
    wait_until(
        "writes to fail on the full disk",
        Duration::from_secs(60),
        || async { node.daemon.store.write_health().failing_for().is_some() },
    )
    .await;
    wait_until(
        "/healthz to report the wedge",
        Duration::from_secs(60),
        || async { node.healthz().await == 503 },
    )
    .await;
    let event = update_answer_event("disk-full-1", "111122223333", REGION, &first[0]);
    assert_eq!(
        node.post_event(event.to_string()).await,
        503,
        "an event that cannot be handled is refused, so the sender keeps it"
    );

    disk.free();
    let total = first.len() + added.len();
    wait_until(
        "every workload recorded after the disk has room again",
        Duration::from_secs(120),
        || async {
            let states = node.states().await;
            states.len() == total && states.iter().all(|s| s == "ok")
        },
    )
    .await;
    wait_until("/healthz to recover", Duration::from_secs(30), || async {
        node.healthz().await == 200
    })
    .await;
    let event = update_answer_event("disk-free-1", "111122223333", REGION, &first[0]);
    assert_eq!(node.post_event(event.to_string()).await, 202);
    node.stop().await;
    server.shutdown().await;
}

/// Finding 5: a stop with accepted events still queued neither burns their
/// attempts nor marks them handled; the next start evaluates every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_events_survive_a_stop_and_are_evaluated_after_restart() {
    const EVENTS: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let sim = Simulator::new(REGION);
    let ids = add_passing(&sim, "pushed", EVENTS);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let config = format!("{}[aws]\nmax_concurrency = 2\n", config("1h"));
    let first = Node::start(&dir, &database_url, &server.url(), &config).await;
    wait_until("the first sweep", Duration::from_secs(60), || async {
        first.states().await == vec!["ok"; EVENTS]
    })
    .await;

    // Slow evaluations, so the stop finds most events still queued.
    sim.set_faults(Faults {
        latency: Duration::from_millis(100),
        ..Faults::default()
    });
    for (n, id) in ids.iter().enumerate() {
        flip_answer(&sim, id);
        let event = update_answer_event(&format!("pushed-{n}"), "111122223333", REGION, id);
        assert_eq!(first.post_event(event.to_string()).await, 202);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.stop().await;

    let db = Db::connect(&database_url).await;
    let set_aside = db
        .count(
            "SELECT COUNT(*) FROM inbox WHERE processed_at IS NOT NULL AND last_error IS NOT NULL",
        )
        .await;
    let burned = db
        .count("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL AND attempts > 0")
        .await;
    let left = db
        .count("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL")
        .await;
    let errors = db
        .strings("SELECT DISTINCT COALESCE(last_error, '') FROM inbox")
        .await;
    assert_eq!(
        (set_aside, burned),
        (Some(0), Some(0)),
        "the stop set no event aside and counted no attempt ({left:?} left for the next start; errors: {errors:?})"
    );

    sim.set_faults(Faults::default());
    let second = Node::start(&dir, &database_url, &server.url(), &config).await;
    wait_until(
        "every accepted event evaluated after the restart",
        Duration::from_secs(90),
        || async {
            db.count(
                "SELECT COUNT(*) FROM processed_events WHERE event_id LIKE 'pushed-%' AND outcome = 'evaluated'",
            )
            .await
                == Some(EVENTS as i64)
        },
    )
    .await;
    // Events deferred by the stop are retried a few seconds later and then found
    // handled (duplicates): wait for the inbox to settle.
    wait_until(
        "every pushed event handled, none set aside",
        Duration::from_secs(60),
        || async {
            db.count(
                "SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL OR last_error IS NOT NULL",
            )
            .await
                == Some(0)
        },
    )
    .await;
    second.stop().await;
    db.close().await;
    server.shutdown().await;
}

/// Finding 7: a graceful stop hands the sweep lease back, so a restart sweeps
/// at once rather than an interval (here an hour) later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_sweeps_at_once_despite_a_long_interval() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let sim = Simulator::new(REGION);
    add_passing(&sim, "swept", 3);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();

    let first = Node::start(&dir, &database_url, &server.url(), &config("1h")).await;
    let scope = first.daemon.scopes[0].key().to_owned();
    let store = first.daemon.store.clone();
    wait_until("the first sweep", Duration::from_secs(30), || async {
        store.last_sweep(&scope).await.ok().flatten().is_some()
    })
    .await;
    let swept_before = store.last_sweep(&scope).await.unwrap().unwrap();
    first.stop().await;

    let second = Node::start(&dir, &database_url, &server.url(), &config("1h")).await;
    let store = second.daemon.store.clone();
    wait_until(
        "a sweep within seconds of the restart",
        Duration::from_secs(10),
        || async {
            store
                .last_sweep(&scope)
                .await
                .ok()
                .flatten()
                .is_some_and(|at| at > swept_before)
        },
    )
    .await;
    second.stop().await;
    server.shutdown().await;
}

fn run_once(env: &[(&str, String)]) -> Output {
    let mut command = crate::common::process::rel04d();
    command.args(["run", "--once"]);
    command.env("REL04D__HTTP__LISTEN", "127.0.0.1:0");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run rel04d")
}

fn summary(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find(|l| l.starts_with("run --once:"))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"))
        .to_owned()
}

fn policy_env(database_url: &str, sim_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_WELLARCHITECTED", sim_url.to_owned()),
        ("REL04D__DATABASE__URL", database_url.to_owned()),
        (
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies".to_owned(),
        ),
        ("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True".to_owned()),
    ]
}

/// Finding 8: `run --once` exits 0 only when the whole fleet was listed and
/// recorded, and says what it did in one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_fails_when_the_tool_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/state.db?mode=rwc", dir.path().display());
    // Nothing listens on port 1: every call is refused.
    let mut env = policy_env(&database_url, "http://127.0.0.1:1");
    env.push(("REL04D__AWS__MAX_ATTEMPTS", "1".to_owned()));
    let output = run_once(&env);
    let line = summary(&output);
    assert!(!output.status.success(), "exit non-zero: {line}");
    assert!(line.contains("1 listing error(s)"), "{line}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not listed"), "{stderr}");
}

/// Finding 8, with a database SQLite opens read-only (`mode=ro`: CI runs as root,
/// which ignores file modes, so `chmod 0444` would prove nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_fails_when_nothing_can_be_recorded_and_succeeds_when_all_is() {
    let sim = Simulator::new(REGION);
    let ids = add_passing(&sim, "once", 5);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let healthy = run_once(&policy_env(
        &format!("sqlite://{}?mode=rwc", path.display()),
        &server.url(),
    ));
    let line = summary(&healthy);
    assert!(healthy.status.success(), "{line}");
    assert!(
        line.contains("5 evaluated") && line.contains("0 failed to record"),
        "{line}"
    );

    for id in &ids {
        flip_answer(&sim, id);
    }
    let read_only = run_once(&policy_env(
        &format!("sqlite://{}?mode=ro", path.display()),
        &server.url(),
    ));
    let line = summary(&read_only);
    assert!(!read_only.status.success(), "exit non-zero: {line}");
    assert!(line.contains("5 failed to record"), "{line}");
    server.shutdown().await;
}
