//! `rel04d demo` as a newcomer runs it: the first thing it prints is where to
//! watch, and that address serves the status page while the demo runs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn the_demo_first_says_where_its_status_page_is_and_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_rel04d"))
        .args(["demo", "--duration", "20s", "--workloads", "5"])
        .current_dir(dir.path())
        .env_remove("REL04D_CONFIG")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run rel04d demo");
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    let url = first
        .strip_prefix("rel04d demo: open the status page at ")
        .unwrap_or_else(|| panic!("the first line names the status page: {first}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // The daemon starts listening right after the line is printed.
    let mut page = None;
    for _ in 0..100 {
        if let Ok(response) = reqwest::get(&url).await {
            page = Some((response.status(), response.text().await.unwrap()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, body) = page.expect("the status page answers");
    assert_eq!(status, 200);
    assert!(body.contains("<title>Overview · rel04d</title>"), "{body}");
    demo.kill().unwrap();
    demo.wait().unwrap();
}
