//! Differential tests: every script under tests/diff/ is sent to Debian's
//! redis-server and to rizzler (on each backend), and every reply must match
//! byte for byte. Needs redis-server on PATH or in $REDIS_SERVER; without it
//! the test fails rather than skips.

mod common;

use std::path::PathBuf;

#[test]
fn scripts_match_redis() {
    let redis = common::redis_server();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/diff");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/diff exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "redis"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty(), "no scripts in tests/diff");
    let only = std::env::var("RIZZLER_DIFF_ONLY").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for io in common::backends() {
        let rizzler = common::rizzler(io, &[]);
        for script in &scripts {
            if only
                .as_ref()
                .is_some_and(|o| !script.to_string_lossy().contains(o.as_str()))
            {
                continue;
            }
            ran += 1;
            for f in common::run_script(script, redis.port, rizzler.port) {
                failures.push(format!("[{io}] {f}"));
            }
        }
    }
    assert!(ran > 0, "no script ran");
    if !failures.is_empty() {
        panic!(
            "{} replies differ from redis-server:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
