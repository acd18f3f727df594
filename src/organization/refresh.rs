//! The schedule of `[aws.organization]`: re-lists the organisation every
//! `refresh_interval` and, when the scopes it implies differ from the running
//! ones, asks the daemon to re-plan (see [`crate::startup::Daemon::fleet_changed`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Change;
use crate::aws::{self, AwsSetup};
use crate::config::AwsSettings;
use crate::shutdown::CancellationToken;

/// Refreshes until the scopes change (then sets `changed` and cancels
/// `shutdown`, so the daemon drains and builds its scopes again) or the daemon
/// stops. A refresh that fails changes nothing: the running scopes are kept,
/// and the next refresh tries again.
pub async fn watch(
    aws: AwsSettings,
    setup: AwsSetup,
    running: BTreeSet<String>,
    changed: Arc<AtomicBool>,
    shutdown: CancellationToken,
) {
    let Some(interval) = aws.organization.as_ref().map(|o| o.refresh_interval) else {
        return shutdown.cancelled().await;
    };
    let region = setup.sdk.region().map(|r| r.as_ref().to_owned());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => return,
        }
        let planned = tokio::select! {
            planned = planned_scopes(&aws, &setup, region.as_deref()) => planned,
            _ = shutdown.cancelled() => return,
        };
        match planned {
            Ok(planned) => {
                let change = Change::between(&running, &planned);
                if change.is_empty() {
                    continue;
                }
                tracing::info!(
                    joined = ?change.joined,
                    left = ?change.left,
                    "the organization's accounts changed; re-planning the scopes"
                );
                changed.store(true, Ordering::SeqCst);
                shutdown.cancel();
                return;
            }
            Err(error) => tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "organization refresh failed; keeping the current scopes"
            ),
        }
    }
}

async fn planned_scopes(
    settings: &AwsSettings,
    setup: &AwsSetup,
    region: Option<&str>,
) -> anyhow::Result<BTreeSet<String>> {
    let accounts = super::discover::accounts(settings, setup).await?;
    Ok(aws::scope_specs(settings, region, &accounts)?
        .into_iter()
        .map(|spec| spec.key)
        .collect())
}
