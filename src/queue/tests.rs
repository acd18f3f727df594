use super::*;

fn listed(id: &str) -> Job {
    Job {
        target: Target::Listed(
            Workload {
                arn: format!("arn:{id}"),
                id: id.to_owned(),
                name: id.to_owned(),
                account_id: "111122223333".into(),
                region: "us-east-1".into(),
                lenses: vec![],
                tags: None,
                data: None,
            },
            Stored::Unread,
        ),
        trigger: Trigger::Sweep,
    }
}

fn event(id: &str, event_id: &str) -> Job {
    Job {
        target: Target::Id(id.to_owned()),
        trigger: Trigger::Event(event_id.to_owned()),
    }
}

#[tokio::test]
async fn requests_for_a_queued_workload_join_it() {
    let queue: WorkQueue<u32> = WorkQueue::new();
    let a = queue.push(listed("w1"));
    let b = queue.push(event("w1", "e1"));
    let c = queue.push(event("w1", "e2"));
    let other = queue.push(listed("w2"));
    assert_eq!(queue.len(), 2);

    let job = queue.pop().await.unwrap();
    assert_eq!(
        job.target,
        Target::Id("w1".into()),
        "a fresh read beats a listed summary"
    );
    assert_eq!(
        job.trigger,
        Trigger::Event("e2".into()),
        "the latest event is the cause"
    );
    queue.complete("w1", Ok(7));
    assert_eq!(
        (a.await.unwrap(), b.await.unwrap(), c.await.unwrap()),
        (Ok(7), Ok(7), Ok(7))
    );

    assert_eq!(queue.pop().await.unwrap().workload_id(), "w2");
    queue.complete("w2", Err("boom".into()));
    assert_eq!(other.await.unwrap(), Err("boom".into()));
    assert!(queue.is_empty());
}

#[tokio::test]
async fn a_request_during_a_run_gets_exactly_one_more_run() {
    let queue: WorkQueue<u32> = WorkQueue::new();
    let first = queue.push(event("w1", "e1"));
    let job = queue.pop().await.unwrap();
    assert_eq!(job.trigger, Trigger::Event("e1".into()));

    // While w1 runs, a burst arrives: it must not run concurrently, and it must
    // run once more afterwards (the running evaluation may have read stale data).
    let burst: Vec<_> = (2..6)
        .map(|n| queue.push(event("w1", &format!("e{n}"))))
        .collect();
    let third = queue.push(listed("w1"));
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(20), queue.pop())
            .await
            .is_err(),
        "no second concurrent run of w1"
    );
    queue.complete("w1", Ok(1));
    assert_eq!(first.await.unwrap(), Ok(1));

    let rerun = queue.pop().await.unwrap();
    assert_eq!(rerun.trigger, Trigger::Event("e5".into()));
    assert_eq!(rerun.target, Target::Id("w1".into()));
    queue.complete("w1", Ok(2));
    for rx in burst {
        assert_eq!(rx.await.unwrap(), Ok(2));
    }
    assert_eq!(third.await.unwrap(), Ok(2));
    assert!(queue.is_empty());
}

#[tokio::test]
async fn a_waiting_worker_wakes_for_new_work() {
    let queue = std::sync::Arc::new(WorkQueue::<u32>::new());
    let worker = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.pop().await })
    };
    tokio::task::yield_now().await;
    let _rx = queue.push(listed("w9"));
    let job = worker.await.unwrap().unwrap();
    assert_eq!(job.workload_id(), "w9");
}

#[tokio::test]
async fn closing_fails_queued_requests_and_stops_workers() {
    let queue = std::sync::Arc::new(WorkQueue::<u32>::new());
    let queued = queue.push(listed("w1"));
    queue.close();
    assert_eq!(queued.await.unwrap(), Err("shutting down".into()));
    assert_eq!(queue.pop().await, None, "workers stop");
    assert_eq!(
        queue.push(listed("w2")).await.unwrap(),
        Err("shutting down".into())
    );
}

#[tokio::test]
async fn closing_wakes_idle_workers() {
    let queue = std::sync::Arc::new(WorkQueue::<u32>::new());
    let worker = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.pop().await })
    };
    tokio::task::yield_now().await;
    queue.close();
    assert_eq!(worker.await.unwrap(), None);
}
