//! Heavy pages cannot starve the daemon, or fail `/readyz`.

use super::{get, seeded};

/// Many heavy page requests at once, against a pool of two connections: pages
/// take their turns (one at a time: half the pool) and every answer is a page or
/// a 503 naming the limit, while `/readyz` keeps answering ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_pages_in_parallel_do_not_fail_readiness() {
    let (d, _) = seeded(300, 20, "[database]\nmax_connections = 2").await;
    let heavy = [
        "/?q=sort%3A-updated_at&page=6",
        "/?q=sort%3Astate&page=5",
        "/?q=workload%3A%2F.*9%24%2F+sort%3A-evaluated_at&page=2",
        "/?q=sort%3A-workload_name&page=4",
    ];
    let pages = (0..24).map(|n| {
        let path = heavy[n % heavy.len()];
        let d = &d;
        async move { get(d, path, &[]).await }
    });
    let probes = (0..24).map(|_| {
        let d = &d;
        async move { get(d, "/readyz", &[]).await }
    });
    let (pages, probes) = tokio::join!(
        futures::future::join_all(pages),
        futures::future::join_all(probes)
    );
    for (status, body) in probes {
        assert_eq!(status, 200, "/readyz: {body}");
    }
    for (status, body) in pages {
        assert!(
            status == 200 || (status == 503 && body.contains("pages at once is the limit")),
            "{status}: {body}"
        );
    }
    d.stop().await;
}
