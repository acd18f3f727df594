//! The SQS consumer: long-polls the queue fed by the EventBridge rule.
//!
//! A message is deleted only after its event is handled (evaluation recorded,
//! duplicate, or irrelevant). A malformed message is logged with the reason and
//! left alone: the queue's redrive policy moves it to the dead-letter queue after
//! its maximum receives. A failed evaluation is left too, to be redelivered.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use aws_smithy_types::timeout::TimeoutConfig;
use tokio::sync::Semaphore;

use super::{EventHandler, Handled, Incoming, Intake};
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
            if messages.is_empty() {
                continue;
            }
            // A received batch is handled together: one statement remembers
            // its evaluated events and one call deletes its handled messages.
            let permit = permits
                .clone()
                .acquire_many_owned(messages.len() as u32)
                .await
                .expect("never closed");
            let consumer = self.clone();
            tokio::spawn(async move {
                consumer.handle_batch(messages).await;
                drop(permit);
            });
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

    /// Handles a received batch, each message inside an `sqs_message` span
    /// naming it (ERROR level so that no log level drops it; it writes no line
    /// of its own); then remembers the evaluated events' ids and deletes every
    /// handled message. A message not handled (malformed, deferred, failed) is
    /// left to be redelivered or dead-lettered; so is every evaluated one if
    /// its id cannot be remembered (evaluating it again is harmless).
    async fn handle_batch(&self, messages: Vec<aws_sdk_sqs::types::Message>) {
        let received: Vec<(Incoming<'_>, &str, &str)> = messages
            .iter()
            .filter_map(|message| {
                let (body, receipt) = (message.body()?, message.receipt_handle()?);
                let attribute = |name: MessageSystemAttributeName| {
                    message
                        .attributes()
                        .and_then(|a| a.get(&name))
                        .map(String::as_str)
                };
                let queued_at = attribute(MessageSystemAttributeName::SentTimestamp)
                    .and_then(|ms| ms.parse().ok())
                    .and_then(chrono::DateTime::from_timestamp_millis);
                let receives =
                    attribute(MessageSystemAttributeName::ApproximateReceiveCount).unwrap_or("1");
                let message_id = message.message_id().unwrap_or("");
                let span = tracing::error_span!("sqs_message", message_id);
                Some((
                    Incoming {
                        body,
                        parsed: None,
                        queued_at,
                        span,
                    },
                    receipt,
                    receives,
                ))
            })
            .collect();
        let mut events: Vec<Incoming<'_>> = received
            .iter()
            .map(|(incoming, ..)| Incoming {
                body: incoming.body,
                parsed: None,
                queued_at: incoming.queued_at,
                span: incoming.span.clone(),
            })
            .collect();
        let results = match self.handler.handle_batch(Intake::Sqs, &mut events).await {
            Ok(results) => results,
            Err(error) => {
                tracing::warn!(
                    error = crate::display::chain(&error).to_string(),
                    "looking up a batch of SQS events failed; they are left to be redelivered"
                );
                return;
            }
        };
        // Handled without an evaluation to remember (duplicate, irrelevant…),
        // and evaluated (with the id to remember): each by receipt handle.
        let mut settled = Vec::new();
        let mut evaluated = Vec::new();
        for ((incoming, receipt, receives), result) in received.iter().zip(results) {
            let _in_span = incoming.span.enter();
            match result {
                Ok((Handled::Malformed(_), _)) => {
                    tracing::debug!(receives, "malformed message left for the dead-letter queue");
                }
                Ok((handled, remembered)) => {
                    let outcome = handled.outcome().as_str();
                    tracing::debug!(outcome, "message handled");
                    match remembered {
                        Some(event_id) => evaluated.push((*receipt, (event_id, outcome))),
                        None => settled.push(*receipt),
                    }
                }
                Err(_) => tracing::debug!(receives, "message left to be redelivered"),
            }
        }
        let remember: Vec<(String, &'static str)> = evaluated
            .iter()
            .map(|(_, handled)| handled.clone())
            .collect();
        match self.handler.remember(&remember).await {
            Ok(()) => settled.extend(evaluated.iter().map(|(receipt, _)| *receipt)),
            Err(error) => tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "remembering handled SQS events failed; their messages are left to be redelivered"
            ),
        }
        self.delete(&settled).await;
    }

    /// Deletes handled messages by receipt handle, ten to a call (SQS' most).
    /// A message not deleted is redelivered, which is harmless: its event id
    /// is remembered as handled.
    async fn delete(&self, receipts: &[&str]) {
        for chunk in receipts.chunks(10) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(n, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(*receipt)
                        .build()
                        .ok()
                })
                .collect();
            let deleted = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            match deleted {
                Ok(output) if output.failed.is_empty() => {}
                Ok(output) => {
                    for failed in &output.failed {
                        tracing::warn!(code = %failed.code, message = failed.message.as_deref().unwrap_or(""), "deleting a handled message failed");
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&error), "deleting handled messages failed");
                }
            }
        }
    }
}
