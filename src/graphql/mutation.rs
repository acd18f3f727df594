//! Guardrails' control mutations with Guardrails' input names:
//! `runControl(input: { id })`, `muteControl(input: { id, note, toTimestamp,
//! untilStates })` and `unmuteControl(input: { id })`. `id` is a control's
//! `turbot.id` (see [`super::control_id`]: REL 04's is its workload id, or the
//! workload ARN; any other question's `<workload id>/<lens>/<question id>`).
//! Each acts on the control its id names, and on no other control of the workload.
//!
//! Mutes go straight to the state database, so `rel04d graphql` can mute
//! without a daemon. Running a control needs the daemon's account-regions: the
//! daemon hands the schema a [`RunControl`]; without one `runControl` says so.

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions, InputObject, Object};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::control_id::ControlId;
use super::internal;
use super::objects::Control;
use super::runs::{Caller, RunSlots};
use crate::control::ControlState;
use crate::store::{ControlRow, MuteError, MuteWords, Store};

/// Evaluates a control now, as `rel04d evaluate` does, and returns when the
/// evaluation is recorded.
pub trait RunControl: Send + Sync {
    fn run<'a>(&'a self, control: &'a ControlRow) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Who a mutation is recorded as (mute history); `graphql` unless the caller
/// puts one into the request's data.
#[derive(Clone, Debug)]
pub struct Actor(pub String);

#[derive(InputObject)]
pub struct RunControlInput {
    pub id: String,
}

#[derive(InputObject)]
pub struct MuteControlInput {
    pub id: String,
    /// Why (kept in the mute history); required.
    pub note: Option<String>,
    /// Muted until this RFC 3339 time.
    pub to_timestamp: Option<String>,
    /// Muted until the control reaches this state (rel04d takes one).
    pub until_states: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct UnmuteControlInput {
    pub id: String,
    pub note: Option<String>,
}

fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("code", "BAD_INPUT"))
}

fn store_error(error: anyhow::Error) -> async_graphql::Error {
    match error.downcast_ref::<MuteError>() {
        Some(mute) => bad_input(mute.in_words(MuteWords::GRAPHQL)),
        None => internal(error),
    }
}

/// The control `id` names (see [`ControlId`]).
async fn find(ctx: &Context<'_>, id: &str) -> async_graphql::Result<ControlRow> {
    let store = ctx.data::<Store>()?;
    let control = ControlId::parse(id)
        .map_err(bad_input)?
        .find(store)
        .await
        .map_err(internal)?;
    control.ok_or_else(|| {
        bad_input(format!(
            "no control with id {id:?} (a workload id or ARN for REL 04, \
             <workload id>/<lens>/<question id> for any other question)"
        ))
    })
}

/// Re-reads a control after a change.
async fn reread(ctx: &Context<'_>, control: &ControlRow) -> async_graphql::Result<Control> {
    let store = ctx.data::<Store>()?;
    let row = store
        .control_of(&control.key())
        .await
        .map_err(internal)?
        .ok_or_else(|| internal(anyhow::anyhow!("the control vanished")))?;
    Ok(Control(row))
}

fn actor(ctx: &Context<'_>) -> String {
    ctx.data_opt::<Actor>()
        .map_or_else(|| "graphql".to_owned(), |a| a.0.clone())
}

fn until_state(states: Option<Vec<String>>) -> async_graphql::Result<Option<ControlState>> {
    match states.unwrap_or_default().as_slice() {
        [] => Ok(None),
        [state] => state
            .parse::<ControlState>()
            .map(Some)
            .map_err(|e| bad_input(format!("untilStates: {e}"))),
        _ => Err(bad_input(
            "untilStates: rel04d mutes until one state; give at most one",
        )),
    }
}

fn to_timestamp(text: Option<String>) -> async_graphql::Result<Option<DateTime<Utc>>> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|e| bad_input(format!("toTimestamp {t:?} is not an RFC 3339 time: {e}")))
    })
    .transpose()
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Evaluates the control now and returns it as recorded.
    async fn run_control(
        &self,
        ctx: &Context<'_>,
        input: RunControlInput,
    ) -> async_graphql::Result<Control> {
        let Some(runner) = ctx.data::<Option<Arc<dyn RunControl>>>()?.clone() else {
            return Err(bad_input(
                "runControl needs the daemon: send it to the daemon's /graphql, \
                 or use `rel04d evaluate <workload id>`",
            ));
        };
        let control = find(ctx, &input.id).await?;
        let local = Caller("local".to_owned());
        let caller = ctx.data_opt::<Caller>().unwrap_or(&local);
        let _slot = ctx.data::<Arc<RunSlots>>()?.take(caller).map_err(|limit| {
            async_graphql::Error::new(limit).extend_with(|_, e| e.set("code", "LIMITED"))
        })?;
        runner.run(&control).await.map_err(internal)?;
        reread(ctx, &control).await
    }

    /// Mutes the control: its transitions are recorded but not announced.
    async fn mute_control(
        &self,
        ctx: &Context<'_>,
        input: MuteControlInput,
    ) -> async_graphql::Result<Control> {
        let control = find(ctx, &input.id).await?;
        let until = to_timestamp(input.to_timestamp)?;
        let state = until_state(input.until_states)?;
        let note = input.note.unwrap_or_default();
        ctx.data::<Store>()?
            .mute(&control, until, state, &actor(ctx), &note, Utc::now())
            .await
            .map_err(store_error)?;
        reread(ctx, &control).await
    }

    /// Ends the control's mute.
    async fn unmute_control(
        &self,
        ctx: &Context<'_>,
        input: UnmuteControlInput,
    ) -> async_graphql::Result<Control> {
        let control = find(ctx, &input.id).await?;
        let note = input
            .note
            .unwrap_or_else(|| "unmuted through GraphQL".to_owned());
        ctx.data::<Store>()?
            .unmute(&control, &actor(ctx), &note, Utc::now())
            .await
            .map_err(store_error)?;
        reread(ctx, &control).await
    }
}
