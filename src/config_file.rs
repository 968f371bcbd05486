//! redis.conf files: `rizzler /path/rizzler.conf --port 6380` reads the
//! file first, then the command line's options override it, as
//! redis-server does.
//!
//! The syntax is Redis's: one directive per line, `#` comments, arguments
//! split as Redis splits them (double quotes with `\n`, `\xHH` escapes,
//! single quotes), `include other.conf`, memory sizes as `100mb`. Every
//! directive is a row of [`crate::config::PARAMS`], so the file, the
//! command line and CONFIG GET/SET accept exactly the same names and
//! values. A directive rizzler does not know, or a bad value, stops
//! start-up with Redis's message naming the line.
//!
//! CONFIG REWRITE writes the running configuration back into the file it
//! was read from: lines of known directives are replaced in place (their
//! comments and order kept), parameters that differ from their defaults and
//! were not in the file are appended, and the file is replaced atomically.

use std::path::{Path, PathBuf};

use crate::config::{find_param, Config, Param, PARAMS};

/// Parameters that take several words (`save 3600 1 300 100`).
const MULTI_WORD: &[&str] = &["save", "bind", "client-output-buffer-limit"];

/// `include` nesting beyond which a file is taken to include itself.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads `path` into `config`. The error is the text redis-server prints
/// (`*** FATAL CONFIG FILE ERROR ***`, the line, the reason).
pub fn load(path: &Path, config: &mut Config) -> Result<(), String> {
    let mut saves_seen = false;
    load_file(path, config, 0, &mut saves_seen)?;
    config.config_file = Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
    Ok(())
}

/// Redis's fatal config error, with the file named too (an included
/// file's line number means nothing without it).
fn fatal(line: Option<(&Path, usize, &str)>, why: &str) -> String {
    let mut text = format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\n",
        crate::commands::info::REDIS_VERSION
    );
    if let Some((path, n, line)) = line {
        text.push_str(&format!(
            "Reading the configuration file {}, at line {n}\n>>> '{line}'\n",
            path.display()
        ));
    }
    text.push_str(why);
    text
}

/// A line's words, split as Redis splits them; `None` for unbalanced
/// quotes.
fn words(line: &str) -> Option<Vec<String>> {
    let (mut scratch, mut spans) = (Vec::new(), Vec::new());
    crate::resp::split_args(line.as_bytes(), &mut scratch, &mut spans).ok()?;
    Some(
        spans
            .into_iter()
            .map(|r| String::from_utf8_lossy(&scratch[r]).into_owned())
            .collect(),
    )
}

fn load_file(
    path: &Path,
    config: &mut Config,
    depth: usize,
    saves_seen: &mut bool,
) -> Result<(), String> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(fatal(
            None,
            "Too many nested includes (a file includes itself?)",
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        fatal(
            None,
            &format!(
                "Fatal error, can't open config file '{}': {e}",
                path.display()
            ),
        )
    })?;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches([' ', '\t', '\r', '\n']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = Some((path, i + 1, line));
        let Some(argv) = words(line) else {
            return Err(fatal(at, "Unbalanced quotes in configuration line"));
        };
        let Some(name) = argv.first().map(|n| n.to_ascii_lowercase()) else {
            continue;
        };
        if name == "include" && argv.len() == 2 {
            let target = Path::new(&argv[1]);
            load_file(target, config, depth + 1, saves_seen)?;
            continue;
        }
        if name == "user" && argv.len() >= 2 {
            // Checked now, applied at start-up (Redis's
            // ACLAppendUserForLoading).
            if config.users.iter().any(|u| u[0] == argv[1]) {
                return Err(fatal(at, &format!("Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files", argv[1])));
            }
            let rules: Vec<&[u8]> = argv[2..].iter().map(|w| w.as_bytes()).collect();
            if let Err((rule, why)) = crate::acl::check_user_directive(&rules) {
                return Err(fatal(
                    at,
                    &format!(
                        "Error in user declaration '{}': {}",
                        String::from_utf8_lossy(&rule),
                        why.text()
                    ),
                ));
            }
            config.users.push(argv[1..].to_vec());
            continue;
        }
        let Some(param) = find_param(&name) else {
            return Err(fatal(at, "Bad directive or wrong number of arguments"));
        };
        let multi = MULTI_WORD.contains(&param.name);
        if !multi && argv.len() != 2 {
            return Err(fatal(at, "wrong number of arguments"));
        }
        let mut value = argv[1..].join(" ");
        if param.name == "save" && !value.is_empty() {
            // Each `save` line adds a save point; the first replaces the
            // defaults.
            if std::mem::replace(saves_seen, true) && !config.save.is_empty() {
                value = format!("{} {value}", config.save);
            }
        }
        (param.set)(config, &value).map_err(|e| fatal(at, &e.0))?;
    }
    Ok(())
}

/// A value as a config file line needs it: bare when it is one plain word,
/// else in double quotes with Redis's escapes.
fn quoted(value: &str, multi: bool) -> String {
    let plain = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\')
    };
    if multi && !value.is_empty() && value.split(' ').all(plain) {
        return value.to_string();
    }
    if plain(value) {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.bytes() {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

fn directive(param: &Param, config: &Config) -> String {
    let multi = MULTI_WORD.contains(&param.name);
    format!("{} {}", param.name, quoted(&(param.get)(config), multi))
}

/// CONFIG REWRITE: the running configuration into the file it came from.
pub fn rewrite(config: &Config) -> Result<(), String> {
    let Some(path) = &config.config_file else {
        return Err("no config file".into());
    };
    let old =
        std::fs::read_to_string(path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
    let defaults = Config::default();
    let mut written: Vec<&'static str> = Vec::new();
    let mut out = String::new();
    for raw in old.split_inclusive('\n') {
        let line = raw.trim_matches([' ', '\t', '\r', '\n']);
        let param = (!line.starts_with('#'))
            .then(|| words(line))
            .flatten()
            .and_then(|w| w.first().and_then(|n| find_param(n)));
        match param {
            Some(p) if written.contains(&p.name) => {} // a repeat: dropped
            Some(p) => {
                written.push(p.name);
                out.push_str(&directive(p, config));
                out.push('\n');
            }
            None => out.push_str(raw),
        }
    }
    let mut header = false;
    for p in PARAMS {
        if written.contains(&p.name) || (p.get)(config) == (p.get)(&defaults) {
            continue;
        }
        if !header {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str("# Generated by CONFIG REWRITE\n");
            header = true;
        }
        out.push_str(&directive(p, config));
        out.push('\n');
    }
    let tmp = temp_path(path);
    std::fs::write(&tmp, out).map_err(|e| format!("can't write {}: {e}", tmp.display()))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("can't fsync {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("can't rename {}: {e}", tmp.display()))
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.rewrite-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rizzler-conf-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn directives_quotes_sizes_and_includes() {
        let inc = file("inc.conf", "hz 20\n");
        let main = file(
            "main.conf",
            &format!(
                "# a comment\n\n  port 7001\nmaxmemory 100mb\nrequirepass \"p a\\x41ss\"\nsave 900 1\nsave 300 10\ninclude {}\nbind 127.0.0.1 ::1\n",
                inc.display()
            ),
        );
        let mut c = Config::default();
        load(&main, &mut c).unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.maxmemory, 100 << 20);
        assert_eq!(c.requirepass, "p aAss");
        assert_eq!(c.save, "900 1 300 10");
        assert_eq!(c.hz, 20);
        assert_eq!(c.bind, ["127.0.0.1", "::1"]);
    }

    #[test]
    fn errors_name_the_line_and_the_reason() {
        for (text, line, why) in [
            (
                "port 7000\nnosuch 1\n",
                "bad.conf, at line 2\n>>> 'nosuch 1'\n",
                "Bad directive or wrong number of arguments",
            ),
            (
                "port 1 2\n",
                "bad.conf, at line 1\n>>> 'port 1 2'\n",
                "wrong number of arguments",
            ),
            (
                "\nport abc\n",
                "bad.conf, at line 2\n>>> 'port abc'\n",
                "argument couldn't be parsed into an integer",
            ),
            (
                "requirepass \"unbalanced\n",
                "at line 1\n",
                "Unbalanced quotes in configuration line",
            ),
            (
                "maxmemory 1tb\n",
                "at line 1\n",
                "argument must be a memory value",
            ),
        ] {
            let path = file("bad.conf", text);
            let e = load(&path, &mut Config::default()).unwrap_err();
            assert!(
                e.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"),
                "{e}"
            );
            assert!(e.contains(line) && e.ends_with(why), "{text:?}: {e}");
        }
        let selfish = file("self.conf", "");
        std::fs::write(&selfish, format!("include {}\n", selfish.display())).unwrap();
        assert!(load(&selfish, &mut Config::default()).is_err());
    }

    #[test]
    fn rewrite_keeps_comments_and_order() {
        let path = file(
            "rw.conf",
            "# keep me\nport 7002\n\n# and me\nhz 10\nhz 11\ntimeout 0\n",
        );
        let mut c = Config::default();
        load(&path, &mut c).unwrap();
        c.hz = 42;
        c.maxmemory = 1 << 20;
        c.requirepass = "two words".into();
        rewrite(&c).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# keep me\nport 7002\n\n# and me\nhz 42\ntimeout 0\n# Generated by CONFIG REWRITE\nmaxmemory 1048576\nrequirepass \"two words\"\n"
        );
        let mut again = Config::default();
        load(&path, &mut again).unwrap();
        assert_eq!(
            (again.hz, again.maxmemory, again.requirepass.as_str()),
            (42, 1 << 20, "two words")
        );
    }
}
