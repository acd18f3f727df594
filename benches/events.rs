//! Event latency benchmark: CloudTrail-shaped UpdateAnswer events sent to an SQS
//! queue (moto) at a steady rate, each for a workload whose answer just changed,
//! so each causes exactly one transition. Reports, from the moment SendMessage
//! returned (the message is in SQS), the time to the transition committed and to
//! its notification accepted by EventBridge (moto): p50, p99, max.
//!
//!     scripts/bench.sh events        # starts moto, then runs this
//!     REL04D_TEST_MOTO_URL=http://127.0.0.1:PORT cargo bench --bench events -- [rate] [seconds]

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rel04d::aws::{AwsSetup, Endpoints};
use rel04d::config::Settings;
use rel04d::events::sample::update_answer_event;
use rel04d::startup::Daemon;
use rel04d_simulator::{AnswerSpec, Simulator};
use sqlx::Row;

mod support;

const REGION: &str = "us-east-1";
const WORKLOADS: usize = 500;
const ALL_FOUR: [&str; 4] = [
    "rel_prevent_interaction_failure_identify",
    "rel_prevent_interaction_failure_loosely_coupled_system",
    "rel_prevent_interaction_failure_idempotent",
    "rel_prevent_interaction_failure_constant_work",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(label: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    println!(
        "{label:<28} n={:<5} p50={:>7.1} ms  p99={:>7.1} ms  max={:>7.1} ms",
        values.len(),
        percentile(&values, 0.5),
        percentile(&values, 0.99),
        values.last().copied().unwrap_or(0.0)
    );
}

fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::main]
async fn main() {
    let args = support::positional_args();
    let rate: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(50.0);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let moto_url = std::env::var("REL04D_TEST_MOTO_URL")
        .expect("set REL04D_TEST_MOTO_URL (scripts/bench.sh events does)");

    let moto_sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(rel04d::aws::http_client())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .endpoint_url(&moto_url)
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&moto_sdk);
    let events = aws_sdk_eventbridge::Client::new(&moto_sdk);
    let suffix = format!("{:08x}", rand::random::<u32>());
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("bench-intake-{suffix}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let bus = format!("bench-out-{suffix}");
    events.create_event_bus().name(&bus).send().await.unwrap();

    let sim = Simulator::new(REGION);
    let ids: Vec<String> = (0..WORKLOADS)
        .map(|i| {
            sim.add_workload(rel04d_simulator::WorkloadSpec {
                id: None,
                name: format!("bench-{i:04}"),
                owner: "111122223333".into(),
                lenses: vec!["wellarchitected".into()],
                tags: Default::default(),
                answer: AnswerSpec {
                    selected: ALL_FOUR.iter().map(|s| s.to_string()).collect(),
                    not_applicable: vec![],
                    is_applicable: true,
                },
            })
            .id
        })
        .collect();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let env: HashMap<String, String> = [
        ("REL04D__DATABASE__URL", database_url.as_str()),
        ("REL04D__AWS__REGIONS", REGION),
        ("REL04D__AWS__MAX_REQUESTS_PER_SECOND", "2000"),
        ("REL04D__SCHEDULE__INTERVAL", "1h"),
        ("REL04D__SCHEDULE__JITTER", "0s"),
        ("REL04D__EVENTS__SQS__QUEUE_URL", queue_url.as_str()),
        ("REL04D__NOTIFY__EVENT_BUS", bus.as_str()),
        (
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        ),
        ("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let settings = Settings::load_with(None, Some(env)).unwrap();
    let endpoints = Endpoints {
        wellarchitected: Some(server.url()),
        sqs: Some(moto_url.clone()),
        eventbridge: Some(moto_url.clone()),
        securityhub: None,
        sts: None,
        organizations: None,
    };
    let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
    let daemon = Daemon::build(settings, Some(setup)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(daemon.clone().run_on(listener, async move {
        let _ = stopped.await;
    }));
    // Wait for the first sweep and its notifications to settle.
    loop {
        let counts = daemon.store.count_by_state().await.unwrap_or_default();
        if counts
            .iter()
            .any(|c| c.state == "ok" && c.count == WORKLOADS as i64)
            && daemon.store.outbox_backlog().await.unwrap() == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    println!("sending {rate} events/s for {seconds} s, each changing one of {WORKLOADS} workloads");
    let mut sent_at: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut broken = vec![false; WORKLOADS];
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let total = (rate * seconds as f64) as usize;
    for n in 0..total {
        ticker.tick().await;
        let index = n % WORKLOADS;
        broken[index] = !broken[index];
        let selected = if broken[index] {
            &ALL_FOUR[..2]
        } else {
            &ALL_FOUR[..]
        };
        sim.set_answer(
            &ids[index],
            AnswerSpec {
                selected: selected.iter().map(|s| s.to_string()).collect(),
                not_applicable: vec![],
                is_applicable: true,
            },
        )
        .unwrap();
        let event_id = format!("bench-{suffix}-{n}");
        let body = update_answer_event(&event_id, "111122223333", REGION, &ids[index]).to_string();
        // Taken before the send: the message arrives in SQS during the call, so this
        // over-states the latency by at most one SendMessage round trip.
        sent_at.insert(event_id, Utc::now());
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    // Let everything commit and publish.
    let pool = raw_pool(&database_url).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let committed: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM transitions WHERE \"trigger\" = 'event'")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get("n");
        if committed as usize >= total && daemon.store.outbox_backlog().await.unwrap() == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {committed} of {total} events committed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = sqlx::query(
        "SELECT t.event_id, t.occurred_at, o.published_at FROM transitions t JOIN outbox o ON o.transition_id = t.id \
         WHERE t.\"trigger\" = 'event'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut to_commit = Vec::new();
    let mut to_publish = Vec::new();
    for row in rows {
        let event_id: String = row.get("event_id");
        let Some(sent) = sent_at.get(&event_id) else {
            continue;
        };
        let committed = parse_time(&row.get::<String, _>("occurred_at"));
        let published = parse_time(&row.get::<String, _>("published_at"));
        to_commit.push((committed - *sent).num_microseconds().unwrap() as f64 / 1000.0);
        to_publish.push((published - *sent).num_microseconds().unwrap() as f64 / 1000.0);
    }
    summary("SQS → transition committed", to_commit);
    summary("SQS → EventBridge accepted", to_publish);
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    server.shutdown().await;
}

async fn raw_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}
