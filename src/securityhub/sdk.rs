//! The Security Hub adapter: findings to the SDK's types, BatchImportFindings
//! with the credentials of the finding's account.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, FindingProviderFields, FindingProviderSeverity, Partition,
    RecordState, Resource, ResourceDetails, SeverityLabel, StatusReason,
};

use super::finding::{Finding, SCHEMA_VERSION};
use super::{ImportError, Importer, Refused};

/// One client per configured scope: its account (or, for the ambient
/// credentials, any account) and region.
pub struct SdkImporter {
    pub clients: Vec<ScopeClient>,
}

pub struct ScopeClient {
    /// `None` for the ambient credentials.
    pub account_id: Option<String>,
    pub region: String,
    pub client: aws_sdk_securityhub::Client,
}

impl SdkImporter {
    /// The client whose credentials are the account's: a configured account's
    /// role, else the ambient credentials in that region (which listed it).
    fn client(&self, account: &str, region: &str) -> Option<&aws_sdk_securityhub::Client> {
        let in_region = || self.clients.iter().filter(|c| c.region == region);
        in_region()
            .find(|c| c.account_id.as_deref() == Some(account))
            .or_else(|| in_region().find(|c| c.account_id.is_none()))
            .map(|c| &c.client)
    }
}

impl Importer for SdkImporter {
    async fn import(
        &self,
        account: &str,
        region: &str,
        findings: &[Finding],
    ) -> Result<Vec<Refused>, ImportError> {
        let client = self
            .client(account, region)
            .ok_or(ImportError::NoCredentials)?;
        let output = client
            .batch_import_findings()
            .set_findings(Some(findings.iter().map(to_sdk).collect()))
            .send()
            .await
            .map_err(|error| {
                ImportError::Call(
                    aws_sdk_securityhub::error::DisplayErrorContext(&error).to_string(),
                )
            })?;
        Ok(output
            .failed_findings()
            .iter()
            .map(|failed| Refused {
                id: failed.id().unwrap_or_default().to_owned(),
                message: format!(
                    "{}: {}",
                    failed.error_code().unwrap_or("refused"),
                    failed.error_message().unwrap_or("")
                ),
            })
            .collect())
    }
}

/// The SDK's form of `finding`: the same fields as [`Finding::to_asff`].
pub fn to_sdk(finding: &Finding) -> AwsSecurityFinding {
    let mut details = ResourceDetails::builder();
    for (key, value) in &finding.resource_details {
        details = details.other(key, value);
    }
    let resource = Resource::builder()
        .r#type("Other")
        .id(&finding.resource_id)
        .partition(Partition::from(finding.partition.as_str()))
        .region(&finding.region)
        .details(details.build())
        .build();
    let compliance = Compliance::builder()
        .status(finding.status.as_str().into())
        .status_reasons(
            StatusReason::builder()
                .reason_code(&finding.reason_code)
                .description(&finding.reason)
                .build(),
        )
        .build();
    let mut provider = FindingProviderFields::builder().severity(
        FindingProviderSeverity::builder()
            .label(SeverityLabel::from(finding.severity.as_str()))
            .original(finding.severity.as_str())
            .build(),
    );
    for kind in &finding.types {
        provider = provider.types(kind);
    }
    let mut sdk = AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(&finding.id)
        .product_arn(&finding.product_arn)
        .product_name("rel04d")
        .company_name("rel04d")
        .generator_id(&finding.generator_id)
        .aws_account_id(&finding.aws_account_id)
        .region(&finding.region)
        .created_at(&finding.created_at)
        .updated_at(&finding.updated_at)
        .first_observed_at(&finding.created_at)
        .last_observed_at(&finding.last_observed_at)
        .title(&finding.title)
        .description(&finding.description)
        .resources(resource)
        .compliance(compliance)
        .finding_provider_fields(provider.build())
        .record_state(RecordState::from(finding.record_state()));
    for (key, value) in &finding.product_fields {
        sdk = sdk.product_fields(key, value);
    }
    sdk.build()
}
