//! The controls (REL 04, and any question configured), pure: policies, their hierarchy, the expected answer,
//! evaluation to a state, and the enforce plan. Nothing here does I/O, reads the
//! clock or knows why it is called; callers pass everything in.

pub mod answer;
pub mod calculated;
pub mod defer;
pub mod enforce;
pub mod enforce_plan;
pub mod evaluate;
pub mod expiring;
pub mod framework_names;
pub mod glob;
pub mod hierarchy;
pub mod lens_status;
pub mod policy;
pub mod question;
pub mod state;
#[cfg(test)]
pub(crate) mod testing;
pub mod verdict;

pub use answer::{ChoiceStatus, ObservedAnswer};
pub use calculated::{Calculation, CalculationTrace};
pub use enforce::{AnswerUpdate, plan_update};
pub use evaluate::{
    Details, Expected, MAX_DETAILS_BYTES, Outcome, Plan, Practice, judge, plan, unreadable,
};
pub use hierarchy::{
    Calculated, Level, PolicySet, PolicySetting, ResolvedPolicies, Scope, WorkloadFacts,
    calculations, calculations_of, resolve, resolve_calculated, resolve_control,
};
pub use lens_status::LensStatus;
pub use policy::{BestPractice, Expectation, Mode, PolicyKey};
pub use question::ControlDef;
pub use state::ControlState;
pub use verdict::Verdict;

/// The control type recorded on every row, as Guardrails names it in short.
pub const CONTROL_TYPE: &str = "rel04";
