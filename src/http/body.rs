//! Reading a request body with a size cap and a deadline: a client that sends a
//! body slowly, or never finishes it, is answered and let go.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use futures::StreamExt;

use super::access::Refusal;

/// The whole body, at most `max` bytes, within `deadline`.
pub async fn read(body: Body, max: usize, deadline: Duration) -> Result<Bytes, Refusal> {
    let collect = async {
        let mut stream = body.into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the request body: {e}"),
                )
            })?;
            if bytes.len() + chunk.len() > max {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is over {max} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(bytes))
    };
    tokio::time::timeout(deadline, collect)
        .await
        .unwrap_or_else(|_| {
            Err((
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} (http.body_read_timeout)",
                    humantime::format_duration(deadline)
                ),
            ))
        })
}
