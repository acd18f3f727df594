//! The lenses the simulator knows, as data: the `wellarchitected` lens's excerpt in
//! `data/wellarchitected.json` (the Framework's current wording and choice ids), plus
//! custom lenses a test adds ([`crate::Simulator::add_lens`], `POST /_sim/lenses`, or
//! a seed file's `lenses`). No question has a code path of its own: answers, risks,
//! ListAnswers and GetLens all read these tables.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// One lens: its pillars, their questions, and each question's choices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LensDef {
    /// An official lens's alias (`wellarchitected`), or a custom lens's ARN
    /// (`arn:aws:wellarchitected:<region>:<account>:lens/<id>`), as workloads list it.
    pub alias: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The lens's current version (what a CURRENT lens review shows).
    pub version: String,
    /// The version a NOT_CURRENT lens review shows until it is upgraded.
    #[serde(default)]
    pub previous_version: Option<String>,
    pub pillars: Vec<PillarDef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PillarDef {
    pub id: String,
    pub name: String,
    pub questions: Vec<QuestionDef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionDef {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// In the Tool's order; at most one is "None of these".
    pub choices: Vec<ChoiceDef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceDef {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The question's "None of these" choice (selected: the risk is HIGH).
    #[serde(default)]
    pub none_of_these: bool,
}

/// Custom lens quotas of the Tool: pillars per lens, questions per pillar, choices
/// per question. They also bound what a test (or an admin caller) can make the
/// simulator hold.
const MAX_PILLARS: usize = 10;
const MAX_QUESTIONS_PER_PILLAR: usize = 20;
const MAX_CHOICES: usize = 15;

static FRAMEWORK: LazyLock<LensDef> = LazyLock::new(|| {
    serde_json::from_str(include_str!("data/wellarchitected.json"))
        .expect("data/wellarchitected.json is a valid lens")
});

/// The `wellarchitected` lens.
pub fn framework() -> &'static LensDef {
    &FRAMEWORK
}

impl LensDef {
    pub fn is_custom(&self) -> bool {
        self.alias.starts_with("arn:")
    }

    /// The lens ARN: a custom lens's alias is its ARN; an official lens's has no
    /// account id.
    pub fn arn(&self, region: &str) -> String {
        if self.is_custom() {
            self.alias.clone()
        } else {
            format!("arn:aws:wellarchitected:{region}::lens/{}", self.alias)
        }
    }

    /// The owning account of a custom lens (`None` for an official lens).
    pub fn owner(&self) -> Option<&str> {
        self.is_custom()
            .then(|| self.alias.split(':').nth(4))
            .flatten()
    }

    pub fn lens_type(&self) -> &'static str {
        if self.is_custom() {
            "CUSTOM_SELF"
        } else {
            "AWS_OFFICIAL"
        }
    }

    /// Every question with its pillar, in the lens's order.
    pub fn questions(&self) -> impl Iterator<Item = (&PillarDef, &QuestionDef)> {
        self.pillars
            .iter()
            .flat_map(|p| p.questions.iter().map(move |q| (p, q)))
    }

    pub fn question(&self, id: &str) -> Option<(&PillarDef, &QuestionDef)> {
        self.questions().find(|(_, q)| q.id == id)
    }

    /// Checks a custom lens as ImportLens would: its ARN names this region, ids are
    /// unique and within the model's lengths, and the quotas hold.
    pub fn validate_custom(&self, region: &str) -> Result<(), String> {
        let parts: Vec<&str> = self.alias.splitn(6, ':').collect();
        let arn_ok = matches!(
            parts[..],
            ["arn", "aws", "wellarchitected", r, account, resource]
                if r == region
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && resource.strip_prefix("lens/").is_some_and(|id| !id.is_empty() && !id.contains('/'))
        );
        if !arn_ok || self.alias.len() > 128 {
            return Err(format!(
                "custom lens alias {:?} must be arn:aws:wellarchitected:{region}:<12-digit account>:lens/<id> (at most 128 chars)",
                self.alias
            ));
        }
        self.validate()
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        length("lens name", &self.name, 1, 128)?;
        length("lens description", &self.description, 0, 1024)?;
        length("lens version", &self.version, 1, 32)?;
        if let Some(previous) = &self.previous_version {
            length("lens previous_version", previous, 1, 32)?;
        }
        if self.pillars.is_empty() || self.pillars.len() > MAX_PILLARS {
            return Err(format!("a lens has 1-{MAX_PILLARS} pillars"));
        }
        let mut seen_pillars = Vec::new();
        let mut seen_questions = Vec::new();
        for pillar in &self.pillars {
            length("pillar id", &pillar.id, 1, 64)?;
            length("pillar name", &pillar.name, 1, 128)?;
            unique("pillar", &mut seen_pillars, &pillar.id)?;
            if pillar.questions.is_empty() || pillar.questions.len() > MAX_QUESTIONS_PER_PILLAR {
                return Err(format!(
                    "pillar {} has 1-{MAX_QUESTIONS_PER_PILLAR} questions",
                    pillar.id
                ));
            }
            for q in &pillar.questions {
                q.validate()?;
                unique("question", &mut seen_questions, &q.id)?;
            }
        }
        Ok(())
    }
}

impl QuestionDef {
    pub fn choice_index(&self, id: &str) -> Option<usize> {
        self.choices.iter().position(|c| c.id == id)
    }

    fn validate(&self) -> Result<(), String> {
        length("question id", &self.id, 1, 128)?;
        length("question title", &self.title, 1, 512)?;
        length("question description", &self.description, 0, 1024)?;
        if self.choices.is_empty() || self.choices.len() > MAX_CHOICES {
            return Err(format!("question {} has 1-{MAX_CHOICES} choices", self.id));
        }
        let mut seen = Vec::new();
        for c in &self.choices {
            length("choice id", &c.id, 1, 64)?;
            length("choice title", &c.title, 1, 512)?;
            length("choice description", &c.description, 0, 1024)?;
            unique("choice", &mut seen, &c.id)?;
        }
        if self.choices.iter().filter(|c| c.none_of_these).count() > 1 {
            return Err(format!(
                "question {} has more than one \"None of these\" choice",
                self.id
            ));
        }
        Ok(())
    }
}

fn length(what: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if (min..=max).contains(&n) {
        Ok(())
    } else {
        Err(format!("{what} {value:?} must be {min}-{max} characters"))
    }
}

fn unique<'a>(what: &str, seen: &mut Vec<&'a str>, id: &'a str) -> Result<(), String> {
    if seen.contains(&id) {
        return Err(format!("{what} id {id:?} appears twice"));
    }
    seen.push(id);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn custom_lens() -> LensDef {
        serde_json::from_value(serde_json::json!({
            "alias": "arn:aws:wellarchitected:us-east-1:111122223333:lens/0123abcd",
            "name": "Data handling",
            "version": "2",
            "previous_version": "1",
            "pillars": [{"id": "data", "name": "Data", "questions": [{
                "id": "data-retention", "title": "How do you retain data?",
                "choices": [
                    {"id": "retention_keep_backups", "title": "Keep backups"},
                    {"id": "retention_no", "title": "None of these", "none_of_these": true}
                ]
            }]}]
        }))
        .unwrap()
    }

    #[test]
    fn the_framework_lens_is_valid_and_carries_the_current_rel04_wording() {
        let lens = framework();
        lens.validate().unwrap();
        let (pillar, q) = lens.question("prevent-interaction-failure").unwrap();
        assert_eq!(pillar.id, "reliability");
        let titles: Vec<(&str, &str)> = q
            .choices
            .iter()
            .map(|c| (c.id.as_str(), c.title.as_str()))
            .collect();
        assert_eq!(
            titles,
            [
                (
                    "rel_prevent_interaction_failure_identify",
                    "Identify the kind of distributed systems you depend on"
                ),
                (
                    "rel_prevent_interaction_failure_loosely_coupled_system",
                    "Implement loosely coupled dependencies"
                ),
                (
                    "rel_prevent_interaction_failure_constant_work",
                    "Do constant work"
                ),
                (
                    "rel_prevent_interaction_failure_idempotent",
                    "Make mutating operations idempotent"
                ),
                ("rel_prevent_interaction_failure_no", "None of these"),
            ]
        );
        assert!(q.choices[4].none_of_these);
    }

    #[test]
    fn custom_lenses_are_checked_like_import_lens() {
        let lens = custom_lens();
        lens.validate_custom("us-east-1").unwrap();
        assert_eq!(lens.owner(), Some("111122223333"));
        assert!(lens.validate_custom("eu-west-1").is_err(), "another region");
        let mut bad = lens.clone();
        bad.alias = "datalens".into();
        assert!(bad.validate_custom("us-east-1").is_err(), "not an ARN");
        let mut bad = lens.clone();
        bad.pillars[0].questions[0].choices[0].none_of_these = true;
        assert!(
            bad.validate_custom("us-east-1").is_err(),
            "two none-of-these"
        );
        let mut bad = lens.clone();
        let choice = bad.pillars[0].questions[0].choices[0].clone();
        bad.pillars[0].questions[0].choices.push(choice);
        assert!(
            bad.validate_custom("us-east-1").is_err(),
            "duplicate choice"
        );
        let mut bad = lens;
        let q = bad.pillars[0].questions[0].clone();
        bad.pillars[0].questions = vec![q; MAX_QUESTIONS_PER_PILLAR + 1];
        assert!(bad.validate_custom("us-east-1").is_err(), "over quota");
    }
}
