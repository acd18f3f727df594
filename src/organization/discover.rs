//! The Organizations adapter: lists the organisation's accounts, paced and
//! within a call budget, with the management account's credentials (the default
//! chain). Calls: `DescribeOrganization` once, then `ListAccounts` (no
//! `include`), or a walk of each included or excluded root/OU with
//! `ListAccountsForParent` and `ListOrganizationalUnitsForParent`, and
//! `DescribeAccount` for each account id named in `include`. Every list is paged.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::DisplayErrorContext;
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};
use tokio::time::{Interval, MissedTickBehavior};

use super::{Membership, select};
use crate::config::{OrgTarget, OrganizationSettings};

/// The calls one refresh may make: every page holds at least one account or
/// OU, and each OU is two lists, so an organisation within `max_accounts`
/// fits (beyond it, the refresh fails and says so rather than listing on).
pub fn call_budget(settings: &OrganizationSettings) -> usize {
    2 * settings.max_accounts + 100 + settings.include.len() + settings.exclude.len()
}

/// The organisation as one refresh saw it.
#[derive(Debug)]
pub struct Discovered {
    /// The active accounts `include`/`exclude` select.
    pub accounts: BTreeSet<String>,
    /// The management account (its credentials list the organisation).
    pub management_account: Option<String>,
    pub calls: usize,
}

pub struct Discovery {
    client: Client,
    settings: OrganizationSettings,
}

impl Discovery {
    pub fn new(client: Client, settings: OrganizationSettings) -> Self {
        Discovery { client, settings }
    }

    /// Lists the organisation and selects its accounts. Any failed call (after
    /// the SDK's retries) fails the whole refresh: a partial listing would
    /// retire the scopes of accounts it missed.
    pub async fn discover(&self) -> anyhow::Result<Discovered> {
        let mut lister = Lister {
            client: &self.client,
            pace: pace(self.settings.max_requests_per_second),
            calls: 0,
            budget: call_budget(&self.settings),
            membership: Membership::default(),
        };
        let management_account = lister.management_account().await?;
        let include = OrganizationSettings::targets(&self.settings.include);
        let exclude = OrganizationSettings::targets(&self.settings.exclude);
        if include.is_empty() {
            lister.all_accounts().await?;
        }
        for target in include.iter().chain(&exclude) {
            match target {
                OrgTarget::Parent(parent) => lister.walk(parent).await?,
                OrgTarget::Account(id) if include.contains(target) => {
                    lister.describe_account(id).await?
                }
                OrgTarget::Account(_) => {}
            }
        }
        let accounts = select(
            &lister.membership,
            &include,
            &exclude,
            self.settings.max_accounts,
        )?;
        Ok(Discovered {
            accounts,
            management_account,
            calls: lister.calls,
        })
    }
}

fn pace(per_second: f64) -> Interval {
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
    pace.set_missed_tick_behavior(MissedTickBehavior::Delay);
    pace
}

/// Active: neither suspended nor closing or closed (`State` where AWS gives it,
/// else the older `Status`).
fn is_active(account: &Account) -> bool {
    match account.state() {
        Some(state) => *state == AccountState::Active,
        None => account.status() == Some(&AccountStatus::Active),
    }
}

struct Lister<'a> {
    client: &'a Client,
    pace: Interval,
    calls: usize,
    budget: usize,
    membership: Membership,
}

impl Lister<'_> {
    /// Waits for the next call's turn; refuses a call beyond the budget.
    async fn turn(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.calls < self.budget,
            "listing the organization needs more than {} calls (2 × aws.organization.max_accounts + 100); raise max_accounts or narrow include",
            self.budget
        );
        self.calls += 1;
        self.pace.tick().await;
        Ok(())
    }

    fn note(&mut self, account: &Account) -> Option<String> {
        let id = account.id()?.to_owned();
        self.membership
            .accounts
            .insert(id.clone(), is_active(account));
        Some(id)
    }

    async fn management_account(&mut self) -> anyhow::Result<Option<String>> {
        self.turn().await?;
        let out = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .context("organizations:DescribeOrganization")?;
        Ok(out
            .organization()
            .and_then(|o| o.master_account_id())
            .map(str::to_owned))
    }

    /// Every page of one list call (`page` fetches the page after a token),
    /// each call paced and counted against the budget.
    async fn every_page<T, E, F, Fut>(
        &mut self,
        what: String,
        mut page: F,
    ) -> anyhow::Result<Vec<T>>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, Option<String>), E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut items = Vec::new();
        let mut token = None;
        loop {
            self.turn().await?;
            let (mut found, next) = page(token)
                .await
                .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
                .with_context(|| what.clone())?;
            items.append(&mut found);
            match next {
                Some(next) => token = Some(next),
                None => return Ok(items),
            }
        }
    }

    async fn all_accounts(&mut self) -> anyhow::Result<()> {
        let client = self.client;
        let accounts = self
            .every_page(
                "organizations:ListAccounts".to_owned(),
                |token| async move {
                    let page = client.list_accounts().set_next_token(token).send().await;
                    page.map(|p| (p.accounts().to_vec(), p.next_token().map(str::to_owned)))
                },
            )
            .await?;
        for account in &accounts {
            self.note(account);
        }
        Ok(())
    }

    /// Every account below `root` (a root or OU), at any depth.
    async fn walk(&mut self, root: &str) -> anyhow::Result<()> {
        let client = self.client;
        let mut below = BTreeSet::new();
        let mut parents = VecDeque::from([root.to_owned()]);
        while let Some(parent) = parents.pop_front() {
            let what = format!("organizations:ListAccountsForParent {parent}");
            let accounts = self
                .every_page(what, |token| {
                    let call = client.list_accounts_for_parent().parent_id(&parent);
                    async move {
                        let page = call.set_next_token(token).send().await;
                        page.map(|p| (p.accounts().to_vec(), p.next_token().map(str::to_owned)))
                    }
                })
                .await?;
            for account in &accounts {
                below.extend(self.note(account));
            }
            let what = format!("organizations:ListOrganizationalUnitsForParent {parent}");
            let units = self
                .every_page(what, |token| {
                    let call = client
                        .list_organizational_units_for_parent()
                        .parent_id(&parent);
                    async move {
                        let page = call.set_next_token(token).send().await;
                        page.map(|p| {
                            let units = p.organizational_units().iter();
                            let ids = units.filter_map(|u| u.id().map(str::to_owned)).collect();
                            (ids, p.next_token().map(str::to_owned))
                        })
                    }
                })
                .await?;
            parents.extend(units);
        }
        self.membership.below.insert(root.to_owned(), below);
        Ok(())
    }

    /// An account named in `include`: listed if it is in the organisation.
    async fn describe_account(&mut self, id: &str) -> anyhow::Result<()> {
        self.turn().await?;
        match self.client.describe_account().account_id(id).send().await {
            Ok(out) => {
                if let Some(account) = out.account() {
                    self.note(account);
                }
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_account_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(anyhow::anyhow!("{}", DisplayErrorContext(e)))
                .with_context(|| format!("organizations:DescribeAccount {id}")),
        }
    }
}

/// The accounts `[aws.organization]` selects now (none without it). Fails when
/// the organisation cannot be listed, or selects more than `max_accounts`.
pub async fn accounts(
    settings: &crate::config::AwsSettings,
    setup: &crate::aws::AwsSetup,
) -> anyhow::Result<BTreeSet<String>> {
    let Some(organization) = &settings.organization else {
        return Ok(BTreeSet::new());
    };
    let discovery = Discovery::new(
        setup.organizations(settings.max_attempts),
        organization.clone(),
    );
    let found = discovery
        .discover()
        .await
        .context("aws.organization: cannot list the organization's accounts")?;
    tracing::info!(
        accounts = found.accounts.len(),
        calls = found.calls,
        management_account = found.management_account.as_deref().unwrap_or("unknown"),
        "organization listed"
    );
    Ok(found.accounts)
}
