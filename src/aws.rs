//! AWS SDK configuration and the account-regions ("scopes") rel04d scans.
//!
//! The standard SDK chain does everything: credentials, region, and endpoint
//! overrides (`AWS_ENDPOINT_URL_WELLARCHITECTED`, …). With no `[[aws.accounts]]`,
//! the ambient credentials are used in `aws.regions` and no STS call is made.

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use secrecy::ExposeSecret;

use crate::config::AwsSettings;

/// One account-region to scan, and how to get credentials for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeSpec {
    /// `ambient/<region>` or `<account id>/<region>`; recorded as `scanned_by`.
    pub key: String,
    pub account_id: Option<String>,
    pub region: String,
    role: Option<(String, Option<String>)>,
}

impl ScopeSpec {
    /// The account this scope's learned rate and metrics are kept under: its
    /// id, or `ambient` for the ambient credentials.
    pub fn account_label(&self) -> &str {
        self.account_id.as_deref().unwrap_or("ambient")
    }
}

/// Per-service endpoints set in code, beside the SDK's own environment overrides.
/// The demo and in-process tests point different services at different local
/// servers (the simulator, moto), which one global endpoint cannot express.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub wellarchitected: Option<String>,
    pub sqs: Option<String>,
    pub eventbridge: Option<String>,
    pub securityhub: Option<String>,
    /// Where AssumeRole goes for `[[aws.accounts]]` and discovered accounts.
    pub sts: Option<String>,
    /// Where `[aws.organization]` lists the organisation.
    pub organizations: Option<String>,
}

/// The base SDK configuration plus endpoint overrides.
#[derive(Clone, Debug)]
pub struct AwsSetup {
    pub sdk: SdkConfig,
    pub endpoints: Endpoints,
}

impl AwsSetup {
    /// The standard chain, with SDK retries off (the adapters retry) and
    /// per-attempt timeouts on.
    pub async fn from_env(settings: &AwsSettings) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts(settings))
            .load()
            .await;
        AwsSetup {
            sdk,
            endpoints: Endpoints::default(),
        }
    }

    /// Static placeholder credentials in `region`, for local endpoints only.
    pub async fn local(settings: &AwsSettings, region: &str, endpoints: Endpoints) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(
                "local",
                "local",
                None,
                None,
                "rel04d-local",
            ))
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts(settings))
            .load()
            .await;
        AwsSetup { sdk, endpoints }
    }

    pub fn wellarchitected(&self, scope: &SdkConfig) -> aws_sdk_wellarchitected::Client {
        let mut config = aws_sdk_wellarchitected::config::Builder::from(scope);
        // Only when set: `from` has already applied any AWS_ENDPOINT_URL_* override.
        if let Some(url) = &self.endpoints.wellarchitected {
            config.set_endpoint_url(Some(url.clone()));
        }
        aws_sdk_wellarchitected::Client::from_conf(config.build())
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        let mut config = aws_sdk_sqs::config::Builder::from(&self.sdk);
        // Only when set: `from` has already applied any AWS_ENDPOINT_URL_* override.
        if let Some(url) = &self.endpoints.sqs {
            config.set_endpoint_url(Some(url.clone()));
        }
        aws_sdk_sqs::Client::from_conf(config.build())
    }

    /// Security Hub with one scope's credentials and region (a finding is
    /// imported by its own account).
    pub fn securityhub(&self, scope: &SdkConfig) -> aws_sdk_securityhub::Client {
        let mut config = aws_sdk_securityhub::config::Builder::from(scope);
        // Only when set: `from` has already applied any AWS_ENDPOINT_URL_* override.
        if let Some(url) = &self.endpoints.securityhub {
            config.set_endpoint_url(Some(url.clone()));
        }
        aws_sdk_securityhub::Client::from_conf(config.build())
    }

    /// Organizations with the ambient (management account's) credentials, with
    /// the SDK's standard retries: a refresh is a short burst of list calls with
    /// no rate limiter of its own to retry them.
    pub fn organizations(&self, max_attempts: u32) -> aws_sdk_organizations::Client {
        let mut config = aws_sdk_organizations::config::Builder::from(&self.sdk)
            .retry_config(RetryConfig::standard().with_max_attempts(max_attempts));
        // Only when set: `from` has already applied any AWS_ENDPOINT_URL_* override.
        if let Some(url) = &self.endpoints.organizations {
            config.set_endpoint_url(Some(url.clone()));
        }
        aws_sdk_organizations::Client::from_conf(config.build())
    }

    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        let mut config = aws_sdk_eventbridge::config::Builder::from(&self.sdk);
        // Only when set: `from` has already applied any AWS_ENDPOINT_URL_* override.
        if let Some(url) = &self.endpoints.eventbridge {
            config.set_endpoint_url(Some(url.clone()));
        }
        aws_sdk_eventbridge::Client::from_conf(config.build())
    }
}

/// The SDK's HTTPS client (hyper 1, rustls on ring, the system's trust roots). The
/// SDK crates are built without a bundled client, so every SDK configuration,
/// tests' included, takes this one.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

pub fn timeouts(settings: &AwsSettings) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .operation_attempt_timeout(settings.call_timeout)
        .build()
}

/// The scopes to scan: each configured account's regions and each account
/// discovered from the organisation (`discovered`, empty without
/// `[aws.organization]`) in the organisation's regions; else the ambient
/// credentials in `aws.regions` (or the SDK's region when that is empty). An
/// account both configured and discovered is scanned as configured.
pub fn scope_specs(
    settings: &AwsSettings,
    sdk_region: Option<&str>,
    discovered: &std::collections::BTreeSet<String>,
) -> anyhow::Result<Vec<ScopeSpec>> {
    let ambient_regions = || -> anyhow::Result<Vec<String>> {
        if !settings.regions.is_empty() {
            return Ok(settings.regions.clone());
        }
        let region = sdk_region.ok_or_else(|| {
            anyhow::anyhow!("no region to scan: set aws.regions, AWS_REGION, or a profile region")
        })?;
        Ok(vec![region.to_owned()])
    };
    let account =
        |id: &str, role_arn: String, external_id: Option<String>, region: &str| ScopeSpec {
            key: format!("{id}/{region}"),
            account_id: Some(id.to_owned()),
            region: region.to_owned(),
            role: Some((role_arn, external_id)),
        };
    let mut specs = Vec::new();
    for configured in &settings.accounts {
        let external_id = configured
            .external_id
            .as_ref()
            .map(|e| e.expose_secret().to_owned());
        for region in &configured.regions {
            specs.push(account(
                &configured.id,
                configured.role_arn.clone(),
                external_id.clone(),
                region,
            ));
        }
    }
    if let Some(organization) = &settings.organization {
        let regions = if organization.regions.is_empty() {
            ambient_regions()?
        } else {
            organization.regions.clone()
        };
        let partition = partition(sdk_region.unwrap_or(&regions[0]));
        let external_id = organization
            .external_id
            .as_ref()
            .map(|e| e.expose_secret().to_owned());
        for id in discovered {
            if settings
                .accounts
                .iter()
                .any(|configured| &configured.id == id)
            {
                continue;
            }
            let role_arn = format!("arn:{partition}:iam::{id}:role/{}", organization.role_name);
            for region in &regions {
                specs.push(account(id, role_arn.clone(), external_id.clone(), region));
            }
        }
    }
    if !settings.accounts.is_empty() || settings.organization.is_some() {
        return Ok(specs);
    }
    Ok(ambient_regions()?
        .into_iter()
        .map(|region| ScopeSpec {
            key: format!("ambient/{region}"),
            account_id: None,
            region,
            role: None,
        })
        .collect())
}

/// The IAM partition of a region: the role ARNs of its accounts are in it.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl AwsSetup {
    /// The SDK configuration of one scope: its region, and assumed-role
    /// credentials when it names a role (refreshed by the provider before they
    /// expire).
    pub async fn scope_config(&self, spec: &ScopeSpec) -> SdkConfig {
        let mut builder = self
            .sdk
            .to_builder()
            .region(Region::new(spec.region.clone()));
        if let Some((role_arn, external_id)) = &spec.role {
            let sts = match &self.endpoints.sts {
                Some(url) => self.sdk.to_builder().endpoint_url(url).build(),
                None => self.sdk.clone(),
            };
            let mut provider = AssumeRoleProvider::builder(role_arn)
                .session_name("rel04d")
                .region(Region::new(spec.region.clone()))
                .configure(&sts);
            if let Some(external_id) = external_id {
                provider = provider.external_id(external_id);
            }
            builder = builder
                .credentials_provider(SharedCredentialsProvider::new(provider.build().await));
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn none() -> std::collections::BTreeSet<String> {
        Default::default()
    }

    fn aws(file: &str) -> AwsSettings {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut tmp, file.as_bytes()).unwrap();
        Settings::load_with(Some(tmp.path()), Some(Default::default()))
            .unwrap()
            .aws
    }

    #[test]
    fn ambient_scopes_come_from_regions_or_the_sdk_region() {
        let specs = scope_specs(
            &aws("[aws]\nregions = [\"us-east-1\", \"eu-west-1\"]\n"),
            Some("ap-south-1"),
            &none(),
        )
        .unwrap();
        let keys: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["ambient/us-east-1", "ambient/eu-west-1"]);

        let specs = scope_specs(&aws(""), Some("ap-south-1"), &none()).unwrap();
        assert_eq!(specs[0].key, "ambient/ap-south-1");
        assert!(specs[0].role.is_none());

        let err = scope_specs(&aws(""), None, &none()).unwrap_err();
        assert!(err.to_string().contains("no region to scan"));
    }

    #[test]
    fn accounts_give_one_scope_per_region_with_their_role() {
        let specs = scope_specs(
            &aws(
                "[[aws.accounts]]\nid = \"111122223333\"\nrole_arn = \"arn:aws:iam::111122223333:role/r\"\nregions = [\"us-east-1\", \"us-west-2\"]\n\
                 [[aws.accounts]]\nid = \"444455556666\"\nrole_arn = \"arn:aws:iam::444455556666:role/r\"\nexternal_id = \"x\"\nregions = [\"eu-west-1\"]\n",
            ),
            Some("ap-south-1"),
            &none(),
        )
        .unwrap();
        let keys: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "111122223333/us-east-1",
                "111122223333/us-west-2",
                "444455556666/eu-west-1"
            ]
        );
        assert_eq!(specs[2].role.as_ref().unwrap().1.as_deref(), Some("x"));
    }

    /// Configured accounts keep their own role and regions; every other
    /// discovered account gets the organisation's role name and regions, and no
    /// ambient scope is added beside them.
    #[test]
    fn discovered_accounts_join_the_configured_ones() {
        let settings = aws("[aws]\nregions = [\"eu-west-1\"]\n\
             [[aws.accounts]]\nid = \"111122223333\"\nrole_arn = \"arn:aws:iam::111122223333:role/own\"\nregions = [\"us-east-1\"]\n\
             [aws.organization]\nrole_name = \"rel04d-member\"\nexternal_id = \"x\"\nregions = [\"us-east-1\", \"us-west-2\"]\n");
        let discovered = ["111122223333", "444455556666"]
            .map(String::from)
            .into_iter()
            .collect();
        let specs = scope_specs(&settings, Some("us-east-1"), &discovered).unwrap();
        let keys: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "111122223333/us-east-1",
                "444455556666/us-east-1",
                "444455556666/us-west-2"
            ]
        );
        assert_eq!(
            specs[0].role.as_ref().unwrap().0,
            "arn:aws:iam::111122223333:role/own"
        );
        assert_eq!(
            specs[1].role,
            Some((
                "arn:aws:iam::444455556666:role/rel04d-member".to_owned(),
                Some("x".to_owned())
            ))
        );
        // Without regions of its own, the organisation scans `aws.regions`; an
        // organisation that selects nothing scans nothing (not the ambient account).
        let settings =
            aws("[aws]\nregions = [\"eu-west-1\"]\n[aws.organization]\nrole_name = \"r\"\n");
        let specs = scope_specs(&settings, None, &discovered).unwrap();
        assert_eq!(specs[0].key, "111122223333/eu-west-1");
        assert!(scope_specs(&settings, None, &none()).unwrap().is_empty());
    }

    #[test]
    fn role_arns_take_the_region_partition() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
