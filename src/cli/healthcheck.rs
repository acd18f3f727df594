//! `rel04d healthcheck`: a container health probe with no shell or curl needed.
//! It GETs `/healthz` (or `/readyz`) from the daemon on `http.listen` over plain
//! HTTP/1.1 and exits 0 only on a 200.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where to reach a server listening on `listen`: a wildcard address is reached
/// on loopback.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// GETs `path` from `address`; Ok when the status is 200, else why not.
pub async fn probe(address: SocketAddr, path: &str, timeout: Duration) -> Result<(), String> {
    let url = format!("http://{address}{path}");
    let exchange = async {
        let mut stream = TcpStream::connect(address)
            .await
            .map_err(|e| e.to_string())?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .take(64 * 1024)
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| {
            format!(
                "GET {url}: timed out after {}",
                humantime::format_duration(timeout)
            )
        })?
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        return Ok(());
    }
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").trim();
    Err(format!("GET {url}: HTTP {status}: {body:.200}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_are_probed_on_loopback() {
        assert_eq!(
            probe_address("0.0.0.0:9404".parse().unwrap()),
            "127.0.0.1:9404".parse().unwrap()
        );
        assert_eq!(
            probe_address("[::]:9404".parse().unwrap()),
            "[::1]:9404".parse().unwrap()
        );
        assert_eq!(
            probe_address("10.0.0.5:9404".parse().unwrap()),
            "10.0.0.5:9404".parse().unwrap()
        );
    }

    #[tokio::test]
    async fn a_refused_connection_and_a_non_200_status_are_failures() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let err = probe(address, "/healthz", Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(
            err.starts_with(&format!("GET http://{address}/healthz: ")),
            "{err}"
        );

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 8\r\n\r\nnot yet\n",
                )
                .await;
        });
        let err = probe(address, "/readyz", Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(err.ends_with("HTTP 503: not yet"), "{err}");
    }
}
