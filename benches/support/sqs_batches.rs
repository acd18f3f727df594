//! The load generator's SQS side: events sent to a queue on moto in batches.
//!
//! moto serves every request on one Python interpreter (one core at most) and
//! costs a few milliseconds of CPU per request whatever it carries; a
//! `SendMessage` also scans the whole queue (to read one queue attribute). One
//! message per request, as the generator sent before, costs moto ~8 ms of CPU
//! per event (the send, then the consumer's receive and delete of a lone
//! message): moto tops out near 120 events/s, and an open-loop generator then
//! piles up hundreds of connections (one moto thread each) until moto's accept
//! queue overflows. Here events go out with `SendMessageBatch`, ten at most,
//! from a few connections, so the consumer receives and deletes them ten at a
//! time too.
//!
//! An event's latency is still taken from just before its own batch is sent;
//! the time it waited in the generator for the batch to fill is reported apart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// SQS' most messages per `SendMessageBatch`.
const BATCH: usize = 10;
/// How long the first event of a batch waits for the batch to fill (10 events
/// arrive in 50 ms at 200/s).
const MAX_WAIT: Duration = Duration::from_millis(50);
/// Batches in flight at once (each on its own connection), at most.
const SENDERS: usize = 4;
/// Sends of one batch before the run fails.
const MAX_ATTEMPTS: usize = 50;

/// A fresh queue on moto at `moto_url`, and a client for it.
pub async fn queue(moto_url: &str) -> (aws_sdk_sqs::Client, String) {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(rel04d::aws::http_client())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .endpoint_url(moto_url)
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("bench-push-{:08x}", rand::random::<u32>()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (sqs, queue_url)
}

/// An event ready to send: its id and body, and when it was ready.
struct Ready {
    event_id: String,
    body: String,
    at: Instant,
}

/// What the batches did, for the report.
#[derive(Default)]
pub struct Sent {
    /// Each event's id and when its batch was first sent.
    pub events: Vec<(String, DateTime<Utc>)>,
    /// Each event's wait in the generator for its batch, in milliseconds.
    pub waits_ms: Vec<f64>,
    pub batches: usize,
    /// Events sent again after a failed send.
    pub resent: usize,
}

/// Takes events and sends them in batches; [`Batcher::finish`] waits for the
/// last.
#[derive(Clone)]
pub struct Batcher {
    ready: mpsc::UnboundedSender<Ready>,
}

pub struct Running {
    batcher: tokio::task::JoinHandle<()>,
    sent: Arc<Mutex<Sent>>,
}

impl Batcher {
    pub fn start(sqs: aws_sdk_sqs::Client, queue_url: String) -> (Batcher, Running) {
        let (ready, receiver) = mpsc::unbounded_channel();
        let sent: Arc<Mutex<Sent>> = Arc::default();
        let batcher = tokio::spawn(batch(receiver, sqs, queue_url, sent.clone()));
        (Batcher { ready }, Running { batcher, sent })
    }

    /// Queues an event for the next batch.
    pub fn send(&self, event_id: String, body: String) {
        let at = Instant::now();
        self.ready
            .send(Ready { event_id, body, at })
            .expect("the batcher runs until every Batcher is dropped");
    }
}

impl Running {
    /// Waits until every queued event is sent (every [`Batcher`] dropped).
    pub async fn finish(self) -> Sent {
        self.batcher.await.unwrap();
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

/// Gathers events into batches of [`BATCH`], or fewer once the first has
/// waited [`MAX_WAIT`], and sends each on one of [`SENDERS`].
async fn batch(
    mut ready: mpsc::UnboundedReceiver<Ready>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    sent: Arc<Mutex<Sent>>,
) {
    let senders = Arc::new(Semaphore::new(SENDERS));
    while let Some(first) = ready.recv().await {
        let deadline = first.at + MAX_WAIT;
        let mut events = vec![first];
        while events.len() < BATCH {
            match tokio::time::timeout_at(deadline, ready.recv()).await {
                Ok(Some(event)) => events.push(event),
                Ok(None) | Err(_) => break,
            }
        }
        let permit = senders.clone().acquire_owned().await.unwrap();
        let (sqs, queue_url, sent) = (sqs.clone(), queue_url.clone(), sent.clone());
        tokio::spawn(async move {
            send_batch(&sqs, &queue_url, events, &sent).await;
            drop(permit);
        });
    }
    let _ = senders.acquire_many(SENDERS as u32).await;
}

/// Sends one batch, again (its failed entries, or all of it after a failed
/// call) 100 ms later, at most [`MAX_ATTEMPTS`] times.
async fn send_batch(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    events: Vec<Ready>,
    sent: &Mutex<Sent>,
) {
    let now = Instant::now();
    let at = Utc::now();
    {
        let mut sent = sent.lock().unwrap();
        sent.batches += 1;
        for event in &events {
            sent.events.push((event.event_id.clone(), at));
            sent.waits_ms.push((now - event.at).as_secs_f64() * 1000.0);
        }
    }
    let mut unsent: Vec<&Ready> = events.iter().collect();
    for attempt in 1..=MAX_ATTEMPTS {
        let entries = unsent
            .iter()
            .enumerate()
            .map(|(n, event)| {
                SendMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .message_body(&event.body)
                    .build()
                    .unwrap()
            })
            .collect();
        let error = match sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) if output.failed.is_empty() => return,
            Ok(output) => {
                let failed: Vec<usize> = output
                    .failed
                    .iter()
                    .filter_map(|entry| entry.id.parse().ok())
                    .collect();
                let error = format!("{:?}", output.failed);
                unsent = failed.into_iter().map(|n| unsent[n]).collect();
                error
            }
            Err(error) => format!("{error:?}"),
        };
        assert!(
            attempt < MAX_ATTEMPTS,
            "{MAX_ATTEMPTS} sends of a batch failed, the last: {error}"
        );
        sent.lock().unwrap().resent += unsent.len();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
