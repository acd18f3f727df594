//! The JSON bodies of GetAnswer, UpdateAnswer and ListAnswers, member names exactly
//! as in the botocore model; they borrow from the store and the lens catalog.

use serde::Serialize;

use super::catalog::{ChoiceDef, LensDef, PillarDef, QuestionDef};
use super::lens::{AnswerState, ChoiceStatus};
use super::store::Workload;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChoiceOut<'a> {
    choice_id: &'a str,
    title: &'a str,
    /// ChoiceDescription has min 1: a choice without one omits it.
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
}

impl<'a> From<&'a ChoiceDef> for ChoiceOut<'a> {
    fn from(c: &'a ChoiceDef) -> Self {
        Self {
            choice_id: &c.id,
            title: &c.title,
            description: &c.description,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChoiceAnswerOut<'a> {
    choice_id: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
}

/// ChoiceAnswers lists the choices that carry a status other than the default
/// UNSELECTED (or notes/reason); clients must treat a missing choice as UNSELECTED,
/// which is also safe against the real Tool.
fn choice_answers<'a>(q: &'a QuestionDef, a: &'a AnswerState) -> Vec<ChoiceAnswerOut<'a>> {
    q.choices
        .iter()
        .zip(&a.choices)
        .filter(|(_, c)| {
            c.status != ChoiceStatus::Unselected || c.reason.is_some() || c.notes.is_some()
        })
        .map(|(def, c)| ChoiceAnswerOut {
            choice_id: &def.id,
            status: c.status.as_str(),
            reason: c.reason,
            notes: c.notes.as_deref(),
        })
        .collect()
}

/// The members Answer and AnswerSummary share.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AnswerCommon<'a> {
    question_id: &'a str,
    pillar_id: &'a str,
    question_title: &'a str,
    choices: Vec<ChoiceOut<'a>>,
    selected_choices: Vec<&'a str>,
    is_applicable: bool,
    risk: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

impl<'a> AnswerCommon<'a> {
    fn new(pillar: &'a PillarDef, q: &'a QuestionDef, a: &'a AnswerState) -> Self {
        Self {
            question_id: &q.id,
            pillar_id: &pillar.id,
            question_title: &q.title,
            choices: q.choices.iter().map(ChoiceOut::from).collect(),
            selected_choices: a.ids_with(q, ChoiceStatus::Selected).collect(),
            is_applicable: a.is_applicable,
            risk: a.risk(q),
            reason: a.reason,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AnswerOut<'a> {
    #[serde(flatten)]
    common: AnswerCommon<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    question_description: &'a str,
    choice_answers: Vec<ChoiceAnswerOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
}

/// One question of one lens in one workload (or milestone): what GetAnswer,
/// UpdateAnswer and ListAnswers show.
pub struct AnswerView<'a> {
    pub workload: &'a Workload,
    pub lens: &'a LensDef,
    pub pillar: &'a PillarDef,
    pub question: &'a QuestionDef,
    pub answer: &'a AnswerState,
}

/// GetAnswerOutput and UpdateAnswerOutput (the same members; GetAnswer adds
/// MilestoneNumber when it reads a milestone).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AnswerEnvelope<'a> {
    workload_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    milestone_number: Option<u32>,
    lens_alias: &'a str,
    lens_arn: String,
    answer: AnswerOut<'a>,
}

impl<'a> AnswerEnvelope<'a> {
    pub fn new(v: &AnswerView<'a>, milestone_number: Option<u32>) -> Self {
        let (q, a) = (v.question, v.answer);
        Self {
            workload_id: &v.workload.id,
            milestone_number,
            lens_alias: &v.lens.alias,
            lens_arn: v.lens.arn(&v.workload.region),
            answer: AnswerOut {
                common: AnswerCommon::new(v.pillar, q, a),
                question_description: &q.description,
                choice_answers: choice_answers(q, a),
                notes: a.notes.as_deref(),
            },
        }
    }
}

/// AnswerSummary, one entry of ListAnswers.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AnswerSummaryOut<'a> {
    #[serde(flatten)]
    common: AnswerCommon<'a>,
    choice_answer_summaries: Vec<ChoiceAnswerOut<'a>>,
    question_type: &'static str,
}

impl<'a> AnswerSummaryOut<'a> {
    pub fn new(pillar: &'a PillarDef, q: &'a QuestionDef, a: &'a AnswerState) -> Self {
        let mut summaries = choice_answers(q, a);
        // ChoiceAnswerSummary has no Notes member.
        summaries.iter_mut().for_each(|c| c.notes = None);
        Self {
            common: AnswerCommon::new(pillar, q, a),
            choice_answer_summaries: summaries,
            question_type: "PRIORITIZED",
        }
    }
}

/// ListAnswersOutput.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAnswersOut<'a> {
    pub workload_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestone_number: Option<u32>,
    pub lens_alias: &'a str,
    pub lens_arn: String,
    pub answer_summaries: Vec<AnswerSummaryOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
