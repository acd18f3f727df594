//! The `[[controls]]` section: which questions of which lenses are controls, and
//! what their policies are called. Absent, rel04d governs REL 04 alone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::control::ControlDef;
use crate::control::policy::{LENS_ALIAS, PolicyKey, QUESTION_ID};

/// The most `[[controls]]` entries, and questions over all of them (after `*`
/// is expanded too): each question is a control per workload.
pub const MAX_CONTROL_ENTRIES: usize = 100;
pub const MAX_QUESTIONS: usize = 1_000;
/// The longest question id and policy name.
pub const MAX_NAME: usize = 128;
/// Every question of the lens, as the Tool lists them.
pub const ALL_QUESTIONS: &str = "*";

/// One `[[controls]]` entry as written.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ControlEntry {
    /// A lens alias (`wellarchitected`) or a lens ARN.
    pub lens: String,
    /// Question ids, or `["*"]`.
    pub questions: Vec<String>,
    /// Policy names by question id (default: the question id).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, String>,
}

/// The checked `[[controls]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Controls {
    entries: Vec<ControlEntry>,
}

impl Default for Controls {
    /// REL 04 of the Framework alone.
    fn default() -> Self {
        Controls {
            entries: vec![ControlEntry {
                lens: LENS_ALIAS.to_owned(),
                questions: vec![QUESTION_ID.to_owned()],
                names: BTreeMap::new(),
            }],
        }
    }
}

impl Controls {
    /// Checks `[[controls]]`; none configured means REL 04 alone.
    pub fn check(entries: &[ControlEntry]) -> Result<Controls, ConfigError> {
        if entries.is_empty() {
            return Ok(Controls::default());
        }
        if entries.len() > MAX_CONTROL_ENTRIES {
            return Err(ConfigError::new(
                "controls",
                format!("{} entries; at most {MAX_CONTROL_ENTRIES}", entries.len()),
            ));
        }
        let total: usize = entries.iter().map(|e| e.questions.len()).sum();
        if total > MAX_QUESTIONS {
            return Err(ConfigError::new(
                "controls",
                format!("{total} questions; at most {MAX_QUESTIONS}"),
            ));
        }
        let mut seen_questions = BTreeSet::new();
        let mut seen_names: BTreeMap<String, String> = BTreeMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("controls[{i}]");
            check_lens(&entry.lens).map_err(|m| ConfigError::new(format!("{at}.lens"), m))?;
            let all = entry.questions.iter().any(|q| q == ALL_QUESTIONS);
            if entry.questions.is_empty() || (all && entry.questions.len() > 1) {
                return Err(ConfigError::new(
                    format!("{at}.questions"),
                    "list question ids, or [\"*\"] alone for every question of the lens",
                ));
            }
            for (q, name) in &entry.names {
                let key = format!("{at}.names.{q}");
                if !all && !entry.questions.contains(q) {
                    return Err(ConfigError::new(
                        key,
                        "names a question this entry does not list",
                    ));
                }
                if entry.lens == LENS_ALIAS && q == QUESTION_ID {
                    return Err(ConfigError::new(
                        key,
                        "REL 04's policies keep their Guardrails names (rel04, identify, …)",
                    ));
                }
                check_name(name).map_err(|m| ConfigError::new(key, m))?;
            }
            for (j, question) in entry.questions.iter().enumerate() {
                let key = format!("{at}.questions[{j}]");
                if question == ALL_QUESTIONS {
                    continue;
                }
                check_name(question).map_err(|m| ConfigError::new(key.clone(), m))?;
                if !seen_questions.insert((entry.lens.as_str(), question.as_str())) {
                    return Err(ConfigError::new(
                        key,
                        "this question of this lens is listed twice",
                    ));
                }
                let definition = ControlDef::new(
                    &entry.lens,
                    question,
                    entry.names.get(question).map(String::as_str),
                );
                let name = definition.name.to_string();
                if !definition.is_rel04() && PolicyKey::parse(&name).is_some() {
                    return Err(ConfigError::new(
                        key,
                        format!(
                            "its policy name {name:?} is one of REL 04's; give it another in names"
                        ),
                    ));
                }
                if let Some(other) = seen_names.insert(name.clone(), key.clone()) {
                    return Err(ConfigError::new(
                        key,
                        format!(
                            "its policy name {name:?} is also {other}'s; names must be unique (set names)"
                        ),
                    ));
                }
            }
        }
        Ok(Controls {
            entries: entries.to_vec(),
        })
    }

    pub fn entries(&self) -> &[ControlEntry] {
        &self.entries
    }

    /// The controls known without asking the Tool (every question listed by id).
    pub fn listed(&self) -> Vec<Arc<ControlDef>> {
        self.entries
            .iter()
            .flat_map(|e| {
                e.questions
                    .iter()
                    .filter(|q| *q != ALL_QUESTIONS)
                    .map(|q| ControlDef::new(&e.lens, q, e.names.get(q).map(String::as_str)))
            })
            .collect()
    }

    /// The definition of the control `(lens, question_id)` as configured (a
    /// question no entry names is defined with its default names).
    pub fn definition_of(&self, lens: &str, question_id: &str) -> Arc<ControlDef> {
        if let Some(listed) = self
            .listed()
            .into_iter()
            .find(|d| d.lens == lens && d.question_id == question_id)
        {
            return listed;
        }
        let name = self
            .entries
            .iter()
            .filter(|e| e.lens == lens)
            .find_map(|e| e.names.get(question_id));
        ControlDef::new(lens, question_id, name.map(String::as_str))
    }

    /// Whether `lens` has a `*` entry (its questions come from the Tool).
    pub fn expands(&self, lens: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.lens == lens && e.questions.iter().any(|q| q == ALL_QUESTIONS))
    }

    /// Every control, with `*` expanded from the question ids the Tool lists
    /// per lens (`listed`: lens → question ids, in the Tool's order). A question
    /// already configured, one whose name another control has, one that is not a
    /// valid name, or one past [`MAX_QUESTIONS`] is left out, with a line
    /// saying why.
    pub fn expand(
        &self,
        listed: &BTreeMap<String, Vec<String>>,
    ) -> (Vec<Arc<ControlDef>>, Vec<String>) {
        let mut definitions = self.listed();
        let mut problems = Vec::new();
        let mut names: BTreeSet<String> = definitions.iter().map(|d| d.name.to_string()).collect();
        let mut questions: BTreeSet<(String, String)> = definitions
            .iter()
            .map(|d| (d.lens.clone(), d.question_id.clone()))
            .collect();
        for entry in self
            .entries
            .iter()
            .filter(|e| e.questions.iter().any(|q| q == ALL_QUESTIONS))
        {
            for question in listed.get(&entry.lens).into_iter().flatten() {
                if !questions.insert((entry.lens.clone(), question.clone())) {
                    continue;
                }
                let name = entry.names.get(question).map(String::as_str);
                if let Err(why) = check_name(name.unwrap_or(question)) {
                    problems.push(format!(
                        "{} question {question:?} left out: {why}",
                        entry.lens
                    ));
                    continue;
                }
                if definitions.len() >= MAX_QUESTIONS {
                    problems.push(format!(
                        "{} question {question:?} left out: more than {MAX_QUESTIONS} controls",
                        entry.lens
                    ));
                    continue;
                }
                let definition = ControlDef::new(&entry.lens, question, name);
                let taken =
                    !definition.is_rel04() && PolicyKey::parse(definition.name.as_str()).is_some();
                if taken || !names.insert(definition.name.to_string()) {
                    problems.push(format!(
                        "{} question {question:?} left out: its policy name {:?} is taken (set names)",
                        entry.lens, definition.name.as_str()
                    ));
                    continue;
                }
                definitions.push(definition);
            }
        }
        (definitions, problems)
    }

    /// Whether `key` may be set in `[policies]` and tags: a question policy or a
    /// best-practice policy (`<name>/<choice id>`) of a configured control, or,
    /// while a lens's questions come from the Tool (`*`), of any question. The
    /// choice is checked at evaluation, against the Tool's choices.
    pub fn allows(&self, key: &str) -> bool {
        if PolicyKey::parse(key).is_some() {
            return self.has_rel04();
        }
        let (name, choice) = match key.split_once('/') {
            Some((name, choice)) => (name, Some(choice)),
            None => (key, None),
        };
        if choice.is_some_and(|c| check_name(c).is_err()) || PolicyKey::parse(name).is_some() {
            return false;
        }
        self.listed().iter().any(|d| d.name.as_str() == name)
            || (self.any_star() && check_name(name).is_ok())
    }

    /// Whether REL 04 is a control: listed, or from a `*` on the Framework.
    fn has_rel04(&self) -> bool {
        self.expands(LENS_ALIAS) || self.listed().iter().any(|d| d.is_rel04())
    }

    fn any_star(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.questions.iter().any(|q| q == ALL_QUESTIONS))
    }

    /// The names [`allows`](Controls::allows) takes, for error messages.
    pub fn allowed_names(&self) -> String {
        let mut names: Vec<String> = Vec::new();
        for d in self.listed() {
            if d.is_rel04() {
                names.extend(PolicyKey::ALL.iter().map(|k| k.to_string()));
            } else {
                names.push(d.name.to_string());
                names.push(format!("{}/<choice id>", d.name));
            }
        }
        if self
            .entries
            .iter()
            .any(|e| e.questions.iter().any(|q| q == ALL_QUESTIONS))
        {
            names.push(
                "<question id> and <question id>/<choice id> of a lens configured with \"*\""
                    .to_owned(),
            );
        }
        names.join(", ")
    }
}

/// A lens alias (lowercase letters, digits, `-`) or a lens ARN
/// `arn:aws:wellarchitected:<region>:<account>:lens/<id>`.
fn check_lens(lens: &str) -> Result<(), String> {
    if let Some(rest) = lens.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let ok = matches!(parts.as_slice(), [partition, "wellarchitected", region, account, resource]
        if partition.starts_with("aws")
            && !region.is_empty()
            && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("lens/").is_some_and(|id| {
                !id.is_empty() && id.len() <= MAX_NAME && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
        return if ok {
            Ok(())
        } else {
            Err(format!(
                "{lens:?} is not a lens ARN arn:aws:wellarchitected:<region>:<12-digit account>:lens/<id>"
            ))
        };
    }
    if !lens.is_empty()
        && lens.len() <= MAX_NAME
        && lens
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(())
    } else {
        Err(format!(
            "{lens:?} is neither a lens alias (like wellarchitected) nor a lens ARN"
        ))
    }
}

/// A question id or policy name: 1–128 of letters, digits, `-` and `_` (it
/// becomes part of tag keys and `<name>/<choice id>`, so never a `/`).
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("{name:?} must be 1 to {MAX_NAME} characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "{name:?} may hold only letters, digits, '-' and '_' (no '/')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
