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

use tracing::Instrument;

use super::{EventHandler, Handled, Intake};
use crate::shutdown::CancellationToken;
use crate::wellarchitected::backoff;

/// Messages handled at once; beyond it the consumer stops receiving.
const IN_FLIGHT: usize = 64;

pub struct SqsConsumer {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub handler: Arc<EventHandler>,
    /// How long one long poll waits for a message (`events.sqs.wait_time`).
    pub wait: Duration,
    /// The time allowed for any call (`aws.call_timeout`); a long poll gets it
    /// on top of its wait, so an empty poll is an answer, not a timeout.
    pub call_timeout: Duration,
}

impl SqsConsumer {
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
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

    /// Handles one message inside an `sqs_message` span naming it (ERROR level
    /// so that no log level drops it; it writes no line of its own).
    async fn handle(&self, message: aws_sdk_sqs::types::Message) {
        let message_id = message.message_id().unwrap_or("");
        let span = tracing::error_span!("sqs_message", message_id);
        self.handle_in_span(&message).instrument(span).await
    }

    async fn handle_in_span(&self, message: &aws_sdk_sqs::types::Message) {
        let (Some(body), Some(receipt)) = (message.body(), message.receipt_handle()) else {
            return;
        };
        let attribute = |name: MessageSystemAttributeName| {
            message
                .attributes()
                .and_then(|a| a.get(&name))
                .map(String::as_str)
        };
        let sent = attribute(MessageSystemAttributeName::SentTimestamp)
            .and_then(|ms| ms.parse().ok())
            .and_then(chrono::DateTime::from_timestamp_millis);
        let receives =
            attribute(MessageSystemAttributeName::ApproximateReceiveCount).unwrap_or("1");
        // The handler logs every event it does not evaluate; here only what SQS
        // does with the message.
        let handled = match self.handler.handle(Intake::Sqs, body, sent).await {
            Ok(Handled::Malformed(_)) => {
                tracing::debug!(receives, "malformed message left for the dead-letter queue");
                return;
            }
            Ok(handled) => handled,
            Err(_) => {
                tracing::debug!(receives, "message left to be redelivered");
                return;
            }
        };
        tracing::debug!(outcome = handled.outcome().as_str(), "message handled");
        if let Err(error) = self
            .client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            // Redelivery is harmless: the event id is remembered as handled.
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "deleting a handled message failed");
        }
    }
}
