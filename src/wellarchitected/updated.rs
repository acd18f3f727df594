//! When the Tool last saw a workload change (`UpdatedAt`), for deferred enforcement.

use chrono::{DateTime, Utc};

use super::{Operation, WaError, WellArchitected};

impl WellArchitected {
    /// The workload's `UpdatedAt` (GetWorkload): moved by any change to the
    /// workload, its tags or its answers, by anyone. `None` when the Tool does
    /// not say.
    pub async fn workload_updated_at(
        &self,
        workload_id: &str,
    ) -> Result<Option<DateTime<Utc>>, WaError> {
        let output = self
            .call(Operation::GetWorkload, || {
                self.client.get_workload().workload_id(workload_id).send()
            })
            .await?;
        Ok(output
            .workload()
            .and_then(|w| w.updated_at())
            .and_then(|at| DateTime::from_timestamp(at.secs(), at.subsec_nanos())))
    }
}
