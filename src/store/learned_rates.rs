//! The request rate each account-region learned (`aws.max_requests_per_second =
//! "auto"`), so a restart or another replica resumes from it.

use anyhow::Context;
use chrono::Utc;

use super::{Store, timestamp};

impl Store {
    /// The learned rate of an account-region (`account_id` "ambient" for the
    /// ambient credentials), if one was saved.
    pub async fn learned_rate(
        &self,
        account_id: &str,
        region: &str,
    ) -> anyhow::Result<Option<f64>> {
        let row: Option<(f64,)> = sqlx::query_as(
            "SELECT requests_per_second FROM learned_rates WHERE account_id = $1 AND region = $2",
        )
        .bind(account_id)
        .bind(region)
        .fetch_optional(&self.pool)
        .await
        .context("read a learned request rate")?;
        // A hand-edited row must not make the limiter divide by zero.
        Ok(row
            .map(|(rate,)| rate)
            .filter(|rate| rate.is_finite() && *rate > 0.0))
    }

    /// Saves the learned rate of an account-region (last writer wins: replicas
    /// learn the same limit).
    pub async fn save_learned_rate(
        &self,
        account_id: &str,
        region: &str,
        requests_per_second: f64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO learned_rates (account_id, region, requests_per_second, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, region) \
             DO UPDATE SET requests_per_second = $3, updated_at = $4",
        )
        .bind(account_id)
        .bind(region)
        .bind(requests_per_second)
        .bind(timestamp(Utc::now()))
        .execute(&self.writer)
        .await
        .context("save a learned request rate")?;
        Ok(())
    }
}
