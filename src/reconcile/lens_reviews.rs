//! The status of each lens review (`LensStatus`), remembered per workload for
//! [`REREAD_AFTER`]: a lens review turns NOT_CURRENT when AWS publishes a new
//! lens version, which no event of the workload announces, so it is read again
//! now and then rather than every sweep (one `ListLensReviews` per workload per
//! six hours keeps a sweep's calls where they were). An evaluation the workload's
//! own change triggered (an upgrade, a lens associated) reads it at once.

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

#[derive(Default)]
pub(super) struct LensReviews {
    read: Mutex<HashMap<String, (Instant, Reviews)>>,
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
        if !reread && let Some(reviews) = self.remembered(workload_id) {
            return Some(reviews);
        }
        if !may_read {
            return None;
        }
        match wa.lens_reviews(workload_id).await {
            Ok(reviews) => {
                let reviews = Reviews(Arc::new(reviews));
                self.remember(workload_id, reviews.clone());
                Some(reviews)
            }
            Err(error) => {
                tracing::debug!(workload_id, error = %error, "cannot read the lens reviews");
                None
            }
        }
    }

    fn remembered(&self, workload_id: &str) -> Option<Reviews> {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.get(workload_id)
            .filter(|(at, _)| at.elapsed() < REREAD_AFTER)
            .map(|(_, reviews)| reviews.clone())
    }

    fn remember(&self, workload_id: &str, reviews: Reviews) {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if read.len() >= REMEMBERED && !read.contains_key(workload_id) {
            read.clear();
        }
        read.insert(workload_id.to_owned(), (Instant::now(), reviews));
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
        reviews.remember("w1", read);
        let status = reviews.remembered("w1").unwrap().status_of("wellarchitected");
        assert_eq!(status, Some(LensStatus::NotCurrent));
        assert_eq!(reviews.remembered("w1").unwrap().status_of("other"), None);
        tokio::time::advance(REREAD_AFTER).await;
        assert!(reviews.remembered("w1").is_none(), "read again after the interval");
    }

    #[test]
    fn memory_starts_over_past_its_bound() {
        let reviews = LensReviews::default();
        for n in 0..REMEMBERED + 1 {
            reviews.remember(&format!("w{n}"), Reviews::default());
        }
        let read = reviews.read.lock().unwrap();
        assert_eq!(read.len(), 1, "cleared, then the newest remembered");
    }
}
