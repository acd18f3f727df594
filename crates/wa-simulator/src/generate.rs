//! Populating a simulator: deterministic generated fleets and JSON seed files.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::Deserialize;

use super::catalog::LensDef;
use super::lens::{
    CHOICE_CONSTANT_WORK, CHOICE_IDEMPOTENT, CHOICE_IDENTIFY, CHOICE_LOOSELY_COUPLED, CHOICE_NONE,
    LENS_ALIAS, rel04,
};
use super::sim::{Simulator, random_workload_id};
use super::types::{AnswerSpec, WorkloadSpec};

/// The three owner accounts of generated fleets.
pub const GENERATED_ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];

const SUFFIXES: [&str; 12] = [
    "payments",
    "orders",
    "inventory",
    "search",
    "checkout",
    "identity",
    "analytics",
    "billing",
    "shipping",
    "catalog",
    "notifications",
    "reporting",
];
const TEAMS: [&str; 4] = ["platform", "commerce", "data", "growth"];
/// 2025-01-01T00:00:00Z: generated `UpdatedAt` values count back from here, so
/// they do not depend on the clock.
const GENERATED_EPOCH: f64 = 1_735_689_600.0;

/// The seed file (see the module docs for an example).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default = "default_region")]
    region: String,
    /// Custom lenses, added before the workloads (which may list them).
    #[serde(default)]
    lenses: Vec<LensDef>,
    #[serde(default)]
    workloads: Vec<WorkloadSpec>,
}

fn default_region() -> String {
    "us-east-1".to_string()
}

impl Simulator {
    /// `count` varied workloads, identical for the same `(region, count, seed)`.
    ///
    /// Names are `workload-0001-payments`…; owners cycle through
    /// [`GENERATED_ACCOUNTS`]; about 10% lack the `wellarchitected` lens; answers are
    /// spread over all four best practices, subsets, "None of these", not applicable,
    /// unanswered, and subsets with one NOT_APPLICABLE choice; about a third carry
    /// `env`/`team` tags, and a few carry a `rel04d:` policy tag.
    pub fn generated(region: &str, count: usize, seed: u64) -> Self {
        let sim = Self::new(region);
        let mut rng = SmallRng::seed_from_u64(seed);
        for i in 1..=count {
            let (spec, id, updated_at) = generated_spec(&mut rng, i);
            // Ids are 128 random bits: a collision is astronomically unlikely, but a
            // retry keeps `count` exact even then.
            let mut id = id;
            while sim.inner.read().contains(&id) {
                id = random_workload_id(&mut rng);
            }
            sim.insert(&spec, id, updated_at)
                .expect("generated specs are valid");
        }
        sim
    }

    /// Loads a JSON seed file: `{"region": "...", "workloads": [WorkloadSpec...]}`.
    pub fn from_seed_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading simulator seed file {}", path.display()))?;
        let seed: SeedFile = serde_json::from_str(&text)
            .with_context(|| format!("parsing simulator seed file {}", path.display()))?;
        let sim = Self::new(&seed.region);
        for lens in seed.lenses {
            let alias = lens.alias.clone();
            sim.add_lens(lens)
                .with_context(|| format!("seed file {}: lens {alias}", path.display()))?;
        }
        for (n, spec) in seed.workloads.into_iter().enumerate() {
            let name = spec.name.clone();
            sim.try_add_workload(spec)
                .with_context(|| format!("seed file {}: workload #{n} {name:?}", path.display()))?;
        }
        Ok(sim)
    }
}

fn generated_spec(rng: &mut SmallRng, i: usize) -> (WorkloadSpec, String, f64) {
    let id = random_workload_id(rng);
    let owner = GENERATED_ACCOUNTS[(i - 1) % GENERATED_ACCOUNTS.len()].to_string();
    let name = format!(
        "workload-{i:04}-{}",
        SUFFIXES[rng.random_range(0..SUFFIXES.len())]
    );
    let lenses = match rng.random_range(0..100) {
        0..10 => vec!["serverless".to_string()],
        10..25 => vec![LENS_ALIAS.to_string(), "serverless".to_string()],
        _ => vec![LENS_ALIAS.to_string()],
    };
    let mut tags = BTreeMap::new();
    if rng.random_bool(0.35) {
        let env = if rng.random_bool(0.6) { "prod" } else { "dev" };
        tags.insert("env".to_string(), env.to_string());
        tags.insert(
            "team".to_string(),
            TEAMS[rng.random_range(0..TEAMS.len())].to_string(),
        );
    }
    if rng.random_bool(0.03) {
        tags.insert("rel04d:constant_work".to_string(), "Skip".to_string());
    }
    let answer = generated_answer(rng);
    let updated_at = GENERATED_EPOCH - f64::from(rng.random_range(0..90 * 86_400_u32));
    let spec = WorkloadSpec {
        id: Some(id.clone()),
        name,
        owner,
        lenses,
        tags,
        answer,
    };
    (spec, id, updated_at)
}

fn generated_answer(rng: &mut SmallRng) -> AnswerSpec {
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // In this order, not the Tool's, so a seed generates the fleets it always did.
    let best = [
        CHOICE_IDENTIFY,
        CHOICE_LOOSELY_COUPLED,
        CHOICE_IDEMPOTENT,
        CHOICE_CONSTANT_WORK,
    ];
    let mut shuffled = best;
    shuffled.shuffle(rng);
    let subset = rng.random_range(1..4);
    let (selected, not_applicable, is_applicable) = match rng.random_range(0..100) {
        0..30 => (ids(&best), vec![], true),
        30..55 => (ids(&shuffled[..subset]), vec![], true),
        55..65 => (ids(&[CHOICE_NONE]), vec![], true),
        65..73 => (ids(&shuffled[..subset]), vec![], false),
        73..88 => (vec![], vec![], true),
        // A subset plus one best practice marked NOT_APPLICABLE.
        _ => (
            ids(&shuffled[..subset]),
            ids(&shuffled[subset..=subset]),
            true,
        ),
    };
    // Keep the Tool's choice order regardless of the shuffle.
    let order = |v: Vec<String>| {
        let mut v = v;
        v.sort_by_key(|id| rel04().choice_index(id));
        v
    };
    AnswerSpec {
        selected: order(selected),
        not_applicable: order(not_applicable),
        is_applicable,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn generated_fleets_are_deterministic_and_varied() {
        let a = Simulator::generated("eu-west-1", 500, 9).workloads();
        assert_eq!(a, Simulator::generated("eu-west-1", 500, 9).workloads());
        assert_ne!(a, Simulator::generated("eu-west-1", 500, 10).workloads());
        assert_eq!(a.len(), 500);

        let count = |f: &dyn Fn(&crate::WorkloadInfo) -> bool| a.iter().filter(|w| f(w)).count();
        let without_lens = count(&|w| !w.lenses.iter().any(|l| l == LENS_ALIAS));
        assert!(
            (25..=80).contains(&without_lens),
            "{without_lens} without the lens"
        );
        assert!(count(&|w| w.answer.selected.len() == 4) > 50);
        assert!(count(&|w| (1..4).contains(&w.answer.selected.len())) > 50);
        assert!(count(&|w| w.answer.selected == [CHOICE_NONE]) > 10);
        assert!(count(&|w| !w.answer.is_applicable) > 10);
        assert!(count(&|w| w.answer.selected.is_empty() && w.answer.is_applicable) > 10);
        assert!(count(&|w| !w.answer.not_applicable.is_empty()) > 10);
        assert!(count(&|w| !w.tags.is_empty()) > 50);
        for account in GENERATED_ACCOUNTS {
            assert!(count(&|w| w.owner == account) > 100);
        }
        assert!(a.iter().any(|w| w.name == "workload-0001-payments" || w.name.starts_with("workload-0001-")));
        assert!(
            a.iter()
                .all(|w| w.arn.starts_with("arn:aws:wellarchitected:eu-west-1:"))
        );
    }

    #[test]
    fn seed_file_loads_and_reports_bad_entries() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(
            file,
            r#"{{"region": "us-west-2", "workloads": [
                {{"id": "0123456789abcdef0123456789abcdef", "name": "seeded", "owner": "444455556666",
                  "tags": {{"env": "dev"}},
                  "answer": {{"selected": ["rel_prevent_interaction_failure_idempotent"],
                              "not_applicable": ["rel_prevent_interaction_failure_constant_work"]}}}},
                {{"name": "defaults"}}
            ]}}"#
        )
        .unwrap();
        let sim = Simulator::from_seed_file(file.path()).unwrap();
        assert_eq!(sim.region(), "us-west-2");
        let w = sim.workload("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            w.arn,
            "arn:aws:wellarchitected:us-west-2:444455556666:workload/0123456789abcdef0123456789abcdef"
        );
        assert_eq!(
            w.answer.not_applicable,
            ["rel_prevent_interaction_failure_constant_work"]
        );
        assert!(w.answer.is_applicable);
        assert_eq!(sim.workloads().len(), 2);

        let mut bad = tempfile::NamedTempFile::new().unwrap();
        write!(
            bad,
            r#"{{"workloads": [{{"name": "bad-choice", "answer": {{"selected": ["nope"]}}}}]}}"#
        )
        .unwrap();
        let err = format!("{:#}", Simulator::from_seed_file(bad.path()).err().unwrap());
        assert!(err.contains("nope") && err.contains("workload #0"), "{err}");
    }
}
