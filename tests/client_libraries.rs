//! Client libraries against rizzler, through their public APIs: the
//! scripts under tests/clients/ (redis-py, node-redis), on every backend.
//! .ci/run installs the libraries (a virtualenv at tests/clients/.venv
//! from requirements.txt, `npm ci --prefix tests/clients`); a missing one
//! fails the test with the command that installs it, never skips it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs `program script port` on every backend; it must exit 0.
fn run_everywhere(program: &str, script: &str, install: &str) {
    assert!(
        !common::backends().is_empty(),
        "no backend to run {script} on"
    );
    let dir = clients_dir();
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let out = Command::new(program)
            .arg(dir.join(script))
            .arg(server.port.to_string())
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} ({e}); install it: {install}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "[{io}] {script} failed ({}); if a module is missing: {install}\nstdout: {}\nstderr: {stderr}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
        );
    }
}

/// The virtualenv's Python if .ci/run made one, else the PATH's.
fn python() -> String {
    let venv = clients_dir().join(".venv/bin/python3");
    if venv.exists() {
        venv.to_string_lossy().into_owned()
    } else {
        "python3".to_string()
    }
}

#[test]
fn redis_py_client_side_cache() {
    run_everywhere(
        &python(),
        "csc_redis_py.py",
        "pip install -r tests/clients/requirements.txt",
    );
}

#[test]
fn node_redis_client_side_cache() {
    run_everywhere(
        "node",
        "csc_node_redis.mjs",
        "npm ci --prefix tests/clients",
    );
}
