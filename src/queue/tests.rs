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

    let (job, running) = queue.pop().await.unwrap();
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
    running.complete(Ok(7));
    assert_eq!(
        (a.await.unwrap(), b.await.unwrap(), c.await.unwrap()),
        (Ok(7), Ok(7), Ok(7))
    );

    let (job, running) = queue.pop().await.unwrap();
    assert_eq!(job.workload_id(), "w2");
    running.complete(Err("boom".into()));
    assert_eq!(other.await.unwrap(), Err("boom".into()));
    assert!(queue.is_empty());
}

#[tokio::test]
async fn a_request_during_a_run_gets_exactly_one_more_run() {
    let queue: WorkQueue<u32> = WorkQueue::new();
    let first = queue.push(event("w1", "e1"));
    let (job, running) = queue.pop().await.unwrap();
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
    running.complete(Ok(1));
    assert_eq!(first.await.unwrap(), Ok(1));

    let (rerun, running) = queue.pop().await.unwrap();
    assert_eq!(rerun.trigger, Trigger::Event("e5".into()));
    assert_eq!(rerun.target, Target::Id("w1".into()));
    running.complete(Ok(2));
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
        tokio::spawn(async move { queue.pop().await.map(|(job, _)| job) })
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
    assert!(queue.pop().await.is_none(), "workers stop");
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
        tokio::spawn(async move { queue.pop().await.is_none() })
    };
    tokio::task::yield_now().await;
    queue.close();
    assert!(worker.await.unwrap());
}

/// Waits for a requester's answer; on a paused clock, a missing answer fails
/// at once instead of hanging the test.
async fn answer<T>(rx: oneshot::Receiver<Done<T>>) -> Done<T> {
    tokio::time::timeout(std::time::Duration::from_secs(60), rx)
        .await
        .expect("the requester was never answered")
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_evaluation_dropped_without_a_result_answers_its_requesters_and_frees_the_workload() {
    let queue: WorkQueue<u32> = WorkQueue::new();
    let first = queue.push(event("w1", "e1"));
    let (_, running) = queue.pop().await.unwrap();
    // A request during the run: the dropped evaluation must not swallow it.
    let during = queue.push(event("w1", "e2"));
    drop(running);
    assert_eq!(answer(first).await, Err(ABANDONED.to_owned()));
    let (rerun, running) = queue.pop().await.unwrap();
    assert_eq!(rerun.trigger, Trigger::Event("e2".into()));
    running.complete(Ok(3));
    assert_eq!(answer(during).await, Ok(3));
    assert!(queue.is_empty());

    // The next trigger queues the workload again, and it is evaluated.
    let again = queue.push(listed("w1"));
    let (_, running) = queue.pop().await.unwrap();
    running.complete(Ok(4));
    assert_eq!(answer(again).await, Ok(4));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_evaluation_answers_its_requesters_with_an_error() {
    let queue = std::sync::Arc::new(WorkQueue::<u32>::new());
    let requested = queue.push(listed("w1"));
    let worker = {
        let queue = queue.clone();
        tokio::spawn(async move {
            let (_job, _running) = queue.pop().await.unwrap();
            panic!("an evaluation bug");
        })
    };
    assert!(worker.await.unwrap_err().is_panic());
    assert_eq!(answer(requested).await, Err(ABANDONED.to_owned()));
    assert!(queue.is_empty(), "nothing left running");
}

fn answer_changed(id: &str, event_id: &str) -> Job {
    Job {
        target: Target::Answer(id.to_owned()),
        trigger: Trigger::Event(event_id.to_owned()),
    }
}

/// An answer-only target never replaces one that reads more of the workload:
/// a rename coalesced with an answer change must still describe it.
#[tokio::test]
async fn an_answer_change_coalesced_with_more_still_reads_more() {
    let queue: WorkQueue<u32> = WorkQueue::new();
    let _a = queue.push(event("w1", "rename"));
    let _b = queue.push(answer_changed("w1", "answer"));
    let _c = queue.push(listed("w2"));
    let _d = queue.push(answer_changed("w2", "answer2"));
    let _e = queue.push(answer_changed("w3", "answer3"));
    let (job, running) = queue.pop().await.unwrap();
    assert_eq!(job.target, Target::Id("w1".into()), "the describe stays");
    assert_eq!(job.trigger, Trigger::Event("answer".into()));
    running.complete(Ok(1));
    let (job, running) = queue.pop().await.unwrap();
    assert!(
        matches!(job.target, Target::Listed(..)),
        "the listed summary stays: {:?}",
        job.target
    );
    running.complete(Ok(2));
    let (job, running) = queue.pop().await.unwrap();
    assert_eq!(job.target, Target::Answer("w3".into()), "alone, it stays");
    running.complete(Ok(3));

    // And a later fuller target replaces it.
    let _f = queue.push(answer_changed("w4", "answer4"));
    let _g = queue.push(event("w4", "rename4"));
    let (job, running) = queue.pop().await.unwrap();
    assert_eq!(job.target, Target::Id("w4".into()));
    running.complete(Ok(4));
}

#[test]
fn answers_of_two_questions_coalesce_into_every_control_and_one_question_stays_alone() {
    let of = |question: &str| Job {
        target: Target::AnswerOf("w1".into(), "lens".into(), question.into()),
        trigger: Trigger::Event(format!("e-{question}")),
    };
    let mut job = of("a");
    job.absorb(of("a"));
    assert_eq!(
        job.target,
        Target::AnswerOf("w1".into(), "lens".into(), "a".into()),
        "the same question stays alone"
    );
    job.absorb(of("b"));
    assert_eq!(
        job.target,
        Target::Answer("w1".into()),
        "two: every control"
    );
    job.absorb(of("c"));
    assert_eq!(
        job.target,
        Target::Answer("w1".into()),
        "a wider target stays"
    );
    assert_eq!(job.trigger, Trigger::Event("e-c".into()));
}

/// A job handed to another task keeps its requesters and its place: a request
/// meanwhile waits for the next run, and the resumed guard answers (or, dropped,
/// abandons) exactly as the original would have.
#[tokio::test]
async fn a_handed_over_job_is_answered_by_whoever_resumes_it() {
    let queue: WorkQueue<u32> = WorkQueue::new();
    let first = queue.push(listed("w1"));
    let (_, running) = queue.try_pop().unwrap();
    let claim = running.hand_over();
    let again = queue.push(event("w1", "e1"));
    assert!(
        queue.try_pop().is_none(),
        "w1 runs already: its next run waits"
    );
    queue.resume(claim).complete(Ok(7));
    assert_eq!(first.await.unwrap(), Ok(7));
    let (job, running) = queue.try_pop().unwrap();
    assert_eq!(job.target, Target::Id("w1".to_owned()));
    drop(queue.resume(running.hand_over()));
    assert_eq!(again.await.unwrap(), Err(ABANDONED.to_owned()));
    assert!(queue.try_pop().is_none());
    queue.close();
    assert!(queue.pop().await.is_none(), "closed");
}
