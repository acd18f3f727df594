//! The HTTP listener and GraphQL against hostile clients: regex and alias bombs,
//! cross-site requests, slow and idle connections, and malformed GraphQL input.
//!
//! Time bounds are generous (the bugs they catch ran for minutes or forever);
//! memory is read from the real binary's peak RSS (`VmHWM`).

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use rel04d::aws::Endpoints;
use rel04d::filter::Filter;
use rel04d_simulator::{SimServer, Simulator};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::process::{Proc, http_address, rel04d, tail, wait_until};
use crate::common::*;

/// Peak RSS a bombed daemon may reach. A debug build idles at a few tens of MiB;
/// the bombs reached gigabytes.
const MAX_PEAK_RSS_KIB: u64 = 300 * 1024;

fn config(http: &str) -> String {
    format!(
        "[http]\n{http}\n[schedule]\ninterval = \"1h\"\njitter = \"0s\"\n[policies.global]\n{ALL_TRUE}\n"
    )
}

/// An in-process daemon with `workloads` evaluated controls.
async fn daemon(http: &str, workloads: usize) -> RunningDaemon {
    let sim = Simulator::new(REGION);
    for i in 0..workloads {
        sim.add_workload(workload(&format!("wl-{i}"), answer(&ALL_FOUR, &[], true)));
    }
    let d = RunningDaemon::start(sim, &config(http), Endpoints::default()).await;
    d.wait_for("the first sweep", Duration::from_secs(60), || async {
        let controls = d.daemon.store.list_controls(&Filter::default()).await;
        controls.unwrap().len() == workloads
    })
    .await;
    d
}

/// POSTs `query` to `/graphql` as JSON; the status and the raw body (raw, so
/// the order of keys can be checked).
async fn graphql(http: &str, query: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("http://{http}/graphql"))
        .json(&json!({ "query": query }))
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .expect("a GraphQL answer");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The first error's message and code.
fn first_error(text: &str) -> (String, String) {
    let body = parsed(text);
    let error = &body["errors"][0];
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    let code = error["extensions"]["code"].as_str().unwrap_or_default();
    (message, code.to_owned())
}

/// Writes `request` on a new connection and reads until the server closes it
/// (or `within` passes, which panics).
async fn exchange(http: &str, request: &[u8], within: Duration) -> String {
    let mut stream = TcpStream::connect(http).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut reply = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut reply))
        .await
        .unwrap_or_else(|_| panic!("the server kept the connection open for {within:?}"))
        .ok();
    String::from_utf8_lossy(&reply).into_owned()
}

fn status_line(reply: &str) -> &str {
    reply.lines().next().unwrap_or("")
}

async fn get_healthz(http: &str, within: Duration) -> Result<u16, String> {
    reqwest::Client::new()
        .get(format!("http://{http}/healthz"))
        .timeout(within)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

/// The real binary, serving a simulator, with its listener's address.
struct Child {
    proc: Proc,
    http: String,
    _server: SimServer,
    _dir: tempfile::TempDir,
}

impl Child {
    /// `rel04d run` with `env` on top of test settings; `max_files` lowers its
    /// file-descriptor limit.
    async fn start(sim: Simulator, env: &[(&str, &str)], max_files: Option<u64>) -> Child {
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database_url(&dir).await;
        let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let mut command = rel04d();
        command
            .env("AWS_ENDPOINT_URL_WELLARCHITECTED", server.url())
            .env("REL04D__DATABASE__URL", &database_url)
            .env("REL04D__HTTP__LISTEN", "127.0.0.1:0")
            .env("REL04D__AWS__REGIONS", REGION)
            .env("REL04D__AWS__MAX_REQUESTS_PER_SECOND", "2000")
            .env("REL04D__SCHEDULE__INTERVAL", "1h")
            .env("REL04D__SCHEDULE__JITTER", "0s")
            .env(
                "REL04D__POLICIES__GLOBAL__REL04",
                "Check: Choices based on sub policies",
            )
            .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True")
            .arg("run");
        for (key, value) in env {
            command.env(key, value);
        }
        if let Some(n) = max_files {
            // SAFETY: setrlimit is async-signal-safe and touches only the child.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let log = dir.path().join("daemon.log");
        let proc = Proc::spawn(command, &log);
        let http = http_address(&log, Duration::from_secs(60)).await;
        Child {
            proc,
            http,
            _server: server,
            _dir: dir,
        }
    }

    /// Waits until the first sweep has finished; the number of controls then.
    async fn wait_for_sweep(&self) -> usize {
        wait_until("the first sweep", Duration::from_secs(120), || {
            let log = std::fs::read_to_string(&self.proc.log).unwrap_or_default();
            std::future::ready(log.contains("sweep finished"))
        })
        .await;
        let query = "{ controls(filter: \"limit:1000\") { items { workloadId } } }";
        let (_, text) = graphql(&self.http, query).await;
        parsed(&text)["data"]["controls"]["items"]
            .as_array()
            .map_or(0, Vec::len)
    }

    /// Peak resident memory so far, in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.proc.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }
}

/// Finding 1: 64 regex terms like `workload:/\w{200}/` per filter, in several
/// aliases, cost minutes of CPU and gigabytes, compiled on the async workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regex_bomb_is_refused_at_once_and_memory_stays_bounded() {
    let sim = Simulator::new(REGION);
    for i in 0..3 {
        sim.add_workload(workload(&format!("wl-{i}"), answer(&ALL_FOUR, &[], true)));
    }
    let child = Child::start(sim, &[], None).await;
    assert_eq!(child.wait_for_sweep().await, 3);

    let terms = vec![r"workload:/\w{200}/"; 64].join(" ");
    let aliases: String = (0..4)
        .map(|i| format!("a{i}: controls(filter: {terms:?}) {{ items {{ workloadId }} }} "))
        .collect();
    let bomb = {
        let http = child.http.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let (_, text) = graphql(&http, &format!("{{ {aliases} }}")).await;
            (started.elapsed(), text)
        })
    };
    let health = get_healthz(&child.http, Duration::from_secs(30)).await;
    let (took, text) = bomb.await.unwrap();
    let (message, code) = first_error(&text);
    assert_eq!(code, "BAD_FILTER", "{text}");
    assert!(message.contains("regex"), "{message}");
    assert!(took < Duration::from_secs(5), "the bomb took {took:?}");
    assert_eq!(health, Ok(200), "/healthz during the bomb");

    // Bounded patterns within the budget still work.
    let (_, text) = graphql(
        &child.http,
        r#"{ a: controls(filter: "workload:/^wl-[0-9]$/ region:/east/") { items { workloadName } } b: controls(filter: "workload:/^wl-1$/") { items { workloadName } } }"#,
    )
    .await;
    let body = parsed(&text);
    assert_eq!(
        body["data"]["a"]["items"].as_array().unwrap().len(),
        3,
        "{text}"
    );
    assert_eq!(
        body["data"]["b"]["items"][0]["workloadName"], "wl-1",
        "{text}"
    );
    // More regexes than a request may hold, spread over aliases.
    let spread: String = (0..3)
        .map(|i| {
            format!(
                "a{i}: controls(filter: \"{}\") {{ items {{ state }} }} ",
                ["region:/us/"; 8].join(" ")
            )
        })
        .collect();
    let (_, text) = graphql(&child.http, &format!("{{ {spread} }}")).await;
    assert!(
        first_error(&text).0.contains("at most 16 regex terms"),
        "{text}"
    );

    let peak = child.peak_rss_kib();
    eprintln!("regex bomb answered in {took:?}; peak RSS {peak} KiB");
    assert!(
        peak < MAX_PEAK_RSS_KIB,
        "peak RSS {peak} KiB\n{}",
        tail(&child.proc.log)
    );
}

/// Finding 2: 100 aliases of `controls { items { details } }` returned 155 MB and
/// peaked at 1.7 GB: the complexity limit ignored list sizes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_bomb_is_refused_and_memory_stays_bounded() {
    const WORKLOADS: usize = 400;
    let child = Child::start(Simulator::generated(REGION, WORKLOADS, 10), &[], None).await;
    let controls = child.wait_for_sweep().await;
    assert!(controls > WORKLOADS / 2, "{controls} controls");
    let before = child.peak_rss_kib();

    let aliases: String = (0..100)
        .map(|i| format!("a{i}: controls {{ items {{ details }} }} "))
        .collect();
    let started = Instant::now();
    let (_, text) = graphql(&child.http, &format!("{{ {aliases} }}")).await;
    let took = started.elapsed();
    let (message, _) = first_error(&text);
    assert!(
        message.contains("too complex"),
        "{}",
        &text[..text.len().min(300)]
    );
    assert!(took < Duration::from_secs(5), "the bomb took {took:?}");

    // The largest query allowed, many times at once: memory stays bounded.
    let largest = "{ controls { items { workloadId state reason details } paging { next } } }";
    let requests: Vec<_> = (0..12)
        .map(|_| {
            let http = child.http.clone();
            tokio::spawn(async move { graphql(&http, largest).await })
        })
        .collect();
    for request in requests {
        let (status, text) = request.await.unwrap();
        assert_eq!(status, 200);
        let items = parsed(&text)["data"]["controls"]["items"]
            .as_array()
            .map(Vec::len);
        assert_eq!(items, Some(controls));
    }
    let peak = child.peak_rss_kib();
    eprintln!("alias bomb answered in {took:?}; peak RSS {before} KiB before, {peak} KiB after");
    assert!(
        peak < MAX_PEAK_RSS_KIB,
        "peak RSS {peak} KiB (before the queries: {before} KiB)"
    );
}

/// Finding 3: a web page could POST text/plain to /graphql, or rebind its DNS
/// name to 127.0.0.1, and read every control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_are_refused() {
    let d = daemon(
        "events_token = \"events-token-0123456789abcdef\"\nallowed_origins = [\"https://console.example.com\"]",
        1,
    )
    .await;
    let http = d.http.to_string();
    let port = d.http.port();
    let body = r#"{"query": "{ controls { items { workloadId } } }"}"#;
    let post = |path: &str, headers: &str| {
        format!(
            "POST {path} HTTP/1.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let within = Duration::from_secs(30);
    let cases = [
        (
            "/graphql",
            format!("Host: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\n"),
            "415",
        ),
        ("/graphql", format!("Host: 127.0.0.1:{port}\r\n"), "415"),
        (
            "/graphql",
            format!("Host: rebound.evil.example:{port}\r\nContent-Type: application/json\r\n"),
            "421",
        ),
        (
            "/graphql",
            format!(
                "Host: localhost:{port}\r\nContent-Type: application/json\r\nOrigin: https://evil.example\r\n"
            ),
            "403",
        ),
        (
            "/events",
            format!("Host: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\n"),
            "415",
        ),
        (
            "/events",
            format!("Host: 127.0.0.1:{port}\r\nOrigin: https://evil.example\r\n"),
            "403",
        ),
        // What is allowed.
        (
            "/graphql",
            format!("Host: localhost:{port}\r\nContent-Type: application/json; charset=utf-8\r\n"),
            "200",
        ),
        (
            "/graphql",
            format!(
                "Host: [::1]:{port}\r\nContent-Type: application/json\r\nOrigin: https://console.example.com\r\n"
            ),
            "200",
        ),
    ];
    for (path, headers, expected) in cases {
        let reply = exchange(&http, post(path, &headers).as_bytes(), within).await;
        assert!(
            status_line(&reply).contains(&format!(" {expected} ")),
            "{path} with {headers:?}: {reply}"
        );
        if expected == "200" {
            assert!(reply.contains("workloadId"), "{reply}");
        } else {
            assert!(!reply.contains("workloadId"), "{reply}");
        }
    }
    // Orchestrators probe health, readiness and metrics by IP, under any Host.
    for path in ["/healthz", "/metrics"] {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 10.1.2.3:9404\r\nConnection: close\r\n\r\n");
        let reply = exchange(&http, request.as_bytes(), within).await;
        assert!(status_line(&reply).contains(" 200 "), "{path}: {reply}");
    }
    d.stop().await;
}

/// Finding 3: on a listener that is not loopback, GraphQL needs a token; without
/// one it is off, and health still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_is_off_on_a_public_listener_without_a_token() {
    let child = Child::start(
        Simulator::new(REGION),
        &[("REL04D__HTTP__LISTEN", "0.0.0.0:0")],
        None,
    )
    .await;
    let (status, text) = graphql(&child.http, "{ controls { items { workloadId } } }").await;
    assert_eq!(status, 404, "{text}");
    assert!(
        first_error(&text).0.contains("http.graphql_token"),
        "{text}"
    );
    assert_eq!(
        get_healthz(&child.http, Duration::from_secs(30)).await,
        Ok(200)
    );
}

/// Finding 6: partial headers or a partial body held a connection forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let d = daemon(
        "header_read_timeout = \"1s\"\nbody_read_timeout = \"1s\"",
        1,
    )
    .await;
    let http = d.http.to_string();
    let within = Duration::from_secs(30);

    let started = Instant::now();
    let reply = exchange(
        &http,
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
        within,
    )
    .await;
    assert!(!reply.contains(" 200 "), "{reply}");
    let partial_headers = started.elapsed();

    let started = Instant::now();
    let request = "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":";
    let reply = exchange(&http, request.as_bytes(), within).await;
    assert!(status_line(&reply).contains(" 408 "), "{reply}");
    assert!(reply.contains("http.body_read_timeout"), "{reply}");
    let partial_body = started.elapsed();

    // An idle keep-alive connection is closed too.
    let started = Instant::now();
    let reply = exchange(
        &http,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        within,
    )
    .await;
    assert!(status_line(&reply).contains(" 200 "), "{reply}");
    let idle = started.elapsed();
    eprintln!(
        "cut off after: partial headers {partial_headers:?}, partial body {partial_body:?}, idle {idle:?}"
    );
    d.stop().await;
}

/// Finding 6: a client in the middle of a request blocked graceful shutdown
/// until it left (seen: SIGTERM at 0 s, exit at 140 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_connection_does_not_hold_shutdown() {
    let d = daemon(
        "header_read_timeout = \"1h\"\nbody_read_timeout = \"1h\"\nshutdown_timeout = \"1s\"",
        1,
    )
    .await;
    let mut held = Vec::new();
    for request in [
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        "POST /graphql HTTP/1.1\r\nHost: 127.0",
    ] {
        let mut stream = TcpStream::connect(d.http).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), d.stop())
        .await
        .expect("the daemon stops within 30 s while clients hold connections");
    eprintln!("stopped in {:?}", started.elapsed());
    drop(held);
}

/// Finding 6: 1,100 held connections exhausted file descriptors and /healthz
/// timed out. Here the daemon may open 256 files and 300 clients sit idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_starve_healthz() {
    let child = Child::start(
        Simulator::new(REGION),
        &[
            ("REL04D__HTTP__MAX_CONNECTIONS", "50"),
            ("REL04D__HTTP__HEADER_READ_TIMEOUT", "1s"),
        ],
        Some(256),
    )
    .await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(&child.http).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    let health = get_healthz(&child.http, Duration::from_secs(60)).await;
    assert_eq!(health, Ok(200), "{}", tail(&child.proc.log));
    eprintln!(
        "/healthz answered in {:?} behind 300 idle connections",
        started.elapsed()
    );
    drop(idle);
}

/// Finding 13: `after:"8000000000000000"` was an INTERNAL error, `after:"+2"` was
/// accepted, and 20,000 values leaked "too many SQL variables".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cursors_and_huge_value_lists_are_filter_errors() {
    let d = daemon("", 3).await;
    let http = d.http.to_string();
    for cursor in ["8000000000000000", "+2", "-1", "ffffffffffffffffffff"] {
        let query = format!("{{ controls(after: {cursor:?}) {{ items {{ workloadId }} }} }}");
        let (_, text) = graphql(&http, &query).await;
        let (message, code) = first_error(&text);
        assert_eq!(code, "BAD_FILTER", "{cursor}: {text}");
        assert!(message.contains("is not a cursor"), "{cursor}: {text}");
    }
    let (_, text) = graphql(
        &http,
        r#"{ controls(filter: "limit:2", after: "2") { items { workloadId } } }"#,
    )
    .await;
    assert_eq!(
        parsed(&text)["data"]["controls"]["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{text}"
    );

    // 20,000 one-letter values fit the 64 KiB body; a workload value binds
    // twice, past SQLite's 32,766 parameters.
    let filter = format!("workload:{}", vec!["a"; 20_000].join(","));
    let query = format!("{{ controls(filter: {filter:?}) {{ items {{ workloadId }} }} }}");
    let (_, text) = graphql(&http, &query).await;
    let (message, code) = first_error(&text);
    assert_eq!(code, "BAD_FILTER", "{}", &text[..text.len().min(300)]);
    assert!(message.contains("at most 1000 values"), "{message}");
    d.stop().await;
}

/// Finding 13: fields that wait on the database came back after those that
/// did not, whatever the query's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_come_back_in_query_order() {
    let d = daemon("", 2).await;
    let http = d.http.to_string();
    let query = r#"{
        zeta: controls(filter: "workload:/w/ limit:10") { items { zMutes: muteHistory { action } aName: workloadName } }
        alpha: __typename
        mid: control(workloadId: "nope") { state }
        beta: __typename
    }"#;
    let (_, text) = graphql(&http, query).await;
    let at = |key: &str| {
        text.find(&format!("\"{key}\""))
            .unwrap_or_else(|| panic!("{key}: {text}"))
    };
    assert!(
        at("zeta") < at("alpha") && at("alpha") < at("mid") && at("mid") < at("beta"),
        "{text}"
    );
    assert!(at("zMutes") < at("aName"), "{text}");
    d.stop().await;
}

/// Finding 13: a JSON array (a batch) was called "not a GraphQL request".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_array_body_is_named_as_a_batch() {
    let d = daemon("", 0).await;
    let response = reqwest::Client::new()
        .post(format!("http://{}/graphql", d.http))
        .json(&json!([{ "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        first_error(&text)
            .0
            .contains("batched requests (a JSON array) are not supported"),
        "{text}"
    );
    d.stop().await;
}
