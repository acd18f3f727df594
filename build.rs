//! Embeds `migrations/{sqlite,postgres}/*.sql` in the binary, as sqlx's `migrate!`
//! would, without sqlx's macros: those compile sqlx, both drivers, SQLite and TLS a
//! second time for the host, which was a large share of a cold build.
//!
//! Writes `$OUT_DIR/migrations.rs` with one `(version, description, sql)` list per
//! backend; `store::migrations` turns them into sqlx `Migrator`s. File names follow
//! sqlx's rules (`<version>_<description>.sql`), so checksums match what
//! `migrate!` recorded in existing databases.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("migrations")
            .join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        writeln!(
            out,
            "pub const {}: &[(i64, &str, &str)] = &[",
            backend.to_uppercase()
        )
        .unwrap();
        for path in files {
            let stem = path.file_stem().unwrap().to_str().unwrap();
            let (version, name) = stem.split_once('_').unwrap_or_else(|| {
                panic!("{}: expected <version>_<description>.sql", path.display())
            });
            let version: i64 = version
                .parse()
                .unwrap_or_else(|_| panic!("{}: the version must be a number", path.display()));
            let description = name.replace('_', " ");
            writeln!(
                out,
                "    ({version}, {description:?}, include_str!({:?})),",
                path.display().to_string()
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let target = Path::new(&env::var("OUT_DIR").unwrap()).join("migrations.rs");
    fs::write(target, out).unwrap();
}
