//! Answers and lens reviews: GetAnswer, UpdateAnswer, ListAnswers and
//! ListLensReviews, for any question of any lens, converted to core types.
//!
//! `lens` is the string a configuration names a lens by: an AWS lens's alias
//! (`wellarchitected`) or a custom lens's ARN. The SDK percent-encodes it as a path
//! label (`arn%3Aaws%3A…%3Alens%2F…`), so an ARN is passed as it is, never encoded here.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_wellarchitected::types::{self as wa, ChoiceUpdate};

use super::{ErrorKind, Operation, WaError, WellArchitected};
use crate::control::{AnswerUpdate, ChoiceStatus, ObservedAnswer};

/// The most questions a lens can have: the custom lens format allows 10 pillars of
/// 20 questions each (the Framework has 57). With the page size, this bounds the
/// ListAnswers calls one lens review may cost.
pub const MAX_QUESTIONS_PER_LENS: usize = 200;
/// The most lenses one workload reviews (AssociateLenses' reference: "a maximum of
/// 20 lenses can be associated with a workload").
pub const MAX_LENSES_PER_WORKLOAD: usize = 20;
/// The page size of ListAnswers and ListLensReviews (the model's maximum).
const PAGE_SIZE: usize = 50;
/// Pages beyond what the limits above need before a listing counts as endless:
/// room for a service that pages short, never for one that pages forever.
const SLACK_PAGES: usize = 2;

/// One question of a lens review, as ListAnswers gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionAnswer {
    /// The Tool's QuestionId (`prevent-interaction-failure`).
    pub question_id: String,
    /// The Tool's PillarId (`reliability`), when given.
    pub pillar_id: Option<String>,
    /// The question's title as the Tool words it, when given.
    pub title: Option<String>,
    pub answer: ObservedAnswer,
}

/// One lens a workload is reviewed against, as ListLensReviews gives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LensReview {
    /// The lens's alias (`wellarchitected`); for a custom lens the Tool gives its ARN.
    pub lens_alias: Option<String>,
    pub lens_arn: Option<String>,
    /// The Tool's LensStatus as it spells it (`CURRENT`, `NOT_CURRENT`,
    /// `DEPRECATED`, `DELETED`, `UNSHARED`; a newer value passes through as is).
    pub lens_status: Option<String>,
}

impl LensReview {
    /// Whether this review is of `lens`, named by alias or by ARN.
    pub fn is_of(&self, lens: &str) -> bool {
        self.lens_alias.as_deref() == Some(lens) || self.lens_arn.as_deref() == Some(lens)
    }
}

/// Pages allowed to list `items`: the pages a full listing needs, plus slack.
const fn max_pages(items: usize) -> usize {
    items.div_ceil(PAGE_SIZE) + SLACK_PAGES
}

impl WellArchitected {
    /// The workload's answer to `question_id` of `lens` (GetAnswer).
    pub async fn get_answer(
        &self,
        workload_id: &str,
        lens: &str,
        question_id: &str,
    ) -> Result<ObservedAnswer, WaError> {
        let output = self
            .call(Operation::GetAnswer, || {
                self.client
                    .get_answer()
                    .workload_id(workload_id)
                    .lens_alias(lens)
                    .question_id(question_id)
                    .send()
            })
            .await?;
        let answer = output.answer().ok_or_else(|| WaError {
            operation: Operation::GetAnswer.as_str(),
            kind: ErrorKind::Other,
            message: "the response has no answer".to_owned(),
            attempts: 1,
        })?;
        Ok(observed(&ToolAnswer::from(answer), output.lens_arn()))
    }

    /// Writes `update` to the workload's answer to `question_id` of `lens`
    /// (UpdateAnswer).
    pub async fn update_answer(
        &self,
        workload_id: &str,
        lens: &str,
        question_id: &str,
        update: &AnswerUpdate,
    ) -> Result<(), WaError> {
        let choice_updates: HashMap<String, ChoiceUpdate> = update
            .choice_updates
            .iter()
            .map(|(id, status)| {
                let update = ChoiceUpdate::builder()
                    .status(wa::ChoiceStatus::from(status.as_str()))
                    .build();
                (id.clone(), update)
            })
            .collect();
        self.call(Operation::UpdateAnswer, || {
            self.client
                .update_answer()
                .workload_id(workload_id)
                .lens_alias(lens)
                .question_id(question_id)
                .set_selected_choices(Some(update.selected_choices.clone()))
                .set_choice_updates(Some(choice_updates.clone()))
                .set_is_applicable(update.is_applicable)
                .send()
        })
        .await?;
        Ok(())
    }

    /// Every question of the workload's review of `lens`, or of its pillar `pillar`
    /// only (ListAnswers, 50 a page, in the Tool's order). At most
    /// [`MAX_QUESTIONS_PER_LENS`]' worth of pages (plus slack): a Tool that pages
    /// on past that is an error naming the workload and the lens.
    pub async fn list_answers(
        &self,
        workload_id: &str,
        lens: &str,
        pillar: Option<&str>,
    ) -> Result<Vec<QuestionAnswer>, WaError> {
        let subject = || format!("workload {workload_id}, lens {lens}");
        paged(
            Operation::ListAnswers,
            max_pages(MAX_QUESTIONS_PER_LENS),
            subject,
            |token| async move {
                let output = self
                    .call(Operation::ListAnswers, || {
                        self.client
                            .list_answers()
                            .workload_id(workload_id)
                            .lens_alias(lens)
                            .set_pillar_id(pillar.map(str::to_owned))
                            .max_results(PAGE_SIZE as i32)
                            .set_next_token(token.clone())
                            .send()
                    })
                    .await?;
                let questions = output
                    .answer_summaries()
                    .iter()
                    .filter_map(|summary| {
                        Some(QuestionAnswer {
                            question_id: summary.question_id()?.to_owned(),
                            pillar_id: summary.pillar_id().map(str::to_owned),
                            title: summary.question_title().map(str::to_owned),
                            answer: observed(&ToolAnswer::from(summary), output.lens_arn()),
                        })
                    })
                    .collect();
                Ok((questions, output.next_token().map(str::to_owned)))
            },
        )
        .await
    }

    /// The workload's lens reviews with their status (ListLensReviews, 50 a page).
    /// At most [`MAX_LENSES_PER_WORKLOAD`]' worth of pages (plus slack).
    pub async fn lens_reviews(&self, workload_id: &str) -> Result<Vec<LensReview>, WaError> {
        let subject = || format!("workload {workload_id}");
        paged(
            Operation::ListLensReviews,
            max_pages(MAX_LENSES_PER_WORKLOAD),
            subject,
            |token| async move {
                let output = self
                    .call(Operation::ListLensReviews, || {
                        self.client
                            .list_lens_reviews()
                            .workload_id(workload_id)
                            .max_results(PAGE_SIZE as i32)
                            .set_next_token(token.clone())
                            .send()
                    })
                    .await?;
                let reviews = output
                    .lens_review_summaries()
                    .iter()
                    .map(|summary| LensReview {
                        lens_alias: summary.lens_alias().map(str::to_owned),
                        lens_arn: summary.lens_arn().map(str::to_owned),
                        lens_status: summary.lens_status().map(|s| s.as_str().to_owned()),
                    })
                    .collect();
                Ok((reviews, output.next_token().map(str::to_owned)))
            },
        )
        .await
    }
}

/// Fetches pages until the Tool gives no NextToken (or an empty one), at most
/// `max_pages` of them: past that the listing is refused, naming `subject`, rather
/// than followed forever.
async fn paged<T, F, Fut>(
    operation: Operation,
    max_pages: usize,
    subject: impl Fn() -> String,
    mut fetch: F,
) -> Result<Vec<T>, WaError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), WaError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    for _ in 0..max_pages {
        let (page, next) = fetch(token).await?;
        items.extend(page);
        token = next.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(items);
        }
    }
    Err(WaError {
        operation: operation.as_str(),
        kind: ErrorKind::Other,
        message: format!(
            "{}: the Tool still had a next page after {max_pages} pages; stopped there",
            subject()
        ),
        attempts: 1,
    })
}

/// What GetAnswer's Answer and ListAnswers' AnswerSummary both say about a
/// question's answer, so one conversion serves both.
struct ToolAnswer<'a> {
    choices: &'a [wa::Choice],
    selected: &'a [String],
    /// Explicit statuses: Answer's ChoiceAnswers or AnswerSummary's
    /// ChoiceAnswerSummaries.
    statuses: Vec<(&'a str, Option<&'a wa::ChoiceStatus>)>,
    is_applicable: Option<bool>,
    risk: Option<&'a wa::Risk>,
}

impl<'a> From<&'a wa::Answer> for ToolAnswer<'a> {
    fn from(answer: &'a wa::Answer) -> Self {
        ToolAnswer {
            choices: answer.choices(),
            selected: answer.selected_choices(),
            statuses: answer
                .choice_answers()
                .iter()
                .filter_map(|a| Some((a.choice_id()?, a.status())))
                .collect(),
            is_applicable: answer.is_applicable(),
            risk: answer.risk(),
        }
    }
}

impl<'a> From<&'a wa::AnswerSummary> for ToolAnswer<'a> {
    fn from(summary: &'a wa::AnswerSummary) -> Self {
        ToolAnswer {
            choices: summary.choices(),
            selected: summary.selected_choices(),
            statuses: summary
                .choice_answer_summaries()
                .iter()
                .filter_map(|a| Some((a.choice_id()?, a.status())))
                .collect(),
            is_applicable: summary.is_applicable(),
            risk: summary.risk(),
        }
    }
}

fn observed(answer: &ToolAnswer<'_>, lens_arn: Option<&str>) -> ObservedAnswer {
    let status = |s: Option<&wa::ChoiceStatus>| match s {
        Some(wa::ChoiceStatus::Selected) => ChoiceStatus::Selected,
        Some(wa::ChoiceStatus::NotApplicable) => ChoiceStatus::NotApplicable,
        _ => ChoiceStatus::Unselected,
    };
    let choices = ObservedAnswer::from_parts(
        answer.choices.iter().filter_map(|c| c.choice_id()),
        answer.selected.iter().map(String::as_str),
        answer.statuses.iter().map(|&(id, s)| (id, status(s))),
    );
    ObservedAnswer {
        // The Tool omits IsApplicable only for answers that were never marked N/A.
        is_applicable: answer.is_applicable.unwrap_or(true),
        risk: answer.risk.map(|r| r.as_str().to_owned()),
        lens_arn: lens_arn.map(str::to_owned),
        choices,
        titles: answer
            .choices
            .iter()
            .filter_map(|c| Some((c.choice_id()?.to_owned(), c.title()?.to_owned())))
            .collect(),
        lens_status: None,
    }
}

#[cfg(test)]
mod tests;
