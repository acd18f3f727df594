//! Status page benchmark: the release daemon (`rel04d run`) after its first sweep
//! of the release simulator's N workloads, then the time to answer each page
//! over loopback HTTP (server-side reads and rendering plus one local round
//! trip), sequentially, as median and 95th percentile of R requests.
//!
//!     cargo bench --bench status_page                # N = 1,000 and 10,000, R = 50
//!     cargo bench --bench status_page -- 10000 100   # one N, R requests per page

use std::process::Stdio;
use std::time::{Duration, Instant};

mod support;

/// A loopback port nobody listens on now (the daemon binds it next).
/// The median and 95th percentile of `times`, in milliseconds.
fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.95))
}

async fn bench(workloads: usize, requests: usize) {
    let sim = support::simulator(&["--workloads".into(), workloads.to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let mut daemon = support::daemon(&sim.url, dir.path(), &format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    // The first sweep is complete when its counter appears in /metrics.
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
            continue;
        };
        let text = response.text().await.unwrap_or_default();
        if text.contains("result=\"complete\"") {
            break;
        }
    }
    let overview = client
        .get(&base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let workload_id = overview
        .split("data-workload-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the overview lists controls")
        .to_owned();
    let pages = [
        ("overview, no filter (page 1)", "/".to_owned()),
        ("overview, state:alarm", "/?q=state%3Aalarm".to_owned()),
        (
            "overview, sort:-evaluated_at, page 10",
            "/?q=sort%3A-evaluated_at&page=10".to_owned(),
        ),
        (
            "overview, sort:-updated_at, last page",
            format!(
                "/?q=sort%3A-updated_at&page={}",
                workloads.div_ceil(50).max(1)
            ),
        ),
        (
            "overview, regex workload:/7$/",
            "/?q=workload%3A%2F7%24%2F".to_owned(),
        ),
        ("control page", format!("/controls/{workload_id}")),
    ];
    for (name, path) in pages {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(requests);
        let mut bytes = 0;
        for _ in 0..requests {
            let started = Instant::now();
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
            bytes = response.bytes().await.unwrap().len();
            times.push(started.elapsed());
        }
        let (median, p95) = percentiles(times);
        println!(
            "N={workloads} {name:<40} median={median:.2}ms p95={p95:.2}ms size={:.1}KiB",
            bytes as f64 / 1024.0
        );
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
}

#[tokio::main]
async fn main() {
    let args = support::positional_args();
    let sizes: Vec<usize> = match args.first().and_then(|a| a.parse().ok()) {
        Some(n) => vec![n],
        None => vec![1_000, 10_000],
    };
    let requests: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    for workloads in sizes {
        bench(workloads, requests).await;
    }
}
