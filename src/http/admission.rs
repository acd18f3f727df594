//! What bounds the requests that read much: at most a few run at once, and each
//! gets one deadline (`http.request_timeout`) for waiting its turn and running.
//! `/graphql` and the status page's pages each have one [`Admission`], so a
//! flood of either waits in line, and is answered 503 naming the bound it hit,
//! instead of taking every database connection (which starved `/readyz`).

use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

/// Why a request was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No turn came within the deadline: `limit` others were running all along.
    Busy { limit: usize, deadline: Duration },
    /// Its turn came but the work did not finish within the deadline.
    Slow { deadline: Duration },
}

impl Refused {
    /// Says what happened in `what`'s words ("GraphQL requests", "pages").
    pub fn message(&self, what: &str) -> String {
        match self {
            Refused::Busy { limit, deadline } => format!(
                "busy: {limit} {what} at once is the limit, and none finished within {} \
                 (http.request_timeout); retry in a moment",
                humantime::format_duration(*deadline)
            ),
            Refused::Slow { deadline } => format!(
                "the request did not finish within {} (http.request_timeout); ask for less",
                humantime::format_duration(*deadline)
            ),
        }
    }
}

#[derive(Debug)]
pub struct Admission {
    running: Semaphore,
    limit: usize,
    deadline: Duration,
}

impl Admission {
    pub fn new(limit: usize, deadline: Duration) -> Admission {
        let limit = limit.max(1);
        Admission {
            running: Semaphore::new(limit),
            limit,
            deadline,
        }
    }

    /// Runs `work` once one of the `limit` turns is free, all within the deadline.
    pub async fn run<F: Future>(&self, work: F) -> Result<F::Output, Refused> {
        let deadline = Instant::now() + self.deadline;
        let turn = timeout_at(deadline, self.running.acquire())
            .await
            .map_err(|_| Refused::Busy {
                limit: self.limit,
                deadline: self.deadline,
            })?;
        let output = timeout_at(deadline, work)
            .await
            .map_err(|_| Refused::Slow {
                deadline: self.deadline,
            })?;
        drop(turn);
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn past_the_limit_requests_wait_their_turn_then_are_refused_naming_it() {
        let admission = std::sync::Arc::new(Admission::new(2, Duration::from_secs(10)));
        let (release, held) = tokio::sync::watch::channel(false);
        let holders: Vec<_> = (0..2)
            .map(|_| {
                let (admission, mut held) = (admission.clone(), held.clone());
                tokio::spawn(async move {
                    admission
                        .run(async move { held.wait_for(|r| *r).await.map(|_| ()) })
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let refused = admission.run(async {}).await.unwrap_err();
        assert_eq!(
            refused,
            Refused::Busy {
                limit: 2,
                deadline: Duration::from_secs(10)
            }
        );
        assert!(
            refused
                .message("pages")
                .starts_with("busy: 2 pages at once is the limit")
        );
        release.send(true).unwrap();
        for holder in holders {
            assert!(holder.await.unwrap().is_ok());
        }
        assert_eq!(admission.run(async { 7 }).await, Ok(7));
    }

    #[tokio::test(start_paused = true)]
    async fn work_past_the_deadline_is_dropped_and_its_turn_freed() {
        let admission = Admission::new(1, Duration::from_secs(10));
        let slow = admission.run(tokio::time::sleep(Duration::from_secs(60)));
        assert_eq!(
            slow.await,
            Err(Refused::Slow {
                deadline: Duration::from_secs(10)
            })
        );
        assert_eq!(admission.run(async { 1 }).await, Ok(1));
    }
}
