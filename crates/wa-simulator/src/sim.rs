//! `Simulator`: the shared in-memory state and its in-process admin API.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use anyhow::{Context, anyhow};
use rand::RngExt;

use super::catalog::LensDef;
use super::edit;
use super::faults::FaultEngine;
use super::lens::{AnswerState, rel04};
use super::stats::Stats;
use super::store::{
    LENS_STATUSES, Store, Workload, now_epoch_seconds, rel04_key, validate_lenses, validate_tags,
};
use super::types::{AnswerSpec, CallStats, Faults, WorkloadInfo, WorkloadSpec, WorkloadUpdate};

/// The Well-Architected Tool simulator. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub region: String,
    store: RwLock<Store>,
    pub faults: FaultEngine,
    pub stats: Stats,
    request_seq: AtomicU64,
    request_nonce: u64,
}

impl Inner {
    /// Never blocks on a poisoned lock: the store stays consistent because every
    /// mutation validates before it writes.
    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A UUID-shaped `x-amzn-RequestId`, unique per process.
    pub fn next_request_id(&self) -> String {
        let n = self.request_seq.fetch_add(1, Ordering::Relaxed);
        let r = self.request_nonce;
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (r >> 32) as u32,
            (r >> 16) as u16,
            (r >> 4) & 0xfff,
            (n >> 48) & 0xfff,
            n & 0xffff_ffff_ffff
        )
    }
}

impl Simulator {
    /// An empty simulator for `region`.
    pub fn new(region: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                region: region.to_string(),
                store: RwLock::new(Store::default()),
                faults: FaultEngine::default(),
                stats: Stats::default(),
                request_seq: AtomicU64::new(0),
                request_nonce: rand::rng().random(),
            }),
        }
    }

    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// Adds a workload. Panics on an invalid spec (bad id, owner, name, choice id) or
    /// a duplicate id — a bug in the calling test; use [`Self::try_add_workload`] to
    /// handle those as errors.
    pub fn add_workload(&self, spec: WorkloadSpec) -> WorkloadInfo {
        self.try_add_workload(spec)
            .unwrap_or_else(|e| panic!("Simulator::add_workload: {e:#}"))
    }

    pub fn try_add_workload(&self, spec: WorkloadSpec) -> anyhow::Result<WorkloadInfo> {
        let id = match &spec.id {
            Some(id) => id.clone(),
            None => random_workload_id(&mut rand::rng()),
        };
        self.insert(&spec, id, now_epoch_seconds())
    }

    pub(crate) fn insert(
        &self,
        spec: &WorkloadSpec,
        id: String,
        updated_at: f64,
    ) -> anyhow::Result<WorkloadInfo> {
        let w = Workload::from_spec(spec, &self.inner.region, id, updated_at)
            .map_err(|e| anyhow!(e))?;
        let info = w.info();
        self.inner.write().insert(w).map_err(|e| anyhow!(e))?;
        Ok(info)
    }

    /// Replaces the REL 04 answer (notes and reasons are cleared).
    pub fn set_answer(&self, workload_id: &str, answer: AnswerSpec) -> anyhow::Result<()> {
        let state = AnswerState::from_spec(rel04(), &answer).map_err(|e| anyhow!(e))?;
        self.update(workload_id, |w| {
            w.answers.insert(rel04_key(), state);
        })
    }

    /// Replaces the answer to any question of a lens the simulator knows (`lens`:
    /// `wellarchitected` or a custom lens's ARN), whether or not the workload lists
    /// the lens yet.
    pub fn set_question_answer(
        &self,
        workload_id: &str,
        lens: &str,
        question: &str,
        answer: AnswerSpec,
    ) -> anyhow::Result<()> {
        let mut store = self.inner.write();
        let lens_def = store
            .lens(lens)
            .with_context(|| format!("no lens {lens}"))?;
        let (_, q) = lens_def
            .question(question)
            .with_context(|| format!("lens {lens} has no question {question}"))?;
        let state = AnswerState::from_spec(q, &answer).map_err(|e| anyhow!(e))?;
        let w = store
            .get_mut(workload_id)
            .with_context(|| format!("no workload {workload_id}"))?;
        w.answers
            .insert((lens.to_owned(), question.to_owned()), state);
        w.touch();
        Ok(())
    }

    /// Serves `lens` as the `wellarchitected` lens instead of the excerpt (REL 04
    /// and its neighbours): the benchmarks' whole Framework. It must be valid and
    /// carry REL 04 exactly as the excerpt does.
    pub fn replace_framework(&self, lens: LensDef) -> anyhow::Result<()> {
        self.inner
            .write()
            .replace_framework(lens)
            .map_err(|e| anyhow!(e))
    }

    /// Adds a custom lens (or replaces it: a new version of it), checked as
    /// ImportLens would check it. Workloads then associate it by its ARN.
    pub fn add_lens(&self, lens: LensDef) -> anyhow::Result<()> {
        lens.validate_custom(&self.inner.region)
            .map_err(|e| anyhow!(e))?;
        self.inner
            .write()
            .put_custom_lens(lens)
            .map_err(|e| anyhow!(e))
    }

    /// Sets the status of the workload's review of `lens` (the model's LensStatus:
    /// CURRENT, NOT_CURRENT, DEPRECATED, DELETED, UNSHARED), as a lens update or a
    /// withdrawn share would. UpgradeLensReview brings it back to CURRENT.
    pub fn set_lens_status(
        &self,
        workload_id: &str,
        lens: &str,
        status: &str,
    ) -> anyhow::Result<()> {
        let status = LENS_STATUSES
            .into_iter()
            .find(|s| *s == status)
            .with_context(|| format!("lens status {status:?} is not one of {LENS_STATUSES:?}"))?;
        self.update_checked(workload_id, |w| {
            anyhow::ensure!(
                w.has_lens(lens),
                "workload {workload_id} has no lens {lens}"
            );
            w.reviews.entry(lens.to_owned()).or_default().status = status;
            Ok(())
        })
    }

    /// The status of the workload's review of `lens`, if it lists the lens.
    pub fn lens_status(&self, workload_id: &str, lens: &str) -> Option<&'static str> {
        let store = self.inner.read();
        let w = store.get(workload_id)?;
        w.has_lens(lens).then(|| w.review(lens).status)
    }

    /// Replaces all tags (an empty map untags the workload).
    pub fn set_tags(
        &self,
        workload_id: &str,
        tags: BTreeMap<String, String>,
    ) -> anyhow::Result<()> {
        validate_tags(&tags).map_err(|e| anyhow!(e))?;
        self.update(workload_id, |w| w.tags = tags)
    }

    /// What TagResource does: adds `tags`, replacing the values of existing keys.
    pub fn tag_workload(
        &self,
        workload_id: &str,
        tags: BTreeMap<String, String>,
    ) -> anyhow::Result<()> {
        edit::add_tags(&mut self.inner.write(), workload_id, &tags)
            .with_context(|| format!("tagging workload {workload_id}"))
    }

    /// What UntagResource does: removes the tags with these keys (absent keys are
    /// ignored).
    pub fn untag_workload(&self, workload_id: &str, keys: &[&str]) -> anyhow::Result<()> {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        edit::remove_tags(&mut self.inner.write(), workload_id, &keys)
            .with_context(|| format!("untagging workload {workload_id}"))
    }

    /// What UpdateWorkload does (rename, description, environment, ...).
    pub fn update_workload(&self, workload_id: &str, update: WorkloadUpdate) -> anyhow::Result<()> {
        edit::update(&mut self.inner.write(), workload_id, &update)
            .with_context(|| format!("updating workload {workload_id}"))
    }

    /// Replaces the lens list; the stored answer survives a removal and comes back
    /// with the lens.
    pub fn set_lenses(&self, workload_id: &str, lenses: Vec<String>) -> anyhow::Result<()> {
        validate_lenses(&lenses).map_err(|e| anyhow!(e))?;
        self.update(workload_id, |w| w.lenses = lenses)
    }

    /// What DeleteWorkload does.
    pub fn delete_workload(&self, workload_id: &str) -> anyhow::Result<()> {
        Ok(edit::delete(&mut self.inner.write(), workload_id, None)?)
    }

    /// Moves the workload's `UpdatedAt` (epoch seconds), as if its last change had
    /// happened then: for tests of what a client does with changes of some age.
    pub fn set_updated_at(&self, workload_id: &str, epoch_seconds: f64) -> anyhow::Result<()> {
        let mut store = self.inner.write();
        let w = store
            .get_mut(workload_id)
            .with_context(|| format!("no workload {workload_id}"))?;
        w.updated_at = epoch_seconds;
        Ok(())
    }

    /// The workload's `UpdatedAt` (epoch seconds), as GetWorkload returns it.
    pub fn updated_at(&self, workload_id: &str) -> Option<f64> {
        self.inner.read().get(workload_id).map(|w| w.updated_at)
    }

    fn update_checked(
        &self,
        workload_id: &str,
        f: impl FnOnce(&mut Workload) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut store = self.inner.write();
        let w = store
            .get_mut(workload_id)
            .with_context(|| format!("no workload {workload_id}"))?;
        f(w)?;
        w.touch();
        Ok(())
    }

    fn update(&self, workload_id: &str, f: impl FnOnce(&mut Workload)) -> anyhow::Result<()> {
        self.update_checked(workload_id, |w| {
            f(w);
            Ok(())
        })
    }

    /// All workloads, ordered by id.
    pub fn workloads(&self) -> Vec<WorkloadInfo> {
        self.inner.read().iter().map(Workload::info).collect()
    }

    pub fn workload(&self, id: &str) -> Option<WorkloadInfo> {
        self.inner.read().get(id).map(Workload::info)
    }

    pub fn workload_count(&self) -> usize {
        self.inner.read().len()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.inner.faults.set(faults);
    }

    pub fn faults(&self) -> Faults {
        self.inner.faults.get()
    }

    pub fn calls(&self) -> CallStats {
        self.inner.stats.snapshot()
    }

    /// Calls naming workload `id` (in their path or as their target) since start or
    /// the last reset, by operation name: e.g. how many ListAnswers a sweep made for
    /// it. Counts every outcome, faults included.
    pub fn workload_calls(&self, id: &str) -> BTreeMap<String, u64> {
        self.inner.stats.for_workload(id)
    }

    pub fn reset_calls(&self) {
        self.inner.stats.reset();
    }
}

pub(crate) fn random_workload_id(rng: &mut impl rand::Rng) -> String {
    format!("{:032x}", rng.random::<u128>())
}
