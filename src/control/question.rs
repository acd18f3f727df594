//! A control's definition: which question of which lens it governs, what its
//! policies are called and what control type it records. Pure data; the
//! question's structure (choices, titles, "None of these") comes from the Tool's
//! answer at evaluation, never from here.

use std::sync::{Arc, LazyLock};

use super::policy::{BestPractice, LENS_ALIAS, PolicyKey, QUESTION_ID};

/// The control type URI prefix of the AWS Well-Architected Framework's questions.
pub const FRAMEWORK_TYPE_PREFIX: &str =
    "tmod:@turbot/aws-wellarchitected-framework#/control/types/";
/// The control type URI prefix of every other lens's questions (custom lenses, and
/// AWS lenses Guardrails has no mod for).
pub const CUSTOM_LENS_TYPE_PREFIX: &str = "tmod:@rel04d/custom-lens#/control/types/";

/// One question governed as a control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlDef {
    /// The lens as configured: an alias (`wellarchitected`) or a lens ARN.
    pub lens: String,
    /// The Tool's `QuestionId`.
    pub question_id: String,
    /// The question policy's name; best-practice policies are named after it.
    pub name: PolicyKey,
    /// The control type in short (the `control_type` column), e.g. `rel04`.
    pub control_type: String,
    pub control_type_uri: String,
    /// REL 04 only: its Guardrails sub-policies and the choice each governs.
    /// Empty for every other question: its sub-policies are `<name>/<choice id>`.
    fixed_practices: Vec<(PolicyKey, &'static str)>,
    /// REL 04 only: the "None of these" choice when the Tool gave no titles.
    none_of_these_fallback: Option<&'static str>,
}

static REL04: LazyLock<Arc<ControlDef>> = LazyLock::new(|| {
    Arc::new(ControlDef {
        lens: LENS_ALIAS.to_owned(),
        question_id: QUESTION_ID.to_owned(),
        name: PolicyKey::Rel04,
        control_type: super::CONTROL_TYPE.to_owned(),
        control_type_uri: format!("{FRAMEWORK_TYPE_PREFIX}{}", super::CONTROL_TYPE),
        fixed_practices: BestPractice::ALL
            .iter()
            .map(|p| (p.policy_key(), p.choice_id()))
            .collect(),
        none_of_these_fallback: Some(super::policy::NONE_OF_THESE_CHOICE_ID),
    })
});

impl ControlDef {
    /// REL 04 of the `wellarchitected` lens, with its Guardrails names.
    pub fn rel04() -> Arc<ControlDef> {
        REL04.clone()
    }

    /// The control for `question_id` of `lens`, its policies named `name`
    /// (default: the question id). REL 04 of the Framework is always [`rel04`].
    ///
    /// [`rel04`]: ControlDef::rel04
    pub fn new(lens: &str, question_id: &str, name: Option<&str>) -> Arc<ControlDef> {
        let framework = lens == LENS_ALIAS;
        if framework && question_id == QUESTION_ID {
            return ControlDef::rel04();
        }
        // Guardrails' names (`rel05`) where Guardrails has the question: its
        // users' policy names and control type carry over.
        let guardrails = framework
            .then(|| super::framework_names::guardrails(question_id))
            .flatten()
            .map(|names| names.name.as_str());
        let name = name.or(guardrails).unwrap_or(question_id);
        let control_type = guardrails.unwrap_or(name).to_owned();
        let prefix = if framework {
            FRAMEWORK_TYPE_PREFIX
        } else {
            CUSTOM_LENS_TYPE_PREFIX
        };
        Arc::new(ControlDef {
            lens: lens.to_owned(),
            question_id: question_id.to_owned(),
            name: PolicyKey::named(name),
            control_type_uri: format!("{prefix}{control_type}"),
            control_type,
            fixed_practices: Vec::new(),
            none_of_these_fallback: None,
        })
    }

    pub fn is_rel04(&self) -> bool {
        !self.fixed_practices.is_empty()
    }

    /// REL 04's sub-policies and their choices, in Guardrails' order (empty for
    /// other questions, whose choices come from the Tool).
    pub fn fixed_practices(&self) -> impl Iterator<Item = (&PolicyKey, &'static str)> {
        self.fixed_practices.iter().map(|(k, c)| (k, *c))
    }

    /// The best-practice policy governing `choice_id`.
    pub fn sub_policy(&self, choice_id: &str) -> PolicyKey {
        match self.fixed_practices.iter().find(|(_, c)| *c == choice_id) {
            Some((key, _)) => key.clone(),
            None => PolicyKey::practice(&self.name, choice_id),
        }
    }

    /// The choice a best-practice policy of this control governs, if `key` is one.
    pub fn choice_of<'a>(&self, key: &'a PolicyKey) -> Option<&'a str> {
        if self.is_rel04() {
            return self
                .fixed_practices
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, c)| *c);
        }
        let (name, choice) = key.split_practice()?;
        (name == self.name.as_str() && !choice.is_empty()).then_some(choice)
    }

    /// Whether `key` is one of this control's policies (its question policy, or
    /// one of its best-practice policies, whatever the choice).
    pub fn owns(&self, key: &PolicyKey) -> bool {
        *key == self.name || self.choice_of(key).is_some()
    }

    /// REL 04's "None of these" choice id when the Tool gives no titles.
    pub fn none_of_these_fallback(&self) -> Option<&'static str> {
        self.none_of_these_fallback
    }
}

#[cfg(test)]
mod tests;
