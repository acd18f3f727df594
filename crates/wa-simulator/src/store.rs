//! The in-memory workload table: a hash map for lookups plus a sorted id vector for
//! cheap keyset paging (no ordered-map dependency, no per-page sort).

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use std::borrow::Cow;

use super::catalog::{LensDef, QuestionDef, framework};
use super::lens::{AnswerState, LENS_ALIAS, QUESTION_ID, rel04};
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
    /// Answers by (lens key, question id); a question never answered is absent and
    /// reads as fresh (unanswered, applicable).
    pub answers: BTreeMap<(String, String), AnswerState>,
    /// Lens reviews by lens key; absent: CURRENT with no notes.
    pub reviews: BTreeMap<String, Review>,
    /// Milestones in number order (1, 2, ...): frozen copies of the lens reviews.
    pub milestones: Vec<Milestone>,
    /// What UpdateWorkload changed; unset members show the simulator's defaults.
    pub profile: Profile,
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
            answers: BTreeMap::from([(
                rel04_key(),
                AnswerState::from_spec(rel04(), &spec.answer)?,
            )]),
            reviews: BTreeMap::new(),
            milestones: Vec::new(),
            profile: Profile::default(),
            updated_at,
        })
    }

    pub fn has_lens(&self, alias: &str) -> bool {
        self.lenses.iter().any(|l| l == alias)
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
            answer: self.answer(LENS_ALIAS, rel04()).to_spec(rel04()),
        }
    }

    /// The answer to `question` of the lens listed as `lens_key` (fresh if never
    /// answered).
    pub fn answer(&self, lens_key: &str, question: &QuestionDef) -> Cow<'_, AnswerState> {
        match self
            .answers
            .get(&(lens_key.to_owned(), question.id.clone()))
        {
            Some(a) => Cow::Borrowed(a),
            None => Cow::Owned(AnswerState::fresh(question)),
        }
    }

    pub fn review(&self, lens_key: &str) -> Cow<'_, Review> {
        match self.reviews.get(lens_key) {
            Some(r) => Cow::Borrowed(r),
            None => Cow::Owned(Review::default()),
        }
    }

    pub fn touch(&mut self) {
        self.updated_at = now_epoch_seconds();
    }
}

/// The key of REL 04's answer in [`Workload::answers`].
pub fn rel04_key() -> (String, String) {
    (LENS_ALIAS.to_owned(), QUESTION_ID.to_owned())
}

/// A lens review's own state: its status (the model's `LensStatus`) and notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    pub status: &'static str,
    pub notes: Option<String>,
    pub pillar_notes: BTreeMap<String, String>,
}

impl Default for Review {
    fn default() -> Self {
        Self {
            status: "CURRENT",
            notes: None,
            pillar_notes: BTreeMap::new(),
        }
    }
}

impl Review {
    /// The lens version the review is on: the lens's current version unless the
    /// review is behind it.
    pub fn version<'a>(&self, lens: &'a LensDef) -> &'a str {
        match (self.status, &lens.previous_version) {
            ("NOT_CURRENT" | "DEPRECATED", Some(previous)) => previous,
            _ => &lens.version,
        }
    }
}

/// The model's `LensStatus` values.
pub const LENS_STATUSES: [&str; 5] = [
    "CURRENT",
    "NOT_CURRENT",
    "DEPRECATED",
    "DELETED",
    "UNSHARED",
];

/// A milestone: the workload's name, lenses, reviews and answers when it was made.
#[derive(Clone, Debug)]
pub struct Milestone {
    pub name: String,
    /// The ClientRequestToken that made it: a retry answers the same milestone.
    pub token: String,
    pub recorded_at: f64,
    pub workload: Box<Workload>,
}

/// The workload members UpdateWorkload sets besides the name (`None`: never set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub description: Option<String>,
    pub environment: Option<&'static str>,
    pub review_owner: Option<String>,
    pub notes: Option<String>,
    pub improvement_status: Option<&'static str>,
}

pub fn validate_lenses(lenses: &[String]) -> Result<(), String> {
    match lenses.iter().find(|l| l.is_empty() || l.len() > 128) {
        Some(bad) => Err(format!("lens alias {bad:?} must be 1-128 chars")),
        None => Ok(()),
    }
}

/// The model's TagMap: at most 50 entries, values up to 256 chars, keys as in
/// [`validate_tag_key`].
pub fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), String> {
    if tags.len() > 50 {
        return Err(format!("{} tags, at most 50 are allowed", tags.len()));
    }
    for (k, v) in tags {
        validate_tag_key(k)?;
        if v.chars().count() > 256 {
            return Err(format!("the value of tag {k:?} exceeds 256 characters"));
        }
    }
    Ok(())
}

/// The model's TagKey: 1–128 chars of `[\p{L}\p{N}\p{Z}_.:/=+@-]`.
pub fn validate_tag_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(format!("tag key {key:?} must be 1-128 characters"));
    }
    // Letters, digits and space separators (not tabs or newlines) plus `_.:/=+@-`.
    let allowed = |c: char| {
        c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+@-".contains(c)
    };
    match key.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(format!("tag key {key:?} contains {c:?}")),
        None => Ok(()),
    }
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

/// A bound on what the admin API can make the simulator hold.
pub const MAX_CUSTOM_LENSES: usize = 100;

#[derive(Default)]
pub struct Store {
    /// Custom lenses (the `wellarchitected` lens is [`framework`]).
    custom_lenses: Vec<LensDef>,
    /// A `wellarchitected` lens served instead of [`framework`]'s excerpt (the
    /// benchmarks' whole Framework); REL 04 in it as the excerpt has it.
    framework_override: Option<LensDef>,
    by_id: HashMap<String, Workload>,
    sorted_ids: Vec<String>,
    /// DeleteWorkload's ClientRequestToken → the workload it deleted, so a retry
    /// with the same token gets the original success rather than a 404.
    delete_tokens: HashMap<String, String>,
    /// CreateWorkload's ClientRequestToken → the workload it created.
    create_tokens: HashMap<String, String>,
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

    /// The lens a workload lists as `key` (alias or custom lens ARN), if the
    /// simulator knows its content.
    pub fn lens(&self, key: &str) -> Option<&LensDef> {
        self.lenses().find(|l| l.alias == key)
    }

    /// Every lens, the `wellarchitected` lens first.
    pub fn lenses(&self) -> impl Iterator<Item = &LensDef> {
        std::iter::once(
            self.framework_override
                .as_ref()
                .unwrap_or_else(|| framework()),
        )
        .chain(&self.custom_lenses)
    }

    /// Serves `lens` as the `wellarchitected` lens: it must be valid and carry
    /// REL 04 exactly as the excerpt does (the simulator's REL 04 answers are
    /// checked against the excerpt's choices).
    pub fn replace_framework(&mut self, lens: LensDef) -> Result<(), String> {
        if lens.alias != LENS_ALIAS {
            return Err(format!(
                "the Framework lens's alias is {LENS_ALIAS:?}, not {:?}",
                lens.alias
            ));
        }
        lens.validate()?;
        let rel04 = framework().question(QUESTION_ID).map(|(_, q)| q);
        if lens.question(QUESTION_ID).map(|(_, q)| q) != rel04 {
            return Err(format!(
                "a Framework lens must carry {QUESTION_ID} as the simulator's own excerpt does"
            ));
        }
        self.framework_override = Some(lens);
        Ok(())
    }

    /// Adds or replaces (a new version of) a custom lens; at most
    /// [`MAX_CUSTOM_LENSES`] are held.
    pub fn put_custom_lens(&mut self, lens: LensDef) -> Result<(), String> {
        let held = self.custom_lenses.len();
        match self
            .custom_lenses
            .iter_mut()
            .find(|l| l.alias == lens.alias)
        {
            Some(slot) => *slot = lens,
            None if held >= MAX_CUSTOM_LENSES => {
                return Err(format!(
                    "the simulator holds at most {MAX_CUSTOM_LENSES} custom lenses"
                ));
            }
            None => self.custom_lenses.push(lens),
        }
        Ok(())
    }

    pub fn remember_delete(&mut self, token: &str, id: &str) {
        self.delete_tokens.insert(token.to_string(), id.to_string());
    }

    pub fn remember_create(&mut self, token: &str, id: &str) {
        self.create_tokens.insert(token.to_string(), id.to_string());
    }

    /// The workload a CreateWorkload with `token` created, if one did.
    pub fn created_by(&self, token: &str) -> Option<&str> {
        self.create_tokens.get(token).map(String::as_str)
    }

    /// The workload a DeleteWorkload with `token` deleted, if one did.
    pub fn deleted_by(&self, token: &str) -> Option<&str> {
        self.delete_tokens.get(token).map(String::as_str)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::custom_lens;

    #[test]
    fn a_whole_framework_replaces_the_excerpt_only_with_rel04_as_it_is() {
        let mut store = Store::default();
        let mut whole = framework().clone();
        whole.pillars.extend(custom_lens().pillars);
        store.replace_framework(whole.clone()).unwrap();
        let served = store.lens(LENS_ALIAS).unwrap();
        assert!(served.question("data-retention").is_some());
        assert_eq!(store.lenses().count(), 1, "still one lens");

        let mut renamed = whole.clone();
        renamed.alias = "serverless".into();
        assert!(store.replace_framework(renamed).is_err());
        let mut without_rel04 = whole;
        without_rel04.pillars.remove(0);
        assert!(store.replace_framework(without_rel04).is_err());
        let mut reworded = framework().clone();
        let rel04 = reworded.pillars[0]
            .questions
            .iter_mut()
            .find(|q| q.id == QUESTION_ID);
        rel04.unwrap().title = "Other".into();
        assert!(store.replace_framework(reworded).is_err());
    }

    #[test]
    fn custom_lenses_are_replaced_by_alias_and_bounded_in_number() {
        let mut store = Store::default();
        let lens = custom_lens();
        store.put_custom_lens(lens.clone()).unwrap();
        let mut v3 = lens.clone();
        v3.version = "3".into();
        store.put_custom_lens(v3).unwrap();
        assert_eq!(store.lens(&lens.alias).unwrap().version, "3");
        for n in 1..MAX_CUSTOM_LENSES {
            let mut other = lens.clone();
            other.alias = format!("{}-{n}", lens.alias);
            store.put_custom_lens(other).unwrap();
        }
        let mut one_more = lens;
        one_more.alias.push_str("-more");
        assert!(store.put_custom_lens(one_more).is_err());
        assert_eq!(store.lenses().count(), MAX_CUSTOM_LENSES + 1);
    }
}
