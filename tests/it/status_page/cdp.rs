//! Just enough of the Chrome DevTools protocol to drive headless Chromium: start
//! it on a fresh profile, attach to its page, evaluate JavaScript, navigate and
//! take screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The Chromium binary: `$REL04D_CHROMIUM`, else Debian's `chromium` on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REL04D_CHROMIUM") {
        return Some(path.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|path| path.is_file())
    })
}

pub struct Browser {
    child: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts headless Chromium at `url` and attaches to that page.
    pub async fn launch(chromium: &Path, url: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(chromium)
            .args([
                "--headless=new",
                // As root (CI), Chromium refuses to start sandboxed.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes the port it chose to DevToolsActivePort in the profile.
        let port_file = profile.path().join("DevToolsActivePort");
        crate::common::process::wait_until(
            "Chromium's DevTools port",
            Duration::from_secs(60),
            || async { port_file.exists() },
        )
        .await;
        let text = std::fs::read_to_string(&port_file).unwrap();
        let port: u16 = text.lines().next().unwrap().trim().parse().unwrap();
        let list = format!("http://127.0.0.1:{port}/json/list");
        let mut page_socket = None;
        for _ in 0..100 {
            let targets: Value = reqwest::get(&list).await.unwrap().json().await.unwrap();
            page_socket = targets
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_owned));
            if page_socket.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (socket, _) = tokio_tungstenite::connect_async(page_socket.expect("a page target"))
            .await
            .expect("attach to the page");
        Browser {
            child,
            socket,
            next_id: 0,
            _profile: profile,
        }
    }

    /// Sends one command and returns its result (events in between are skipped).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        match self.send(method, params).await {
            Ok(result) => result,
            Err(error) => panic!("{method}: {error}"),
        }
    }

    /// Sends one command: its result, or the error the browser answered.
    async fn send(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let command = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::Text(command.to_string().into()))
            .await
            .unwrap();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(60), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"))
                .expect("the DevTools socket is open")
                .unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                return if reply["error"].is_null() {
                    Ok(reply["result"].clone())
                } else {
                    Err(reply["error"].clone())
                };
            }
        }
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        match self.try_eval(expression).await {
            Ok(value) => value,
            Err(error) => panic!("Runtime.evaluate: {error}"),
        }
    }

    /// [`Browser::eval`], or the browser's error, such as the page navigating
    /// away while the expression ran.
    async fn try_eval(&mut self, expression: &str) -> Result<Value, Value> {
        let params =
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        let result = self.send("Runtime.evaluate", params).await?;
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {result}"
        );
        Ok(result["result"]["value"].clone())
    }

    /// Waits until `expression` is true in the page; panics naming `what` after a minute.
    /// A wait often spans a navigation (a submitted form): an evaluation the
    /// navigation cut short is asked again of the new page.
    pub async fn wait_for(&mut self, what: &str, expression: &str) {
        for _ in 0..600 {
            match self.try_eval(expression).await {
                Ok(Value::Bool(true)) => return,
                Ok(_) => {}
                Err(error) if navigated(&error) => {}
                Err(error) => panic!("Runtime.evaluate: {error}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let html = self.eval("document.body.innerText").await;
        panic!("the page never showed {what} ({expression}); it shows:\n{html}");
    }

    /// A PNG of the page at `width` × `height` CSS pixels, whole length.
    pub async fn screenshot(&mut self, path: &Path, width: u32) {
        let height = self
            .eval("Math.ceil(document.documentElement.scrollHeight)")
            .await
            .as_u64()
            .unwrap_or(900);
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 }),
        )
        .await;
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let png = data_encoding::BASE64
            .decode(shot["data"].as_str().unwrap().as_bytes())
            .unwrap();
        std::fs::write(path, png).unwrap();
        self.call("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a DevTools error says the page navigated (or closed) under the command.
fn navigated(error: &Value) -> bool {
    error["message"]
        .as_str()
        .is_some_and(|message| message.contains("navigated or closed"))
}
