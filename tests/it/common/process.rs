//! The real binary as a child process: a clean environment, logs to a file, and
//! killed on drop so a failing test leaves nothing running.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// `rel04d` with an empty environment except `PATH` and dummy AWS credentials
/// (the SDK wants some even for local endpoints and must not ask instance
/// metadata).
pub fn rel04d() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rel04d"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", super::REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    command
}

/// `rel04d` against the simulator at `sim_url` and the database at
/// `database_url`, in [`super::REGION`], listening on port 0, with a high
/// request rate: add the configuration and the subcommand.
pub fn against(sim_url: &str, database_url: &str) -> Command {
    let mut command = rel04d();
    command
        .env("AWS_ENDPOINT_URL_WELLARCHITECTED", sim_url)
        .env("REL04D__DATABASE__URL", database_url)
        .env("REL04D__HTTP__LISTEN", "127.0.0.1:0")
        .env("REL04D__AWS__REGIONS", super::REGION)
        .env("REL04D__AWS__MAX_REQUESTS_PER_SECOND", "2000");
    command
}

/// Peak resident memory of process `pid` so far (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// `rel04d` against the simulator at `sim_url` and the database at
/// `database_url`, in [`super::REGION`], at a fixed `rate` (calls per second),
/// with REL 04 checked on "Choices based on sub policies" and all four best
/// practices required: the daemon the process-level tests kill and restart. Add
/// the subcommand and anything else.
pub fn daemon(sim_url: &str, database_url: &str, rate: u32) -> Command {
    let mut command = against(sim_url, database_url);
    command
        .env("REL04D__AWS__MAX_REQUESTS_PER_SECOND", rate.to_string())
        .env("REL04D__LOG__LEVEL", "info")
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        );
    for policy in ["IDENTIFY", "LOOSELY_COUPLED", "IDEMPOTENT", "CONSTANT_WORK"] {
        command.env(format!("REL04D__POLICIES__GLOBAL__{policy}"), "True");
    }
    command
}

/// Runs a one-shot command to completion; its stdout, after checking it succeeded
/// (its stderr in the failure message).
pub fn stdout_of(command: &mut Command) -> String {
    let out = command.output().expect("run rel04d");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// A running child, SIGKILLed and reaped on drop.
pub struct Proc {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    /// Spawns `command` with stdout and stderr appended to `log`.
    pub fn spawn(mut command: Command, log: &Path) -> Proc {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the process log");
        // If the test process itself dies (killed by a timeout), so does the
        // child: nothing is left running.
        // SAFETY: prctl is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("start rel04d");
        Proc {
            child: Some(child),
            log: log.to_owned(),
        }
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the child exited on its own (and how).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// SIGTERM, then waits up to `timeout` for the exit status.
    pub async fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: signalling our own child by its pid.
        let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no exit within {timeout:?} of SIGTERM\n{}", tail(&self.log));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last 40 lines of a log, for failure messages.
pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Polls `check` every 50 ms until it holds; panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The address a child daemon logged as `HTTP listening` (it listens on port 0),
/// waiting up to `timeout` for the line; `0.0.0.0` is reached as `127.0.0.1`.
pub async fn http_address(log: &Path, timeout: Duration) -> String {
    let mut address = None;
    wait_until("the HTTP listener", timeout, || {
        address = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["message"] == "HTTP listening")
            .and_then(|l| l["address"].as_str().map(str::to_owned));
        std::future::ready(address.is_some())
    })
    .await;
    address.unwrap().replace("0.0.0.0", "127.0.0.1")
}

/// The text a daemon's `/metrics` serves.
pub async fn metrics(http: &str) -> String {
    reqwest::get(format!("http://{http}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the /metrics body")
}

/// Accepts connections and never answers: a publisher talking to it hangs.
pub async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}
