//! The config file on the real binary: `rizzler FILE --option …`, the
//! command line overriding the file, INFO's `config_file`, CONFIG SET then
//! CONFIG REWRITE and a restart from the rewritten file, start-up refused
//! with the line and reason for a bad file, and the example rizzler.conf
//! the repository ships.

mod common;

use std::process::Command;

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rizzler-conf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn a_file_then_the_command_line_then_config_rewrite() {
    for io in common::backends() {
        let dir = scratch(io);
        let conf = dir.join("rizzler.conf");
        std::fs::write(
            &conf,
            format!(
                "# test config\nhz 25\ntimeout 0\nsave \"\"\ndir {}\n# the end\n",
                dir.display()
            ),
        )
        .unwrap();
        let server = common::rizzler_with_file(io, &conf, &["--timeout", "300"]);
        let mut c = server.conn();
        assert_eq!(
            text(&c.line("CONFIG GET hz")),
            "*2\r\n$2\r\nhz\r\n$2\r\n25\r\n"
        );
        // The command line wins over the file.
        assert_eq!(
            text(&c.line("CONFIG GET timeout")),
            "*2\r\n$7\r\ntimeout\r\n$3\r\n300\r\n"
        );
        let info = text(&c.line("INFO server"));
        assert!(
            info.contains(&format!(
                "config_file:{}",
                std::fs::canonicalize(&conf).unwrap().display()
            )),
            "{info}"
        );
        assert_eq!(text(&c.line("CONFIG SET maxmemory 10mb hz 30")), "+OK\r\n");
        assert_eq!(text(&c.line("CONFIG REWRITE")), "+OK\r\n");
        let rewritten = std::fs::read_to_string(&conf).unwrap();
        assert!(
            rewritten.starts_with("# test config\nhz 30\ntimeout 300\n"),
            "{rewritten}"
        );
        assert!(
            rewritten.contains("# the end\n") && rewritten.contains("maxmemory 10485760\n"),
            "{rewritten}"
        );
        drop(server);
        let server = common::rizzler_with_file(io, &conf, &[]);
        let mut c = server.conn();
        assert_eq!(
            text(&c.line("CONFIG GET maxmemory")),
            "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
        );
        assert_eq!(
            text(&c.line("CONFIG GET hz")),
            "*2\r\n$2\r\nhz\r\n$2\r\n30\r\n"
        );
    }
}

#[test]
fn config_rewrite_without_a_file_is_refused() {
    let server = common::rizzler(common::backends()[0], &[]);
    assert_eq!(
        text(&server.conn().line("CONFIG REWRITE")),
        "-ERR The server is running without a config file\r\n"
    );
}

#[test]
fn a_bad_file_stops_start_up_naming_the_line() {
    let dir = scratch("bad");
    let conf = dir.join("bad.conf");
    std::fs::write(&conf, "port 7000\nmaxmemory lots\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rizzler"))
        .arg(&conf)
        .output()
        .expect("run rizzler");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file {}, at line 2\n>>> 'maxmemory lots'\nargument must be a memory value", conf.display())),
        "{err}"
    );
}

/// The example file in the repository loads, and says what it sets.
#[test]
fn the_shipped_rizzler_conf_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rizzler.conf");
    let config =
        rizzler::config::Config::from_args([path.to_string()]).expect("rizzler.conf loads");
    assert_eq!(config.port, 6379);
    assert_eq!(config.bind, ["127.0.0.1"]);
    assert_eq!(config.save, "3600 1 300 100 60 10000");
}
