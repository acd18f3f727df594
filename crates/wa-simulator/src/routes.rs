//! The HTTP bindings of the service's operations, as in botocore's model
//! (`http.method`, `http.requestUri`): the router is built from these tables, so
//! `tests/conformance.rs` checking them against the model checks what is served.

/// One operation's HTTP binding, as in the model's `http` trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationRoute {
    pub name: &'static str,
    pub method: &'static str,
    /// The model's `requestUri`; axum 0.8 uses the same `{Label}` syntax.
    pub uri: &'static str,
}

/// The operations the simulator implements.
pub const OPERATIONS: [OperationRoute; 23] = [
    OperationRoute {
        name: "ListWorkloads",
        method: "POST",
        uri: "/workloadsSummaries",
    },
    OperationRoute {
        name: "GetWorkload",
        method: "GET",
        uri: "/workloads/{WorkloadId}",
    },
    OperationRoute {
        name: "GetAnswer",
        method: "GET",
        uri: "/workloads/{WorkloadId}/lensReviews/{LensAlias}/answers/{QuestionId}",
    },
    OperationRoute {
        name: "UpdateAnswer",
        method: "PATCH",
        uri: "/workloads/{WorkloadId}/lensReviews/{LensAlias}/answers/{QuestionId}",
    },
    OperationRoute {
        name: "ListTagsForResource",
        method: "GET",
        uri: "/tags/{WorkloadArn}",
    },
    OperationRoute {
        name: "TagResource",
        method: "POST",
        uri: "/tags/{WorkloadArn}",
    },
    OperationRoute {
        name: "UntagResource",
        method: "DELETE",
        uri: "/tags/{WorkloadArn}",
    },
    OperationRoute {
        name: "UpdateWorkload",
        method: "PATCH",
        uri: "/workloads/{WorkloadId}",
    },
    OperationRoute {
        name: "DeleteWorkload",
        method: "DELETE",
        uri: "/workloads/{WorkloadId}",
    },
    OperationRoute {
        name: "CreateWorkload",
        method: "POST",
        uri: "/workloads",
    },
    OperationRoute {
        name: "ListAnswers",
        method: "GET",
        uri: "/workloads/{WorkloadId}/lensReviews/{LensAlias}/answers",
    },
    OperationRoute {
        name: "ListLensReviews",
        method: "GET",
        uri: "/workloads/{WorkloadId}/lensReviews",
    },
    OperationRoute {
        name: "GetLensReview",
        method: "GET",
        uri: "/workloads/{WorkloadId}/lensReviews/{LensAlias}",
    },
    OperationRoute {
        name: "UpdateLensReview",
        method: "PATCH",
        uri: "/workloads/{WorkloadId}/lensReviews/{LensAlias}",
    },
    OperationRoute {
        name: "UpgradeLensReview",
        method: "PUT",
        uri: "/workloads/{WorkloadId}/lensReviews/{LensAlias}/upgrade",
    },
    OperationRoute {
        name: "AssociateLenses",
        method: "PATCH",
        uri: "/workloads/{WorkloadId}/associateLenses",
    },
    OperationRoute {
        name: "DisassociateLenses",
        method: "PATCH",
        uri: "/workloads/{WorkloadId}/disassociateLenses",
    },
    OperationRoute {
        name: "ListLenses",
        method: "GET",
        uri: "/lenses",
    },
    OperationRoute {
        name: "GetLens",
        method: "GET",
        uri: "/lenses/{LensAlias}",
    },
    OperationRoute {
        name: "CreateMilestone",
        method: "POST",
        uri: "/workloads/{WorkloadId}/milestones",
    },
    OperationRoute {
        name: "ListMilestones",
        method: "POST",
        uri: "/workloads/{WorkloadId}/milestonesSummaries",
    },
    OperationRoute {
        name: "GetMilestone",
        method: "GET",
        uri: "/workloads/{WorkloadId}/milestones/{MilestoneNumber}",
    },
    OperationRoute {
        name: "ListNotifications",
        method: "POST",
        uri: "/notifications",
    },
];

/// The service's other operations: answered with the service's own
/// ValidationException (reason UNKNOWN_OPERATION), which each of them models,
/// naming the operation.
pub const UNSUPPORTED: [OperationRoute; 49] = [
    OperationRoute {
        name: "AssociateProfiles",
        method: "PATCH",
        uri: "/workloads/{WorkloadId}/associateProfiles",
    },
    OperationRoute {
        name: "CreateLensShare",
        method: "POST",
        uri: "/lenses/{LensAlias}/shares",
    },
    OperationRoute {
        name: "CreateLensVersion",
        method: "POST",
        uri: "/lenses/{LensAlias}/versions",
    },
    OperationRoute {
        name: "CreateProfile",
        method: "POST",
        uri: "/profiles",
    },
    OperationRoute {
        name: "CreateProfileShare",
        method: "POST",
        uri: "/profiles/{ProfileArn}/shares",
    },
    OperationRoute {
        name: "CreateReviewTemplate",
        method: "POST",
        uri: "/reviewTemplates",
    },
    OperationRoute {
        name: "CreateTemplateShare",
        method: "POST",
        uri: "/templates/shares/{TemplateArn}",
    },
    OperationRoute {
        name: "CreateWorkloadShare",
        method: "POST",
        uri: "/workloads/{WorkloadId}/shares",
    },
    OperationRoute {
        name: "DeleteLens",
        method: "DELETE",
        uri: "/lenses/{LensAlias}",
    },
    OperationRoute {
        name: "DeleteLensShare",
        method: "DELETE",
        uri: "/lenses/{LensAlias}/shares/{ShareId}",
    },
    OperationRoute {
        name: "DeleteProfile",
        method: "DELETE",
        uri: "/profiles/{ProfileArn}",
    },
    OperationRoute {
        name: "DeleteProfileShare",
        method: "DELETE",
        uri: "/profiles/{ProfileArn}/shares/{ShareId}",
    },
    OperationRoute {
        name: "DeleteReviewTemplate",
        method: "DELETE",
        uri: "/reviewTemplates/{TemplateArn}",
    },
    OperationRoute {
        name: "DeleteTemplateShare",
        method: "DELETE",
        uri: "/templates/shares/{TemplateArn}/{ShareId}",
    },
    OperationRoute {
        name: "DeleteWorkloadShare",
        method: "DELETE",
        uri: "/workloads/{WorkloadId}/shares/{ShareId}",
    },
    OperationRoute {
        name: "DisassociateProfiles",
        method: "PATCH",
        uri: "/workloads/{WorkloadId}/disassociateProfiles",
    },
    OperationRoute {
        name: "ExportLens",
        method: "GET",
        uri: "/lenses/{LensAlias}/export",
    },
    OperationRoute {
        name: "GetConsolidatedReport",
        method: "GET",
        uri: "/consolidatedReport",
    },
    OperationRoute {
        name: "GetGlobalSettings",
        method: "GET",
        uri: "/global-settings",
    },
    OperationRoute {
        name: "GetLensReviewReport",
        method: "GET",
        uri: "/workloads/{WorkloadId}/lensReviews/{LensAlias}/report",
    },
    OperationRoute {
        name: "GetLensVersionDifference",
        method: "GET",
        uri: "/lenses/{LensAlias}/versionDifference",
    },
    OperationRoute {
        name: "GetProfile",
        method: "GET",
        uri: "/profiles/{ProfileArn}",
    },
    OperationRoute {
        name: "GetProfileTemplate",
        method: "GET",
        uri: "/profileTemplate",
    },
    OperationRoute {
        name: "GetReviewTemplate",
        method: "GET",
        uri: "/reviewTemplates/{TemplateArn}",
    },
    OperationRoute {
        name: "GetReviewTemplateAnswer",
        method: "GET",
        uri: "/reviewTemplates/{TemplateArn}/lensReviews/{LensAlias}/answers/{QuestionId}",
    },
    OperationRoute {
        name: "GetReviewTemplateLensReview",
        method: "GET",
        uri: "/reviewTemplates/{TemplateArn}/lensReviews/{LensAlias}",
    },
    OperationRoute {
        name: "ImportLens",
        method: "PUT",
        uri: "/importLens",
    },
    OperationRoute {
        name: "ListCheckDetails",
        method: "POST",
        uri: "/workloads/{WorkloadId}/checks",
    },
    OperationRoute {
        name: "ListCheckSummaries",
        method: "POST",
        uri: "/workloads/{WorkloadId}/checkSummaries",
    },
    OperationRoute {
        name: "ListLensReviewImprovements",
        method: "GET",
        uri: "/workloads/{WorkloadId}/lensReviews/{LensAlias}/improvements",
    },
    OperationRoute {
        name: "ListLensShares",
        method: "GET",
        uri: "/lenses/{LensAlias}/shares",
    },
    OperationRoute {
        name: "ListProfileNotifications",
        method: "GET",
        uri: "/profileNotifications/",
    },
    OperationRoute {
        name: "ListProfileShares",
        method: "GET",
        uri: "/profiles/{ProfileArn}/shares",
    },
    OperationRoute {
        name: "ListProfiles",
        method: "GET",
        uri: "/profileSummaries",
    },
    OperationRoute {
        name: "ListReviewTemplateAnswers",
        method: "GET",
        uri: "/reviewTemplates/{TemplateArn}/lensReviews/{LensAlias}/answers",
    },
    OperationRoute {
        name: "ListReviewTemplates",
        method: "GET",
        uri: "/reviewTemplates",
    },
    OperationRoute {
        name: "ListShareInvitations",
        method: "GET",
        uri: "/shareInvitations",
    },
    OperationRoute {
        name: "ListTemplateShares",
        method: "GET",
        uri: "/templates/shares/{TemplateArn}",
    },
    OperationRoute {
        name: "ListWorkloadShares",
        method: "GET",
        uri: "/workloads/{WorkloadId}/shares",
    },
    OperationRoute {
        name: "UpdateGlobalSettings",
        method: "PATCH",
        uri: "/global-settings",
    },
    OperationRoute {
        name: "UpdateIntegration",
        method: "POST",
        uri: "/workloads/{WorkloadId}/updateIntegration",
    },
    OperationRoute {
        name: "UpdateProfile",
        method: "PATCH",
        uri: "/profiles/{ProfileArn}",
    },
    OperationRoute {
        name: "UpdateReviewTemplate",
        method: "PATCH",
        uri: "/reviewTemplates/{TemplateArn}",
    },
    OperationRoute {
        name: "UpdateReviewTemplateAnswer",
        method: "PATCH",
        uri: "/reviewTemplates/{TemplateArn}/lensReviews/{LensAlias}/answers/{QuestionId}",
    },
    OperationRoute {
        name: "UpdateReviewTemplateLensReview",
        method: "PATCH",
        uri: "/reviewTemplates/{TemplateArn}/lensReviews/{LensAlias}",
    },
    OperationRoute {
        name: "UpdateShareInvitation",
        method: "PATCH",
        uri: "/shareInvitations/{ShareInvitationId}",
    },
    OperationRoute {
        name: "UpdateWorkloadShare",
        method: "PATCH",
        uri: "/workloads/{WorkloadId}/shares/{ShareId}",
    },
    OperationRoute {
        name: "UpgradeProfileVersion",
        method: "PUT",
        uri: "/workloads/{WorkloadId}/profiles/{ProfileArn}/upgrade",
    },
    OperationRoute {
        name: "UpgradeReviewTemplateLensReview",
        method: "PUT",
        uri: "/reviewTemplates/{TemplateArn}/lensReviews/{LensAlias}/upgrade",
    },
];
