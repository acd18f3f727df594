//! An independent rate limit in front of the simulator: at most `limit` calls
//! admitted in any one second (a sliding window, not the simulator's token
//! bucket), the rest answered `429 ThrottlingException` in the Tool's wire
//! format; admitted calls are passed to the simulator as they are.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

struct Window {
    limit: usize,
    admitted: Mutex<VecDeque<Instant>>,
    upstream: String,
    client: reqwest::Client,
    calls: AtomicU64,
    throttled: AtomicU64,
}

/// The proxy, serving until dropped.
pub struct WindowProxy {
    pub url: String,
    window: Arc<Window>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WindowProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WindowProxy {
    /// Serves on a free loopback port, in front of the simulator at `upstream`.
    pub async fn start(upstream: &str, limit: usize) -> WindowProxy {
        let window = Arc::new(Window {
            limit,
            admitted: Mutex::new(VecDeque::new()),
            upstream: upstream.to_owned(),
            client: reqwest::Client::new(),
            calls: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(window.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        WindowProxy { url, window, task }
    }

    /// Calls seen and calls throttled since the last reset.
    pub fn calls(&self) -> (u64, u64) {
        (
            self.window.calls.load(Ordering::SeqCst),
            self.window.throttled.load(Ordering::SeqCst),
        )
    }

    pub fn reset(&self) {
        self.window.calls.store(0, Ordering::SeqCst);
        self.window.throttled.store(0, Ordering::SeqCst);
    }
}

impl Window {
    fn admits(&self) -> bool {
        let now = Instant::now();
        let mut admitted = self.admitted.lock().unwrap();
        while admitted
            .front()
            .is_some_and(|at| now - *at >= Duration::from_secs(1))
        {
            admitted.pop_front();
        }
        if admitted.len() < self.limit {
            admitted.push_back(now);
            true
        } else {
            false
        }
    }
}

async fn forward(
    State(window): State<Arc<Window>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let tool_call = !path.starts_with("/_sim");
    if tool_call {
        window.calls.fetch_add(1, Ordering::SeqCst);
        if !window.admits() {
            window.throttled.fetch_add(1, Ordering::SeqCst);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("x-amzn-ErrorType", "ThrottlingException"),
                    ("content-type", "application/x-amz-json-1.1"),
                ],
                r#"{"__type":"ThrottlingException","Message":"Rate exceeded"}"#,
            )
                .into_response();
        }
    }
    let mut request = window
        .client
        .request(method, format!("{}{path}", window.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let Ok(answer) = request.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let mut out = HeaderMap::new();
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            out.insert(name.clone(), value.clone());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    (status, out, bytes).into_response()
}
