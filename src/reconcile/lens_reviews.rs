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

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
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
/// Distinct lists of lens reviews shared at most (past it the set starts over;
/// what is remembered keeps its own). A fleet's workloads mostly give the same
/// few lists, so each workload holds a pointer, not a copy.
const SHARED_LISTS: usize = 1_024;

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

/// A workload id as a key: its 128 bits when it is the Tool's 32 lowercase hex
/// digits (every real id), otherwise a 128-bit hash of it. 16 bytes in place
/// of a `String` and its allocation: this map holds up to [`REMEMBERED`]
/// workloads (keyed by `String`, ~9 MiB of a replica's 76 at 90,000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct WorkloadKey([u8; 16]);

impl WorkloadKey {
    fn of(workload_id: &str) -> Self {
        let hex = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        };
        let bytes = workload_id.as_bytes();
        let mut key = [0u8; 16];
        if bytes.len() == 32 {
            let parsed = key.iter_mut().zip(bytes.chunks(2)).all(|(out, pair)| {
                match (hex(pair[0]), hex(pair[1])) {
                    (Some(high), Some(low)) => {
                        *out = high << 4 | low;
                        true
                    }
                    _ => false,
                }
            });
            if parsed {
                return WorkloadKey(key);
            }
        }
        // Not the Tool's form (tests, other tools): two independent 64-bit
        // hashes, so two such ids share a key with odds of 2^-128.
        for (half, seed) in key.chunks_mut(8).zip([0u8, 1]) {
            let mut hasher = std::hash::DefaultHasher::new();
            seed.hash(&mut hasher);
            workload_id.hash(&mut hasher);
            half.copy_from_slice(&hasher.finish().to_le_bytes());
        }
        WorkloadKey(key)
    }
}

/// When a workload's reviews were read (or first put off), in whole seconds
/// from the map's epoch (negative: before it), and what they were (`None`:
/// not read yet). 32 bytes a workload with its key.
type Remembered = (i32, Option<Reviews>);

struct Memory {
    /// What `Remembered`'s seconds count from.
    epoch: Instant,
    read: HashMap<WorkloadKey, Remembered>,
    /// The lists of reviews read, each once.
    shared: HashSet<Arc<Vec<LensReview>>>,
}

impl Memory {
    fn seconds(&self, at: Instant) -> i32 {
        let clamp = |d: Duration| i32::try_from(d.as_secs()).unwrap_or(i32::MAX);
        match at.checked_duration_since(self.epoch) {
            Some(after) => clamp(after),
            None => -clamp(self.epoch - at),
        }
    }

    /// `seconds` back as an instant, within a second of the instant it was
    /// taken from (whole seconds), so an entry may expire a second early or late.
    fn instant(&self, seconds: i32) -> Instant {
        let offset = Duration::from_secs(u64::from(seconds.unsigned_abs()));
        if seconds >= 0 {
            self.epoch + offset
        } else {
            self.epoch.checked_sub(offset).unwrap_or(self.epoch)
        }
    }

    fn share(&mut self, reviews: Vec<LensReview>) -> Reviews {
        if let Some(shared) = self.shared.get(&reviews) {
            return Reviews(shared.clone());
        }
        if self.shared.len() >= SHARED_LISTS {
            self.shared.clear();
        }
        let list = Arc::new(reviews);
        self.shared.insert(list.clone());
        Reviews(list)
    }
}

pub(super) struct LensReviews {
    memory: Mutex<Memory>,
}

impl Default for LensReviews {
    fn default() -> Self {
        LensReviews {
            memory: Mutex::new(Memory {
                epoch: Instant::now(),
                read: HashMap::new(),
                shared: HashSet::new(),
            }),
        }
    }
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
        let key = WorkloadKey::of(workload_id);
        if !reread {
            match self.remembered(key) {
                Some(remembered) => return remembered,
                None if !self.known(key) => {
                    self.put_off(key);
                    return None;
                }
                None => {}
            }
        }
        if !may_read {
            return None;
        }
        match wa.lens_reviews(workload_id).await {
            Ok(reviews) => Some(self.remember(key, Instant::now(), Some(reviews))),
            Err(error) => {
                tracing::debug!(workload_id, error = %error, "cannot read the lens reviews");
                None
            }
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is remembered of `key` and still fresh (`Some(None)`: put off,
    /// not read yet).
    fn remembered(&self, key: WorkloadKey) -> Option<Option<Reviews>> {
        let memory = self.memory();
        memory
            .read
            .get(&key)
            .filter(|(at, _)| memory.instant(*at).elapsed() < REREAD_AFTER)
            .map(|(_, reviews)| reviews.clone())
    }

    fn known(&self, key: WorkloadKey) -> bool {
        self.memory().read.contains_key(&key)
    }

    /// A workload first seen: its first read falls due at a point of the next
    /// [`REREAD_AFTER`] its key decides (as if read that long before).
    fn put_off(&self, key: WorkloadKey) {
        let mut hasher = std::hash::DefaultHasher::new();
        key.hash(&mut hasher);
        let offset = Duration::from_secs(hasher.finish() % REREAD_AFTER.as_secs());
        let now = Instant::now();
        let as_if = now.checked_sub(offset).unwrap_or(now);
        self.remember(key, as_if, None);
    }

    /// Remembers `reviews` (`None`: put off) as of `at`; the reviews as kept.
    fn remember(&self, key: WorkloadKey, at: Instant, reviews: Option<Vec<LensReview>>) -> Reviews {
        let mut memory = self.memory();
        if memory.read.len() >= REMEMBERED && !memory.read.contains_key(&key) {
            memory.read.clear();
        }
        let reviews = reviews.map(|reviews| memory.share(reviews));
        let at = memory.seconds(at);
        memory.read.insert(key, (at, reviews.clone()));
        reviews.unwrap_or_default()
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

    fn key(id: &str) -> WorkloadKey {
        WorkloadKey::of(id)
    }

    #[tokio::test(start_paused = true)]
    async fn remembered_reviews_expire_after_the_reread_interval() {
        let reviews = LensReviews::default();
        let read = vec![review("wellarchitected", "NOT_CURRENT")];
        reviews.remember(key("w1"), Instant::now(), Some(read));
        let remembered = reviews.remembered(key("w1")).unwrap().unwrap();
        assert_eq!(
            remembered.status_of("wellarchitected"),
            Some(LensStatus::NotCurrent)
        );
        assert_eq!(remembered.status_of("other"), None);
        tokio::time::advance(REREAD_AFTER - Duration::from_secs(2)).await;
        assert!(reviews.remembered(key("w1")).is_some(), "still fresh");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(
            reviews.remembered(key("w1")).is_none(),
            "read again after the interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_workload_first_seen_is_read_within_the_interval_not_at_once() {
        // Paused time starts far enough from the clock's origin to go back 6 h.
        tokio::time::advance(REREAD_AFTER).await;
        let reviews = LensReviews::default();
        let ids: Vec<WorkloadKey> = (0..50).map(|n| key(&format!("{n:032x}"))).collect();
        for id in &ids {
            reviews.put_off(*id);
            assert!(
                matches!(reviews.remembered(*id), Some(None)),
                "put off, not read"
            );
        }
        tokio::time::advance(REREAD_AFTER / 2).await;
        let due = ids
            .iter()
            .filter(|id| reviews.remembered(**id).is_none())
            .count();
        assert!(
            due > 0 && due < ids.len(),
            "reads spread over the interval: {due} due"
        );
        tokio::time::advance(REREAD_AFTER / 2).await;
        assert!(
            ids.iter().all(|id| reviews.remembered(*id).is_none()),
            "all due after it"
        );
    }

    #[test]
    fn memory_starts_over_past_its_bound() {
        let reviews = LensReviews::default();
        let now = Instant::now();
        for n in 0..REMEMBERED + 1 {
            reviews.remember(key(&format!("w{n}")), now, None);
        }
        assert_eq!(
            reviews.memory().read.len(),
            1,
            "cleared, then the newest remembered"
        );
    }

    #[test]
    fn a_real_workload_id_is_its_own_key_and_any_other_id_a_distinct_one() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            key(id).0,
            [
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                0xcd, 0xef
            ]
        );
        // Same length, not lowercase hex: hashed, so not the real id's key.
        let others = [
            "0123456789ABCDEF0123456789ABCDEF",
            "+123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcde",
            "w1",
            "",
        ];
        let mut keys: Vec<WorkloadKey> = others.iter().map(|id| key(id)).collect();
        keys.push(key(id));
        let distinct: HashSet<WorkloadKey> = keys.iter().copied().collect();
        assert_eq!(distinct.len(), keys.len(), "every id its own key");
        assert_eq!(key("w1"), key("w1"), "a hashed key is stable");
    }

    #[test]
    fn a_remembered_workload_is_32_bytes_in_the_map() {
        // What 100,000 of them cost is this times ~1.3 (the map's slack): a
        // String key and an Instant made it 48 bytes plus a 32-byte allocation.
        assert_eq!(std::mem::size_of::<(WorkloadKey, Remembered)>(), 32);
    }

    #[test]
    fn workloads_with_the_same_reviews_share_one_list() {
        let reviews = LensReviews::default();
        let now = Instant::now();
        let list = || vec![review("wellarchitected", "CURRENT")];
        let first = reviews.remember(key("w1"), now, Some(list()));
        let second = reviews.remember(key("w2"), now, Some(list()));
        let other = reviews.remember(
            key("w3"),
            now,
            Some(vec![review("wellarchitected", "NOT_CURRENT")]),
        );
        assert!(Arc::ptr_eq(&first.0, &second.0), "one list for both");
        assert!(!Arc::ptr_eq(&first.0, &other.0));
        assert_eq!(
            other.status_of("wellarchitected"),
            Some(LensStatus::NotCurrent)
        );
        assert_eq!(reviews.memory().shared.len(), 2);
    }

    #[test]
    fn the_lists_kept_for_sharing_are_bounded() {
        // Whoever names lenses (custom lens ARNs) can make every list distinct:
        // the set starts over rather than grow with them.
        let reviews = LensReviews::default();
        let now = Instant::now();
        for n in 0..SHARED_LISTS + 1 {
            let lens = format!("arn:aws:wellarchitected:us-east-1:123456789012:lens/{n}");
            reviews.remember(
                key(&format!("w{n}")),
                now,
                Some(vec![review(&lens, "CURRENT")]),
            );
        }
        assert_eq!(
            reviews.memory().shared.len(),
            1,
            "cleared, then the newest kept"
        );
        assert_eq!(
            reviews.memory().read.len(),
            SHARED_LISTS + 1,
            "each workload keeps its own"
        );
    }

    #[test]
    fn a_remembered_time_comes_back_within_a_second_either_side_of_the_epoch() {
        let reviews = LensReviews::default();
        let memory = reviews.memory();
        let epoch = memory.epoch;
        for at in [
            epoch + Duration::from_millis(1_500),
            epoch
                .checked_sub(Duration::from_millis(1_500))
                .unwrap_or(epoch),
            epoch,
        ] {
            let back = memory.instant(memory.seconds(at));
            let gap = if back >= at { back - at } else { at - back };
            assert!(gap <= Duration::from_secs(1), "{gap:?}");
        }
    }
}
