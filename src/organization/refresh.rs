//! The schedule of `[aws.organization]`: re-lists the organisation every
//! `refresh_interval` and, when the scopes it implies differ from the running
//! ones, asks the daemon to re-plan with the accounts it found (`Daemon::replan`
//! in the wiring).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::Change;
use crate::aws::{self, AwsSetup};
use crate::config::AwsSettings;
use crate::shutdown::CancellationToken;

/// The accounts a refresh found, once they changed the scopes: the daemon is
/// built again with them (not listing the organisation a second time).
pub type Replan = Arc<Mutex<Option<BTreeSet<String>>>>;

/// Refreshes until the scopes change (then leaves the accounts in `replan` and
/// cancels `shutdown`, so the daemon drains and builds its scopes again) or the
/// daemon stops. A refresh that fails changes nothing: the running scopes are kept,
/// and the next refresh tries again.
pub async fn watch(
    aws: AwsSettings,
    setup: AwsSetup,
    running: BTreeSet<String>,
    replan: Replan,
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
            Ok((accounts, planned)) => {
                let change = Change::between(&running, &planned);
                if change.is_empty() {
                    continue;
                }
                tracing::info!(
                    joined = ?change.joined,
                    left = ?change.left,
                    "the organization's accounts changed; re-planning the scopes"
                );
                *replan.lock().unwrap() = Some(accounts);
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

/// The selected accounts, and the scope keys they make with `[[aws.accounts]]`.
async fn planned_scopes(
    settings: &AwsSettings,
    setup: &AwsSetup,
    region: Option<&str>,
) -> anyhow::Result<(BTreeSet<String>, BTreeSet<String>)> {
    let accounts = super::discover::accounts(settings, setup).await?;
    let keys = aws::scope_specs(settings, region, &accounts)?
        .into_iter()
        .map(|spec| spec.key)
        .collect();
    Ok((accounts, keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// An organisation that cannot be listed (here: nothing listens) keeps the
    /// running scopes: no re-plan, no stop, and the watcher ends with the daemon.
    #[tokio::test]
    async fn a_failed_refresh_keeps_the_running_scopes() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(
            &mut file,
            b"[aws]\nmax_attempts = 1\n[aws.organization]\nrole_name = \"r\"\nrefresh_interval = \"1s\"\n",
        )
        .unwrap();
        let settings =
            crate::config::Settings::load_with(Some(file.path()), Some(Default::default()))
                .unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoints = crate::aws::Endpoints {
            organizations: Some(format!("http://{}", closed.local_addr().unwrap())),
            ..Default::default()
        };
        drop(closed);
        let setup = AwsSetup::local(&settings.aws, "us-east-1", endpoints).await;
        let replan = Replan::default();
        let shutdown = CancellationToken::new();
        let watcher = tokio::spawn(watch(
            settings.aws.clone(),
            setup,
            ["111122223333/us-east-1".to_owned()].into(),
            replan.clone(),
            shutdown.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(*replan.lock().unwrap(), None);
        assert!(
            !shutdown.is_cancelled(),
            "a failed refresh stopped the daemon"
        );
        assert!(!watcher.is_finished());
        shutdown.cancel();
        watcher.await.unwrap();
    }
}
