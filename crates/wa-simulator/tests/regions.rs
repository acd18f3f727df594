//! `Simulator::serve_regions`: each signed request reaches its region's
//! simulator, and what a request costs does not grow with the number of regions
//! served (the fleet bench serves 1,000 on the cores it measures the daemon on).
//! Cost is counted in heap allocations, not time: this binary's allocator
//! counts them, so the test is exact on a noisy machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use rel04d_simulator::Simulator;

struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const REQUESTS: u64 = 40;

/// The tests of this binary one at a time: the allocation count is the process's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// ListWorkloads as an SDK signs it for `region` (the simulator reads the
/// credential scope, not the signature).
async fn list_workloads(http: &reqwest::Client, url: &str, region: &str) -> reqwest::StatusCode {
    http.post(format!("{url}/workloadsSummaries"))
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20261206/{region}/wellarchitected/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=00"
            ),
        )
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap()
        .status()
}

/// Serves `regions` simulators (one workload each) and sends [`REQUESTS`]
/// ListWorkloads signed for the last region; returns the allocations per
/// request (server and client) and the calls each simulator counted.
async fn allocations_per_request(regions: usize) -> (u64, Vec<u64>) {
    let sims: Vec<Simulator> = (0..regions)
        .map(|n| Simulator::generated(&format!("test-r-{n:04}"), 1, n as u64 + 1))
        .collect();
    let server = Simulator::serve_regions("127.0.0.1:0".parse().unwrap(), &sims)
        .await
        .unwrap();
    let url = server.url();
    let last = sims.last().unwrap().region().to_owned();
    let http = reqwest::Client::new();
    // Warm up: the connection, the runtime's and the router's lazy state.
    for _ in 0..5 {
        assert!(list_workloads(&http, &url, &last).await.is_success());
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..REQUESTS {
        assert!(list_workloads(&http, &url, &last).await.is_success());
    }
    let per_request = (ALLOCATIONS.load(Ordering::Relaxed) - before) / REQUESTS;
    let calls = sims.iter().map(|s| s.calls().total).collect();
    server.shutdown().await;
    (per_request, calls)
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_costs_the_same_with_one_region_or_a_thousand() {
    let _serial = SERIAL.lock().await;
    let (one, calls) = allocations_per_request(1).await;
    assert_eq!(calls, vec![REQUESTS + 5]);
    let (thousand, calls) = allocations_per_request(1_000).await;
    assert_eq!(
        calls[999],
        REQUESTS + 5,
        "signed requests reach their region"
    );
    assert_eq!(calls[..999].iter().sum::<u64>(), 0, "and no other");
    // Equal but for noise (a connection's buffers growing, a timer wheel
    // level): copying the region table per request would add ~1,000.
    assert!(
        thousand <= one + 20,
        "{thousand} allocations per request with 1,000 regions, {one} with one"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn unsigned_and_unknown_regions_go_to_the_first_simulator() {
    let _serial = SERIAL.lock().await;
    let sims: Vec<Simulator> = ["test-a", "test-b", "test-a"]
        .iter()
        .enumerate()
        .map(|(n, region)| Simulator::generated(region, 1, n as u64 + 1))
        .collect();
    let server = Simulator::serve_regions("127.0.0.1:0".parse().unwrap(), &sims)
        .await
        .unwrap();
    let url = server.url();
    let http = reqwest::Client::new();
    for region in ["test-b", "test-a", "elsewhere"] {
        assert!(list_workloads(&http, &url, region).await.is_success());
    }
    let unsigned = http
        .post(format!("{url}/workloadsSummaries"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(unsigned.status().is_success());
    let calls: Vec<u64> = sims.iter().map(|s| s.calls().total).collect();
    // test-a twice (signed, then "elsewhere"), unsigned once; the second
    // test-a simulator is shadowed by the first.
    assert_eq!(calls, vec![3, 1, 0]);
    server.shutdown().await;
}
