//! The SQS consumer: long-polls the queue fed by the EventBridge rule.
//!
//! A message is deleted only after its event is handled (evaluation recorded,
//! duplicate, or irrelevant). A malformed message is logged with the reason and
//! left alone: the queue's redrive policy moves it to the dead-letter queue after
//! its maximum receives. A failed evaluation is left too, to be redelivered.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use aws_smithy_types::timeout::TimeoutConfig;
use tokio::sync::Semaphore;

use super::{EventHandler, Handled};
use crate::metrics::Metrics;
use crate::shutdown::CancellationToken;
use crate::wellarchitected::backoff;

/// Messages handled at once; beyond it the consumer stops receiving.
const IN_FLIGHT: usize = 64;

pub struct SqsConsumer {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub handler: Arc<EventHandler>,
    pub metrics: Arc<Metrics>,
    /// How long one long poll waits for a message (`events.sqs.wait_time`).
    pub wait: Duration,
    /// The time allowed for any call (`aws.call_timeout`); a long poll gets it
    /// on top of its wait, so an empty poll is an answer, not a timeout.
    pub call_timeout: Duration,
}

impl SqsConsumer {
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        self.metrics.describe(
            "rel04d_event_lag_seconds",
            "gauge",
            "From an event's arrival in SQS to its evaluation recorded (last event).",
        );
        let permits = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut failures = 0;
        tracing::info!(queue_url = %self.queue_url, "consuming events from SQS");
        loop {
            let receive = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(self.wait.as_secs() as i32)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .customize()
                .config_override(self.long_poll_timeouts())
                .send();
            let output = tokio::select! {
                output = receive => output,
                _ = shutdown.cancelled() => break,
            };
            let messages = match output {
                Ok(output) => {
                    failures = 0;
                    output.messages.unwrap_or_default()
                }
                Err(error) => {
                    failures += 1;
                    let wait = backoff(
                        failures,
                        Duration::from_millis(200),
                        Duration::from_secs(30),
                    );
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&error), retry_in_ms = wait.as_millis() as u64, "receiving from SQS failed");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => continue,
                        _ = shutdown.cancelled() => break,
                    }
                }
            };
            for message in messages {
                let permit = permits.clone().acquire_owned().await.expect("never closed");
                let consumer = self.clone();
                tokio::spawn(async move {
                    consumer.handle(message).await;
                    drop(permit);
                });
            }
        }
        // Let in-flight messages finish (the supervisor's drain deadline bounds
        // this); unfinished ones are redelivered.
        let _ = permits.acquire_many(IN_FLIGHT as u32).await;
    }

    /// Timeouts for ReceiveMessage: the attempt may last the whole wait and then
    /// the usual call time.
    fn long_poll_timeouts(&self) -> aws_sdk_sqs::config::Builder {
        aws_sdk_sqs::config::Builder::default().timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(self.wait + self.call_timeout)
                .build(),
        )
    }

    async fn handle(&self, message: aws_sdk_sqs::types::Message) {
        let (Some(body), Some(receipt)) = (message.body(), message.receipt_handle()) else {
            return;
        };
        let message_id = message.message_id().unwrap_or("");
        let attribute = |name: MessageSystemAttributeName| {
            message
                .attributes()
                .and_then(|a| a.get(&name))
                .map(String::as_str)
        };
        let sent_ms: Option<i64> =
            attribute(MessageSystemAttributeName::SentTimestamp).and_then(|t| t.parse().ok());
        let receives =
            attribute(MessageSystemAttributeName::ApproximateReceiveCount).unwrap_or("1");
        // The handler logs every event it does not evaluate; here only what SQS
        // does with the message.
        let handled = match self.handler.handle("sqs", body).await {
            Ok(Handled::Malformed(_)) => {
                tracing::debug!(
                    message_id,
                    receives,
                    "malformed message left for the dead-letter queue"
                );
                return;
            }
            Ok(handled) => handled,
            Err(_) => {
                tracing::debug!(message_id, receives, "message left to be redelivered");
                return;
            }
        };
        if let Some(sent_ms) = sent_ms {
            let lag = (chrono::Utc::now().timestamp_millis() - sent_ms).max(0) as f64 / 1000.0;
            self.metrics
                .set("rel04d_event_lag_seconds", &[("intake", "sqs")], lag);
        }
        tracing::debug!(message_id, outcome = handled.outcome(), "message handled");
        if let Err(error) = self
            .client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            // Redelivery is harmless: the event id is remembered as handled.
            tracing::warn!(message_id, error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "deleting a handled message failed");
        }
    }
}
