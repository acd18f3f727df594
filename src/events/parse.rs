//! Parsing EventBridge envelopes of Well-Architected CloudTrail events, pure.
//!
//! The Tool reaches EventBridge only as `AWS API Call via CloudTrail` events. We
//! keep the ones that can change the REL 04 control and name the workload; every
//! other well-formed event is irrelevant (acknowledged and counted); anything we
//! cannot read is malformed (logged and dead-lettered, never guessed at).

use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::control::policy::{LENS_ALIAS, QUESTION_ID};

pub const SOURCE: &str = "aws.wellarchitected";
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";
const EVENT_SOURCE: &str = "wellarchitected.amazonaws.com";

/// A change to one workload that may change its control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadEvent {
    /// The EventBridge event id, the dedupe key.
    pub event_id: String,
    /// EventBridge always sets it; some emulators do not, so routing falls back
    /// to the region alone.
    pub account: Option<String>,
    pub region: String,
    pub event_name: String,
    pub workload_id: String,
    /// The envelope's `time` (when the change happened), for the event lag
    /// metric; `None` when absent or unreadable, which is no reason to drop it.
    pub time: Option<DateTime<Utc>>,
    /// The governed (lens, question) an `UpdateAnswer` names: only that control
    /// can have changed. The lens as configured, not as the event spelt it.
    pub question: Option<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Relevant(WorkloadEvent),
    /// Well-formed, but nothing REL 04 cares about.
    Irrelevant {
        event_id: String,
        /// The API call's name, when the event is one.
        event_name: Option<String>,
        why: String,
    },
    /// A call that failed (the record carries an `errorCode`): nothing changed.
    FailedCall {
        event_id: String,
        event_name: String,
        code: String,
    },
}

impl Parsed {
    pub fn event_id(&self) -> &str {
        match self {
            Parsed::Relevant(event) => &event.event_id,
            Parsed::Irrelevant { event_id, .. } | Parsed::FailedCall { event_id, .. } => event_id,
        }
    }
}

/// The id and event name of a body that may not parse, for log lines about it:
/// short strings only, never anything unbounded.
pub fn peek(body: &str) -> (Option<String>, Option<String>) {
    let Ok(event) = serde_json::from_str::<Value>(body) else {
        return (None, None);
    };
    let short = |path: &str| optional(&event, path).ok().flatten().map(str::to_owned);
    (short("id"), short("detail.eventName"))
}

/// An event that cannot be read; the message says what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed event: {0}")]
pub struct Malformed(pub String);

/// Longest envelope field (`id`, `source`, `region`, …) accepted; real ones are
/// far shorter, and nothing unbounded is stored or echoed.
const MAX_FIELD: usize = 256;

/// `text` for messages: quoted, and cut short if long.
fn shown(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// The string at a dotted `path`: `Ok(None)` when absent or null, an error when
/// it is there but not a non-empty string of bounded length.
fn optional<'a>(value: &'a Value, path: &str) -> Result<Option<&'a str>, Malformed> {
    let mut current = value;
    for key in path.split('.') {
        match current.get(key) {
            Some(next) => current = next,
            None => return Ok(None),
        }
    }
    match current {
        Value::Null => Ok(None),
        Value::String(s) if !s.is_empty() && s.len() <= MAX_FIELD => Ok(Some(s)),
        Value::String(s) if s.is_empty() => Err(Malformed(format!("{path} is empty"))),
        Value::String(s) => Err(Malformed(format!(
            "{path} is too long ({} bytes, at most {MAX_FIELD})",
            s.len()
        ))),
        _ => Err(Malformed(format!("{path} is not a string"))),
    }
}

fn text<'a>(value: &'a Value, path: &str) -> Result<&'a str, Malformed> {
    optional(value, path)?.ok_or_else(|| Malformed(format!("missing {path}")))
}

/// The lenses and questions whose controls events can change (`[[controls]]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Governed {
    /// Each lens (an alias or a lens ARN) and its questions; `None`: all (`*`).
    lenses: Vec<(String, Option<Vec<String>>)>,
}

impl Governed {
    /// REL 04 of the `wellarchitected` lens alone (the default).
    pub fn rel04() -> Governed {
        Governed {
            lenses: vec![(LENS_ALIAS.to_owned(), Some(vec![QUESTION_ID.to_owned()]))],
        }
    }

    pub fn of(controls: &crate::config::controls::Controls) -> Governed {
        let mut lenses: Vec<(String, Option<Vec<String>>)> = Vec::new();
        for entry in controls.entries() {
            let every = controls.expands(&entry.lens);
            match lenses.iter_mut().find(|(lens, _)| *lens == entry.lens) {
                Some((_, Some(questions))) if !every => {
                    questions.extend(entry.questions.iter().cloned())
                }
                Some(_) => {}
                None => lenses.push((
                    entry.lens.clone(),
                    (!every).then(|| entry.questions.clone()),
                )),
            }
        }
        Governed { lenses }
    }

    /// The governed lens a lens parameter names (an alias, or an ARN, possibly
    /// URL-encoded as CloudTrail logs path parameters), and its questions.
    fn lens(&self, named: &str) -> Option<&(String, Option<Vec<String>>)> {
        let decoded = percent_decode_str(named).decode_utf8_lossy();
        self.lenses
            .iter()
            .find(|(lens, _)| crate::workload::names_lens(&decoded, lens))
    }

    fn has_lens(&self, named: &str) -> bool {
        self.lens(named).is_some()
    }

    fn has_question(&self, named_lens: &str, question_id: &str) -> bool {
        self.lens(named_lens)
            .is_some_and(|(_, questions)| governs(questions, question_id))
    }

    /// The governed lens and question an UpdateAnswer names, when it names both.
    fn question_of(&self, detail: &Value) -> Option<(String, String)> {
        let params = detail.get("requestParameters")?;
        let named = params.get("LensAlias")?.as_str()?;
        let question = params.get("QuestionId")?.as_str()?;
        let (lens, questions) = self.lens(named)?;
        governs(questions, question).then(|| (lens.clone(), question.to_owned()))
    }

    /// With no lens named: whether `question_id` is governed in any lens.
    fn any_question(&self, question_id: &str) -> bool {
        self.lenses
            .iter()
            .any(|(_, questions)| governs(questions, question_id))
    }
}

/// Whether a lens's governed `questions` (`None`: all, `*`) include `question_id`.
fn governs(questions: &Option<Vec<String>>, question_id: &str) -> bool {
    questions
        .as_ref()
        .is_none_or(|questions| questions.iter().any(|q| q == question_id))
}

/// The workload id at the end of a workload ARN (possibly URL-encoded, as
/// CloudTrail logs path parameters): `arn:aws:wellarchitected:<region>:<account>:workload/<id>`.
fn id_of_arn(arn: &str) -> Option<String> {
    let arn = percent_decode_str(arn).decode_utf8_lossy();
    arn.rsplit_once(":workload/").map(|(_, id)| id.to_owned())
}

/// The first of `paths` that holds a string.
fn first_of<'a>(value: &'a Value, paths: &[&str]) -> Result<Option<&'a str>, Malformed> {
    for path in paths {
        if let Some(found) = optional(value, path)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// A workload named by the resources the event lists: EventBridge's envelope
/// `resources` (ARN strings) or CloudTrail's `detail.resources` (`{"ARN": …}`).
fn id_in_resources(event: &Value, detail: &Value) -> Option<String> {
    let envelope = event.get("resources").and_then(Value::as_array);
    let trail = detail.get("resources").and_then(Value::as_array);
    let arns = envelope
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .chain(
            trail
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("ARN").and_then(Value::as_str)),
        );
    arns.filter(|arn| arn.len() <= MAX_FIELD)
        .find_map(id_of_arn)
}

/// The workload an event is about. CloudTrail logs the API's own members
/// (`requestParameters.WorkloadId`, `responseElements.WorkloadId`), except that
/// the Tool's user guide shows CreateWorkload's response as `Id` and `Arn`; both
/// are read, and any event may instead name the workload in its resources.
fn workload_id_from(event: &Value, detail: &Value, event_name: &str) -> Result<String, Malformed> {
    let named = match event_name {
        "CreateWorkload" => match first_of(
            detail,
            &["responseElements.WorkloadId", "responseElements.Id"],
        )? {
            Some(id) => Some(id.to_owned()),
            None => first_of(
                detail,
                &["responseElements.WorkloadArn", "responseElements.Arn"],
            )?
            .and_then(id_of_arn),
        },
        "TagResource" | "UntagResource" => first_of(
            detail,
            &[
                "requestParameters.WorkloadArn",
                "requestParameters.ResourceArn",
            ],
        )?
        .and_then(id_of_arn),
        _ => optional(detail, "requestParameters.WorkloadId")?.map(str::to_owned),
    };
    let id = named
        .or_else(|| id_in_resources(event, detail))
        .ok_or_else(|| Malformed(format!("{event_name} event names no workload")))?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Malformed(format!(
            "{event_name} event has an invalid workload id {}",
            shown(&id)
        )));
    }
    Ok(id)
}

/// Why an event name is irrelevant, or `None` when it may change the control.
fn irrelevance(
    detail: &Value,
    event_name: &str,
    tags_enabled: bool,
    governed: &Governed,
) -> Option<String> {
    let params = detail.get("requestParameters");
    let param = |key: &str| params.and_then(|p| p.get(key)).and_then(Value::as_str);
    let is_our_lens = |lens: &str| governed.has_lens(lens);
    match event_name {
        "UpdateWorkload" | "CreateWorkload" | "DeleteWorkload" => None,
        "UpdateAnswer" => {
            let ours = match (param("LensAlias"), param("QuestionId")) {
                (Some(lens), Some(question)) => governed.has_question(lens, question),
                (Some(lens), None) => governed.has_lens(lens),
                (None, Some(question)) => governed.any_question(question),
                (None, None) => true,
            };
            (!ours).then(|| "UpdateAnswer of another lens or question".to_owned())
        }
        "UpgradeLensReview" => {
            let lens_ok = param("LensAlias").is_none_or(is_our_lens);
            (!lens_ok).then(|| "UpgradeLensReview of another lens".to_owned())
        }
        "AssociateLenses" | "DisassociateLenses" => {
            let aliases = params
                .and_then(|p| p.get("LensAliases"))
                .and_then(Value::as_array);
            let ours =
                aliases.is_none_or(|list| list.iter().filter_map(Value::as_str).any(is_our_lens));
            (!ours).then(|| format!("{event_name} of other lenses"))
        }
        "TagResource" | "UntagResource" if tags_enabled => None,
        "TagResource" | "UntagResource" => Some(format!("{event_name} while tag policies are off")),
        other => Some(format!("{other} cannot change the control")),
    }
}

/// Parses one EventBridge event (the body of an SQS message or of `POST /events`)
/// as relevant to REL 04 alone (see [`parse_for`]).
pub fn parse(body: &str, tags_enabled: bool) -> Result<Parsed, Malformed> {
    parse_for(body, tags_enabled, &Governed::rel04())
}

/// Parses one EventBridge event, relevant when it may change a control of
/// `governed`'s lenses and questions.
pub fn parse_for(body: &str, tags_enabled: bool, governed: &Governed) -> Result<Parsed, Malformed> {
    let event: Value =
        serde_json::from_str(body).map_err(|e| Malformed(format!("not JSON: {e}")))?;
    if !event.is_object() {
        return Err(Malformed("not a JSON object".to_owned()));
    }
    let event_id = text(&event, "id")?.to_owned();
    let source = text(&event, "source")?;
    let detail_type = text(&event, "detail-type")?;
    let account = optional(&event, "account")?.map(str::to_owned);
    let region = text(&event, "region")?.to_owned();
    let event_name = optional(&event, "detail.eventName")
        .ok()
        .flatten()
        .map(str::to_owned);
    let irrelevant = |why: String| {
        Ok(Parsed::Irrelevant {
            event_id: event_id.clone(),
            event_name: event_name.clone(),
            why,
        })
    };
    if source != SOURCE || detail_type != DETAIL_TYPE {
        return irrelevant(format!(
            "{source} / {detail_type} is not a Well-Architected API call"
        ));
    }
    let detail = event
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| Malformed("detail is not an object".to_owned()))?;
    if text(&event, "detail.eventSource")? != EVENT_SOURCE {
        return irrelevant("the API call is not to the Well-Architected Tool".to_owned());
    }
    let event_name = text(&event, "detail.eventName")?.to_owned();
    if let Some(code) = optional(detail, "errorCode")? {
        return Ok(Parsed::FailedCall {
            event_id,
            event_name,
            code: code.to_owned(),
        });
    }
    if let Some(why) = irrelevance(detail, &event_name, tags_enabled, governed) {
        return irrelevant(why);
    }
    let workload_id = workload_id_from(&event, detail, &event_name)?;
    let time = optional(&event, "time")
        .ok()
        .flatten()
        .and_then(|time| DateTime::parse_from_rfc3339(time).ok())
        .map(|time| time.with_timezone(&Utc));
    let question = (event_name == "UpdateAnswer")
        .then(|| governed.question_of(detail))
        .flatten();
    Ok(Parsed::Relevant(WorkloadEvent {
        event_id,
        account,
        region,
        event_name,
        workload_id,
        time,
        question,
    }))
}

#[cfg(test)]
mod tests;
