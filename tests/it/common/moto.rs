//! moto server as the EventBridge and SQS endpoint, driven with the real SDK.

use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{Value, json};

pub struct Moto {
    pub url: String,
    pub sqs: aws_sdk_sqs::Client,
    pub events: aws_sdk_eventbridge::Client,
}

/// A queue and its dead-letter queue.
pub struct Queue {
    pub url: String,
    pub arn: String,
    pub dlq_url: String,
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// The SDK configuration of a client talking to moto at `url`.
pub async fn sdk_config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(rel04d::aws::http_client())
        .region(aws_config::Region::new(super::REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(url)
        .load()
        .await
}

impl Moto {
    pub async fn connect() -> Moto {
        let url = std::env::var("REL04D_TEST_MOTO_URL").expect(
            "REL04D_TEST_MOTO_URL is not set: run scripts/test.sh, which starts moto server",
        );
        let sdk = sdk_config(&url).await;
        Moto {
            url,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            events: aws_sdk_eventbridge::Client::new(&sdk),
        }
    }

    async fn queue_arn(&self, url: &str) -> String {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        attributes.attributes().unwrap()[&QueueAttributeName::QueueArn].clone()
    }

    /// A queue whose messages move to a DLQ after `max_receives`; a short
    /// visibility timeout keeps redelivery fast in tests.
    pub async fn queue_with_dlq(&self, name: &str, max_receives: u32) -> Queue {
        let dlq_url = self
            .sqs
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let dlq_arn = self.queue_arn(&dlq_url).await;
        let redrive =
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}).to_string();
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::RedrivePolicy, redrive)
            .attributes(QueueAttributeName::VisibilityTimeout, "1")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = self.queue_arn(&url).await;
        Queue { url, arn, dlq_url }
    }

    /// A bus with a rule sending events that match `pattern` to `queue_arn`.
    pub async fn bus_to_queue(&self, bus: &str, pattern: Value, queue_arn: &str) {
        self.events
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .unwrap();
        let rule = format!("{bus}-rule");
        self.events
            .put_rule()
            .name(&rule)
            .event_bus_name(bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap();
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(queue_arn)
            .build()
            .unwrap();
        self.events
            .put_targets()
            .rule(&rule)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .unwrap();
    }

    /// Puts a CloudTrail-shaped event on `bus` as AWS would deliver it.
    pub async fn put_cloudtrail_event(&self, bus: &str, event: &Value) {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(bus)
            .source(event["source"].as_str().unwrap())
            .detail_type(event["detail-type"].as_str().unwrap())
            .detail(event["detail"].to_string())
            .build();
        let out = self
            .events
            .put_events()
            .entries(entry)
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_entry_count(), 0, "{out:?}");
    }

    /// Every message that arrives on `queue_url` within `wait`, deleted as read.
    pub async fn drain(&self, queue_url: &str, wait: Duration) -> Vec<aws_sdk_sqs::types::Message> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut messages = Vec::new();
        while tokio::time::Instant::now() < deadline {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            for message in out.messages.unwrap_or_default() {
                self.sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
                messages.push(message);
            }
        }
        messages
    }
}

/// The `detail` of each `Control State Changed` event among `messages`.
pub fn notifications(messages: &[aws_sdk_sqs::types::Message]) -> Vec<Value> {
    details_of(messages, "Control State Changed")
}

/// The `detail` of each event of `detail_type` among `messages`.
pub fn details_of(messages: &[aws_sdk_sqs::types::Message], detail_type: &str) -> Vec<Value> {
    messages
        .iter()
        .filter_map(|m| serde_json::from_str::<Value>(m.body()?).ok())
        .filter(|e| e["detail-type"] == detail_type)
        .map(|e| e["detail"].clone())
        .collect()
}
