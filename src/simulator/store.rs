//! The in-memory workload table: a hash map for lookups plus a sorted id vector for
//! cheap keyset paging (no ordered-map dependency, no per-page sort).

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use super::lens::{AnswerState, LENS_ALIAS};
use super::types::{WorkloadInfo, WorkloadSpec};

#[derive(Clone, Debug)]
pub struct Workload {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub owner: String,
    pub region: String,
    pub lenses: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub answer: AnswerState,
    /// Epoch seconds (the wire's default timestamp format for REST-JSON bodies).
    pub updated_at: f64,
}

impl Workload {
    /// Validates `spec` the way the Tool validates CreateWorkload, then builds the row.
    pub fn from_spec(
        spec: &WorkloadSpec,
        region: &str,
        id: String,
        updated_at: f64,
    ) -> Result<Self, String> {
        if !is_workload_id(&id) {
            return Err(format!("workload id {id:?} is not 32 lowercase hex chars"));
        }
        if spec.owner.len() != 12 || !spec.owner.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "owner {:?} is not a 12-digit account id",
                spec.owner
            ));
        }
        let name = if spec.name.is_empty() {
            format!("workload-{}", &id[..8])
        } else {
            spec.name.clone()
        };
        if !(3..=100).contains(&name.chars().count()) {
            return Err(format!("workload name {name:?} must be 3-100 chars"));
        }
        validate_lenses(&spec.lenses)?;
        validate_tags(&spec.tags)?;
        Ok(Self {
            arn: workload_arn(region, &spec.owner, &id),
            id,
            name,
            owner: spec.owner.clone(),
            region: region.to_string(),
            lenses: spec.lenses.clone(),
            tags: spec.tags.clone(),
            answer: AnswerState::from_spec(&spec.answer)?,
            updated_at,
        })
    }

    pub fn has_lens(&self, alias: &str) -> bool {
        self.lenses.iter().any(|l| l == alias)
    }

    pub fn has_wellarchitected(&self) -> bool {
        self.has_lens(LENS_ALIAS)
    }

    pub fn info(&self) -> WorkloadInfo {
        WorkloadInfo {
            id: self.id.clone(),
            arn: self.arn.clone(),
            name: self.name.clone(),
            owner: self.owner.clone(),
            region: self.region.clone(),
            lenses: self.lenses.clone(),
            tags: self.tags.clone(),
            answer: self.answer.to_spec(),
        }
    }

    pub fn touch(&mut self) {
        self.updated_at = now_epoch_seconds();
    }
}

pub fn validate_lenses(lenses: &[String]) -> Result<(), String> {
    match lenses.iter().find(|l| l.is_empty() || l.len() > 128) {
        Some(bad) => Err(format!("lens alias {bad:?} must be 1-128 chars")),
        None => Ok(()),
    }
}

/// The model's TagMap: at most 50 entries, keys 1–128 chars, values up to 256.
pub fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), String> {
    if tags.len() > 50 {
        return Err("at most 50 tags are allowed".to_string());
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(format!(
                "tag {k:?}={v:?} exceeds the key/value length limits"
            ));
        }
    }
    Ok(())
}

/// The model's WorkloadId pattern `[0-9a-f]{32}`.
pub fn is_workload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn workload_arn(region: &str, owner: &str, id: &str) -> String {
    format!("arn:aws:wellarchitected:{region}:{owner}:workload/{id}")
}

pub fn now_epoch_seconds() -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // Millisecond precision, like the Tool's own timestamps.
    (now.as_millis() as f64) / 1000.0
}

#[derive(Default)]
pub struct Store {
    by_id: HashMap<String, Workload>,
    sorted_ids: Vec<String>,
}

impl Store {
    pub fn insert(&mut self, w: Workload) -> Result<(), String> {
        match self.sorted_ids.binary_search(&w.id) {
            Ok(_) => Err(format!("workload {} already exists", w.id)),
            Err(pos) => {
                self.sorted_ids.insert(pos, w.id.clone());
                self.by_id.insert(w.id.clone(), w);
                Ok(())
            }
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<Workload> {
        let w = self.by_id.remove(id)?;
        if let Ok(pos) = self.sorted_ids.binary_search_by(|x| x.as_str().cmp(id)) {
            self.sorted_ids.remove(pos);
        }
        Some(w)
    }

    pub fn get(&self, id: &str) -> Option<&Workload> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Workload> {
        self.by_id.get_mut(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn sorted_ids(&self) -> &[String] {
        &self.sorted_ids
    }

    /// All workloads in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Workload> {
        self.sorted_ids.iter().filter_map(|id| self.by_id.get(id))
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}
