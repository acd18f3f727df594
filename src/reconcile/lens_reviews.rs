//! The status of each lens review (`LensStatus`), remembered per workload for
//! [`REREAD_AFTER`]: a lens review turns NOT_CURRENT when AWS publishes a new
//! lens version, which no event of the workload announces, so it is read again
//! now and then rather than every sweep (one `ListLensReviews` per workload per
//! six hours keeps a sweep's calls where they were). A workload first seen by a
//! sweep is read at a point of the next six hours its id decides, so a fleet's
//! first sweep costs what it always has and the reads spread out; an evaluation
//! the workload's own change or a person triggered (an upgrade, a lens
//! associated, `rel04d evaluate`) reads it at once. Until read, the status is
//! as the workload's controls last recorded it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::control::LensStatus;
use crate::wellarchitected::{LensReview, WellArchitected};

/// How long a workload's lens reviews, as read, are taken as current.
pub const REREAD_AFTER: Duration = Duration::from_secs(6 * 60 * 60);
/// Workloads remembered at most; past it the memory starts over (each workload
/// then costs one more read), so a fleet's size bounds nothing here.
const REMEMBERED: usize = 100_000;

/// A workload's lens reviews, by lens (alias or ARN).
#[derive(Clone, Debug, Default)]
pub struct Reviews(Arc<Vec<LensReview>>);

impl Reviews {
    /// The status of `lens`'s review, if the Tool gave one.
    pub fn status_of(&self, lens: &str) -> Option<LensStatus> {
        self.0
            .iter()
            .find(|review| review.is_of(lens))
            .and_then(|review| review.lens_status.as_deref())
            .map(LensStatus::parse)
    }
}

/// When a workload's reviews were read (or first put off), and what they were
/// (`None`: not read yet).
type Remembered = (Instant, Option<Reviews>);

#[derive(Default)]
pub(super) struct LensReviews {
    read: Mutex<HashMap<String, Remembered>>,
}

impl LensReviews {
    /// `workload_id`'s lens reviews: as remembered, or read now when they are
    /// older than [`REREAD_AFTER`], unknown, or `reread`. `None` when they
    /// cannot be read (the evaluation goes on without them) or, with
    /// `may_read` false, are not remembered.
    pub(super) async fn of(
        &self,
        wa: &WellArchitected,
        workload_id: &str,
        reread: bool,
        may_read: bool,
    ) -> Option<Reviews> {
        if !reread {
            match self.remembered(workload_id) {
                Some(remembered) => return remembered,
                None if !self.known(workload_id) => {
                    self.put_off(workload_id);
                    return None;
                }
                None => {}
            }
        }
        if !may_read {
            return None;
        }
        match wa.lens_reviews(workload_id).await {
            Ok(reviews) => {
                let reviews = Reviews(Arc::new(reviews));
                self.remember(workload_id, Instant::now(), Some(reviews.clone()));
                Some(reviews)
            }
            Err(error) => {
                tracing::debug!(workload_id, error = %error, "cannot read the lens reviews");
                None
            }
        }
    }

    /// What is remembered of `workload_id` and still fresh (`Some(None)`: put
    /// off, not read yet).
    fn remembered(&self, workload_id: &str) -> Option<Option<Reviews>> {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.get(workload_id)
            .filter(|(at, _)| at.elapsed() < REREAD_AFTER)
            .map(|(_, reviews)| reviews.clone())
    }

    fn known(&self, workload_id: &str) -> bool {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.contains_key(workload_id)
    }

    /// A workload first seen: its first read falls due at a point of the next
    /// [`REREAD_AFTER`] its id decides (as if read that long before).
    fn put_off(&self, workload_id: &str) {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher =
            std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().build_hasher();
        hasher.write(workload_id.as_bytes());
        let offset = Duration::from_secs(hasher.finish() % REREAD_AFTER.as_secs());
        let now = Instant::now();
        let as_if = now.checked_sub(offset).unwrap_or(now);
        self.remember(workload_id, as_if, None);
    }

    fn remember(&self, workload_id: &str, at: Instant, reviews: Option<Reviews>) {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if read.len() >= REMEMBERED && !read.contains_key(workload_id) {
            read.clear();
        }
        read.insert(workload_id.to_owned(), (at, reviews));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(lens: &str, status: &str) -> LensReview {
        LensReview {
            lens_alias: Some(lens.to_owned()),
            lens_arn: None,
            lens_status: Some(status.to_owned()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn remembered_reviews_expire_after_the_reread_interval() {
        let reviews = LensReviews::default();
        let read = Reviews(Arc::new(vec![review("wellarchitected", "NOT_CURRENT")]));
        reviews.remember("w1", Instant::now(), Some(read));
        let remembered = reviews.remembered("w1").unwrap().unwrap();
        assert_eq!(
            remembered.status_of("wellarchitected"),
            Some(LensStatus::NotCurrent)
        );
        assert_eq!(remembered.status_of("other"), None);
        tokio::time::advance(REREAD_AFTER).await;
        assert!(
            reviews.remembered("w1").is_none(),
            "read again after the interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_workload_first_seen_is_read_within_the_interval_not_at_once() {
        let reviews = LensReviews::default();
        // Paused time starts far enough from the clock's origin to go back 6 h.
        tokio::time::advance(REREAD_AFTER).await;
        let ids: Vec<String> = (0..50).map(|n| format!("{n:032x}")).collect();
        for id in &ids {
            reviews.put_off(id);
            assert!(
                matches!(reviews.remembered(id), Some(None)),
                "put off, not read"
            );
        }
        tokio::time::advance(REREAD_AFTER / 2).await;
        let due = ids
            .iter()
            .filter(|id| reviews.remembered(id).is_none())
            .count();
        assert!(
            due > 0 && due < ids.len(),
            "reads spread over the interval: {due} due"
        );
        tokio::time::advance(REREAD_AFTER / 2).await;
        assert!(
            ids.iter().all(|id| reviews.remembered(id).is_none()),
            "all due after it"
        );
    }

    #[test]
    fn memory_starts_over_past_its_bound() {
        let reviews = LensReviews::default();
        let now = Instant::now();
        for n in 0..REMEMBERED + 1 {
            reviews.remember(&format!("w{n}"), now, None);
        }
        let read = reviews.read.lock().unwrap();
        assert_eq!(read.len(), 1, "cleared, then the newest remembered");
    }
}
