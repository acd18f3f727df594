//! A workload's controls lens by lens: one read of a lens's answers for every
//! question of it that is a control (`ListAnswers`, paged), then each question's
//! control decided and written on its own. A lens with one governed question
//! (REL 04 alone, the default) reads that answer with `GetAnswer`, and only when
//! its policies ask for a check, as it always has.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::lens_reviews::Reviews;
use super::{Reconciled, Reconciler, ScopeRef, Subject, decide};
use crate::config::controls::Controls;
use crate::control::{Calculated, ControlDef, LensStatus, ObservedAnswer};
use crate::queue::Stored;
use crate::store::ControlKey;
use crate::wellarchitected::{ErrorKind, QuestionAnswer, WaError};
use crate::workload::{Trigger, Workload};

/// The questions of one lens that are controls.
#[derive(Clone, Debug)]
pub(super) struct LensControls {
    pub(super) lens: String,
    /// Questions configured by id.
    pub(super) listed: Vec<Arc<ControlDef>>,
    /// `*`: every question the Tool lists for the lens, as of each read.
    every: bool,
    controls: Arc<Controls>,
    /// The one pillar all `listed` questions are in, learnt from a whole read
    /// of the lens: later reads ask for that pillar only (`PillarId`).
    pillar: Arc<Mutex<Option<String>>>,
    /// `*`: the last question ids the Tool listed and their definitions. Every
    /// workload's read lists the same questions (until a lens update), so each
    /// finds its definitions here instead of building 57 of them again.
    last_expanded: Arc<Mutex<Option<Expanded>>>,
}

/// The definitions of a lens's listed question ids, in the Tool's order.
#[derive(Debug)]
struct Expanded {
    question_ids: Vec<String>,
    definitions: Vec<Arc<ControlDef>>,
}

impl LensControls {
    /// `[[controls]]` grouped by lens, in configuration order.
    pub(super) fn of(controls: &Arc<Controls>) -> Vec<LensControls> {
        let mut lenses: Vec<LensControls> = Vec::new();
        for entry in controls.entries() {
            if lenses.iter().any(|l| l.lens == entry.lens) {
                continue;
            }
            lenses.push(LensControls {
                lens: entry.lens.clone(),
                listed: controls
                    .listed()
                    .into_iter()
                    .filter(|d| d.lens == entry.lens)
                    .collect(),
                every: controls.expands(&entry.lens),
                controls: controls.clone(),
                pillar: Default::default(),
                last_expanded: Default::default(),
            });
        }
        lenses
    }

    /// The pillar to ask for: the one every governed question is in, once learnt.
    fn pillar(&self) -> Option<String> {
        if self.every {
            return None;
        }
        self.pillar
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Learns from a read of the lens which pillar to ask for next: the one all
    /// governed questions were found in, or none.
    fn learn_pillar(&self, read: &[QuestionAnswer]) {
        let pillars: Vec<Option<&str>> = self
            .listed
            .iter()
            .map(|d| {
                read.iter()
                    .find(|q| q.question_id == d.question_id)
                    .and_then(|q| q.pillar_id.as_deref())
            })
            .collect();
        let one = match pillars.split_first() {
            Some((Some(first), rest)) if rest.iter().all(|p| *p == Some(*first)) => {
                Some((*first).to_owned())
            }
            _ => None,
        };
        *self.pillar.lock().unwrap_or_else(|e| e.into_inner()) = one;
    }

    /// Whether `read` has every governed question.
    fn all_in(&self, read: &[QuestionAnswer]) -> bool {
        self.listed
            .iter()
            .all(|d| read.iter().any(|q| q.question_id == d.question_id))
    }

    /// The controls of this lens given the question ids the Tool listed.
    fn expanded(&self, question_ids: Vec<String>) -> Vec<Arc<ControlDef>> {
        if !self.every {
            return self.listed.clone();
        }
        let mut last = self.last_expanded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(last) = last.as_ref().filter(|l| l.question_ids == question_ids) {
            return last.definitions.clone();
        }
        let listed = BTreeMap::from([(self.lens.clone(), question_ids)]);
        let (definitions, problems) = self.controls.expand(&listed);
        for problem in problems {
            tracing::debug!(lens = %self.lens, "{problem}");
        }
        let definitions: Vec<Arc<ControlDef>> = definitions
            .into_iter()
            .filter(|d| d.lens == self.lens)
            .collect();
        let question_ids = listed.into_values().next().unwrap_or_default();
        *last = Some(Expanded {
            question_ids,
            definitions: definitions.clone(),
        });
        definitions
    }
}

/// A lens's answers as read for its controls.
enum LensAnswers {
    /// Not read: each control reads its own (`GetAnswer`) when it must.
    Each,
    /// `ListAnswers`' answers by question id.
    Listed(HashMap<String, ObservedAnswer>),
    /// Reading them failed: every control of the lens records the error.
    Failed(WaError),
}

impl LensAnswers {
    /// The answer of `question_id` (`None`: the control reads it itself).
    fn take(&mut self, lens: &str, question_id: &str) -> Option<Result<ObservedAnswer, WaError>> {
        match self {
            LensAnswers::Each => None,
            LensAnswers::Failed(error) => Some(Err(error.clone())),
            LensAnswers::Listed(answers) => {
                Some(answers.remove(question_id).ok_or_else(|| WaError {
                    operation: "ListAnswers",
                    kind: ErrorKind::Other,
                    message: format!("the question {question_id} is not in the lens {lens}"),
                    attempts: 1,
                }))
            }
        }
    }
}

/// How the evaluations of one workload's controls ended, told as one: a busy
/// or superseded control makes the whole so (an event retries it), else the
/// first state recorded, else a removal.
#[derive(Default)]
pub(super) struct Ended(Option<Reconciled>);

impl Ended {
    pub(super) fn add(&mut self, next: Reconciled) {
        let rank = |r: &Reconciled| match r {
            Reconciled::Busy => 4,
            Reconciled::Superseded => 3,
            Reconciled::Evaluated(_) => 2,
            Reconciled::Removed => 1,
            Reconciled::Ignored => 0,
        };
        if self.0.as_ref().is_none_or(|now| rank(&next) > rank(now)) {
            self.0 = Some(next);
        }
    }

    pub(super) fn into_reconciled(self) -> Reconciled {
        self.0.unwrap_or(Reconciled::Ignored)
    }
}

/// What was read of a workload before its lenses are evaluated.
#[derive(Clone, Copy)]
pub(super) struct Read<'a> {
    /// Its controls as its sweep's page read them.
    pub(super) stored: &'a Stored,
    /// Its lens reviews, when read or remembered.
    pub(super) reviews: Option<&'a Reviews>,
    pub(super) calculated: &'a Calculated,
    /// The one question of the lens to evaluate (an event named it), if any.
    pub(super) question: Option<&'a str>,
}

impl Read<'_> {
    /// The status of `lens`'s review: as read, else as its controls recorded it.
    fn lens_status(&self, lens: &str) -> Option<LensStatus> {
        match self.reviews {
            Some(reviews) => reviews.status_of(lens),
            None => self
                .stored
                .of_lens(lens)?
                .iter()
                .find_map(|c| c.lens_status.as_deref())
                .map(LensStatus::parse),
        }
    }
}

impl Reconciler {
    /// The definition of the control `(lens, question_id)` as configured.
    pub(super) fn definition_of(&self, lens: &str, question_id: &str) -> Arc<ControlDef> {
        self.controls.definition_of(lens, question_id)
    }

    /// Evaluates every control of `governed`'s lens on `workload`.
    pub(super) async fn evaluate_lens(
        &self,
        scope: &ScopeRef<'_>,
        workload: &Workload,
        governed: &LensControls,
        read: Read<'_>,
        trigger: &Trigger,
    ) -> anyhow::Result<Reconciled> {
        let stored = read.stored;
        let mut ended = Ended::default();
        if !workload.has(&governed.lens) {
            let held = match read.question {
                Some(question) => vec![question.to_owned()],
                None => self.questions_held(workload, stored, governed).await?,
            };
            for question_id in held {
                let verdict =
                    decide::without_lens(&stored.of(&governed.lens, &question_id), &governed.lens);
                let key = ControlKey::new(&workload.arn, &governed.lens, &question_id);
                ended.add(Box::pin(self.apply_current(&key, verdict, trigger)).await?);
            }
            return Ok(ended.into_reconciled());
        }
        let lens_status = read.lens_status(&governed.lens);
        let (definitions, mut answers) = match read.question {
            // Only one answer changed: read it alone (GetAnswer).
            Some(question) => (
                vec![self.definition_of(&governed.lens, question)],
                LensAnswers::Each,
            ),
            None => self.read_lens(scope, workload, governed).await,
        };
        for definition in &definitions {
            let subject = Subject {
                scope,
                workload,
                control: definition,
                lens_status: lens_status.clone(),
                trigger,
            };
            let answer = answers.take(&governed.lens, &definition.question_id);
            let stored = stored.of(&definition.lens, &definition.question_id);
            let calculated = read.calculated;
            ended.add(
                self.evaluate_control(&subject, stored, calculated, answer)
                    .await?,
            );
        }
        // The status went onto each control with its verdict (`Store::apply`).
        Ok(ended.into_reconciled())
    }

    /// Reads the lens's answers when more than one question of it is a
    /// control (or every one is): one `ListAnswers` (paged) for all of them.
    async fn read_lens(
        &self,
        scope: &ScopeRef<'_>,
        workload: &Workload,
        governed: &LensControls,
    ) -> (Vec<Arc<ControlDef>>, LensAnswers) {
        if !governed.every && governed.listed.len() == 1 {
            return (governed.listed.clone(), LensAnswers::Each);
        }
        let read = match governed.pillar() {
            // One pillar holds every governed question: ask for it alone; if
            // one moved out of it (a lens update), read the lens whole again.
            Some(pillar) => match scope
                .wa
                .list_answers(&workload.id, &governed.lens, Some(&pillar))
                .await
            {
                Ok(questions) if governed.all_in(&questions) => Ok(questions),
                _ => {
                    scope
                        .wa
                        .list_answers(&workload.id, &governed.lens, None)
                        .await
                }
            },
            None => {
                scope
                    .wa
                    .list_answers(&workload.id, &governed.lens, None)
                    .await
            }
        };
        match read {
            Ok(questions) => {
                if !governed.every {
                    governed.learn_pillar(&questions);
                }
                let ids = questions.iter().map(|q| q.question_id.clone()).collect();
                let answers = questions
                    .into_iter()
                    .map(|q| (q.question_id, q.answer))
                    .collect();
                (governed.expanded(ids), LensAnswers::Listed(answers))
            }
            // Each control records the error; a workload or lens that is gone
            // shows in its next description (the lens check above).
            Err(error) => (
                governed.listed.clone(),
                LensAnswers::Failed(WaError {
                    kind: match error.kind {
                        ErrorKind::NotFound => ErrorKind::Other,
                        kind => kind,
                    },
                    ..error
                }),
            ),
        }
    }

    /// The questions of `governed`'s lens the workload has (or may have) a
    /// control of: those configured by id and, for `*`, those its controls name.
    async fn questions_held(
        &self,
        workload: &Workload,
        stored: &Stored,
        governed: &LensControls,
    ) -> anyhow::Result<Vec<String>> {
        let mut questions: Vec<String> = governed
            .listed
            .iter()
            .map(|d| d.question_id.clone())
            .collect();
        if governed.every {
            let held = match stored.of_lens(&governed.lens) {
                Some(controls) => controls
                    .into_iter()
                    .map(|c| c.question_id.clone())
                    .collect(),
                None => self
                    .store()
                    .controls_of_workload(&workload.arn)
                    .await?
                    .into_iter()
                    .filter(|c| c.lens == governed.lens)
                    .map(|c| c.question_id)
                    .collect::<Vec<_>>(),
            };
            for question in held {
                if !questions.contains(&question) {
                    questions.push(question);
                }
            }
        }
        Ok(questions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::controls::ControlEntry;

    fn controls(questions: &[&str]) -> LensControls {
        let entries = [ControlEntry {
            lens: "wellarchitected".to_owned(),
            questions: questions.iter().map(|q| q.to_string()).collect(),
            names: Default::default(),
        }];
        let controls = Controls::check(&entries).unwrap();
        LensControls::of(&Arc::new(controls)).remove(0)
    }

    fn read(questions: &[(&str, &str)]) -> Vec<QuestionAnswer> {
        questions
            .iter()
            .map(|(id, pillar)| QuestionAnswer {
                question_id: id.to_string(),
                pillar_id: Some(pillar.to_string()),
                title: None,
                answer: ObservedAnswer::default(),
            })
            .collect()
    }

    #[test]
    fn one_pillar_is_asked_for_once_every_governed_question_was_seen_in_it() {
        let governed = controls(&[
            "prevent-interaction-failure",
            "mitigate-interaction-failure",
        ]);
        assert_eq!(governed.pillar(), None, "nothing learnt before a read");
        let whole = read(&[
            ("priorities", "operationalExcellence"),
            ("prevent-interaction-failure", "reliability"),
            ("mitigate-interaction-failure", "reliability"),
        ]);
        governed.learn_pillar(&whole);
        assert_eq!(governed.pillar().as_deref(), Some("reliability"));
        assert!(governed.all_in(&whole));

        // A question found in another pillar (or not at all): the lens is read whole.
        governed.learn_pillar(&read(&[
            ("prevent-interaction-failure", "reliability"),
            ("mitigate-interaction-failure", "operationalExcellence"),
        ]));
        assert_eq!(governed.pillar(), None);
        let missing = read(&[("prevent-interaction-failure", "reliability")]);
        assert!(!governed.all_in(&missing));
        governed.learn_pillar(&missing);
        assert_eq!(governed.pillar(), None);
    }

    #[test]
    fn every_questions_definitions_are_built_once_for_the_same_listing() {
        let governed = controls(&["*"]);
        let ids = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let both = [
            "prevent-interaction-failure",
            "mitigate-interaction-failure",
        ];
        let first = governed.expanded(ids(&both));
        let again = governed.expanded(ids(&both));
        assert_eq!(first.len(), 2);
        assert!(
            Arc::ptr_eq(&first[1], &again[1]),
            "the second workload's read reuses the first's definitions"
        );
        // A lens update lists other questions: built anew.
        let moved = governed.expanded(ids(&["mitigate-interaction-failure"]));
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].question_id, "mitigate-interaction-failure");
        assert!(!Arc::ptr_eq(&moved[0], &first[1]));
    }

    #[test]
    fn every_question_of_a_lens_is_never_read_by_pillar() {
        let governed = controls(&["*"]);
        governed.learn_pillar(&read(&[("prevent-interaction-failure", "reliability")]));
        assert_eq!(governed.pillar(), None);
    }
}
