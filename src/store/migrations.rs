//! The schema migrations, embedded by build.rs from `migrations/<backend>/`.

use std::sync::LazyLock;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

pub static SQLITE: LazyLock<Migrator> = LazyLock::new(|| migrator(embedded::SQLITE));
pub static POSTGRES: LazyLock<Migrator> = LazyLock::new(|| migrator(embedded::POSTGRES));

/// sqlx's own reading of a migrations folder: simple (not reversible) files, one
/// transaction each unless the file opts out, checksummed over their text.
fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            let no_tx = sql.starts_with("-- no-transaction");
            let sql = SqlStr::from_static(sql);
            Migration::new(
                version,
                description.into(),
                MigrationType::Simple,
                sql,
                no_tx,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both backends carry the same versions, in order, with the same names.
    #[test]
    fn both_backends_embed_every_migration() {
        let versions = |m: &Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        let sqlite = versions(&SQLITE);
        assert_eq!(sqlite, versions(&POSTGRES));
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .count();
        assert_eq!(sqlite.len(), on_disk);
        assert_eq!(sqlite[0], (1, "controls and transitions".to_owned()));
        assert!(sqlite.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
