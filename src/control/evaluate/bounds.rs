//! A bound on what one evaluation stores as `details`, whatever the workload.
//!
//! Everything rel04d writes into `details` is bounded where it is made (policy
//! values are short, calculation traces bounded in `control::calculated`); what
//! the Tool returns — the workload's description and its tags — is the owner's,
//! and the Tool's limits are not ours. Past [`MAX_DETAILS_BYTES`] those two are
//! dropped, with a note saying so.

use super::Details;

/// The most `details` may hold as JSON.
pub const MAX_DETAILS_BYTES: usize = 64 * 1024;

impl Details {
    /// These details within [`MAX_DETAILS_BYTES`]: the description, then the
    /// policy tags, left out if they make it longer.
    pub fn bounded(mut self) -> Details {
        if size(&self) <= MAX_DETAILS_BYTES {
            return self;
        }
        self.resource = None;
        self.omitted = Some(format!(
            "the workload's description is left out: details are at most {} KiB",
            MAX_DETAILS_BYTES / 1024
        ));
        if size(&self) > MAX_DETAILS_BYTES {
            self.policy_tags.clear();
            self.omitted = Some(format!(
                "the workload's description and policy tags are left out: details are at most {} KiB",
                MAX_DETAILS_BYTES / 1024
            ));
        }
        self
    }
}

fn size(details: &Details) -> usize {
    serde_json::to_vec(details).map_or(usize::MAX, |json| json.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_description_and_tags_are_left_out() {
        let small = Details {
            resource: Some(serde_json::json!({ "Description": "short" })),
            ..Details::default()
        };
        assert_eq!(small.clone().bounded(), small);

        let huge = Details {
            resource: Some(serde_json::json!({ "Description": "x".repeat(200_000) })),
            policy_tags: (0..1000)
                .map(|i| (format!("rel04d:{i}"), "y".repeat(200)))
                .collect(),
            ..Details::default()
        };
        let bounded = huge.bounded();
        assert!(size(&bounded) <= MAX_DETAILS_BYTES);
        assert!(bounded.resource.is_none());
        assert!(bounded.policy_tags.is_empty());
        assert!(bounded.omitted.unwrap().contains("64 KiB"));
    }
}
