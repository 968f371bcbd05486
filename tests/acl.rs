//! ACL on the real binary, on every backend: the ACL file (LOAD, SAVE,
//! start-up), what user changes do to connected clients, the limits on
//! unauthenticated requests, and CLIENT LIST's user. (Replies byte for byte
//! against redis-server are tests/diff/acl.redis's.)

mod common;

use std::time::Duration;

use common::Conn;

fn tmp_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("rizzler-acl-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write temp file");
    path
}

fn closed(c: &mut Conn) -> bool {
    let (_, closed) = c.read_until_close(Duration::from_millis(500));
    closed
}

#[test]
fn acl_file_loads_saves_and_rolls_back() {
    for io in common::backends() {
        let file = tmp_file(
            &format!("users-{io}.acl"),
            "user alice on >pw ~a* +@all\nuser default on nopass ~* &* +@all\n",
        );
        let server = common::rizzler(io, &["--aclfile", file.to_str().unwrap()]);
        let mut c = server.conn();
        assert_eq!(
            c.line("CONFIG GET aclfile"),
            format!(
                "*2\r\n$7\r\naclfile\r\n${}\r\n{}\r\n",
                file.to_str().unwrap().len(),
                file.display()
            )
            .into_bytes()
        );
        assert_eq!(
            c.line("ACL USERS"),
            b"*2\r\n$5\r\nalice\r\n$7\r\ndefault\r\n"
        );
        let mut alice = server.conn();
        assert_eq!(alice.line("AUTH alice pw"), b"+OK\r\n");
        assert_eq!(alice.line("SET a1 v"), b"+OK\r\n");
        assert_eq!(
            alice.line("SET b1 v"),
            b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
        );

        // SAVE writes what LIST shows.
        assert_eq!(c.line("ACL SETUSER bob on >x +get"), b"+OK\r\n");
        assert_eq!(c.line("ACL SAVE"), b"+OK\r\n");
        let saved = std::fs::read_to_string(&file).unwrap();
        assert!(saved.starts_with("user alice on #"), "{saved}");
        assert!(saved.contains("\nuser bob on #"), "{saved}");
        assert!(
            saved.ends_with("user default on nopass ~* &* +@all\n"),
            "{saved}"
        );

        // A bad file changes nothing and says why.
        std::fs::write(&file, "user carol on +nosuch\nnot a user line\n").unwrap();
        let reply = String::from_utf8(c.line("ACL LOAD")).unwrap();
        let label = file.display();
        assert_eq!(
            reply,
            format!("-ERR {label}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. {label}:2 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n")
        );
        assert_eq!(alice.line("ACL WHOAMI"), b"$5\r\nalice\r\n");

        // A good one replaces every user: alice's connection is closed,
        // default's keeps going with default's new rules.
        std::fs::write(
            &file,
            "user alice on >pw2 ~* +@all\nuser default on nopass ~* &* -@all +ping +acl\n",
        )
        .unwrap();
        assert_eq!(c.line("ACL LOAD"), b"+OK\r\n");
        assert!(closed(&mut alice), "alice's client is closed by ACL LOAD");
        assert_eq!(
            c.line("GET x"),
            b"-NOPERM this user has no permissions to run the 'get' command\r\n"
        );
        assert_eq!(c.line("PING"), b"+PONG\r\n");
        let mut again = server.conn();
        assert_eq!(
            again.line("AUTH alice pw"),
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        assert_eq!(again.line("AUTH alice pw2"), b"+OK\r\n");
        let _ = std::fs::remove_file(&file);
    }
}

#[test]
fn load_and_save_need_an_acl_file() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = server.conn();
        for cmd in ["ACL LOAD", "ACL SAVE"] {
            let reply = String::from_utf8(c.line(cmd)).unwrap();
            assert!(
                reply.starts_with("-ERR This Redis instance is not configured to use an ACL file."),
                "{reply}"
            );
        }
    }
}

#[test]
fn user_directives_apply_at_start_and_conflict_with_aclfile() {
    for io in common::backends() {
        let conf = tmp_file(
            &format!("users-{io}.conf"),
            "user alice on >pw ~* +@all\nuser default off\n",
        );
        let server = common::rizzler_with_file(io, &conf, &[]);
        let mut c = server.conn();
        assert_eq!(c.line("PING"), b"-NOAUTH Authentication required.\r\n");
        assert_eq!(c.line("AUTH alice pw"), b"+OK\r\n");
        assert_eq!(c.line("ACL WHOAMI"), b"$5\r\nalice\r\n");
        assert_eq!(
            c.line("AUTH default x"),
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        drop(server);

        // With an aclfile too, the server refuses to start.
        let port = common::free_port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rizzler"));
        cmd.arg(&conf)
            .args(common::listen_args(io, port))
            .args(["--aclfile", "/nonexistent/users.acl"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let out = cmd.output().expect("run rizzler");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("please define either an ACL file or declare users directly in your redis.conf, but not both"), "{err}");

        // A bad rule stops start-up with Redis's message.
        let bad = tmp_file(&format!("bad-{io}.conf"), "user alice on bogus\n");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rizzler"))
            .arg(&bad)
            .args(["--port", &port.to_string(), "--io", io])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run rizzler");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Error in user declaration 'bogus': Syntax error"),
            "{err}"
        );
        let _ = std::fs::remove_file(&conf);
        let _ = std::fs::remove_file(&bad);
    }
}

#[test]
fn deleting_or_changing_a_user_affects_its_clients() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut admin = server.conn();
        assert_eq!(
            admin.line("ACL SETUSER sub on >pw ~* &news* +@all"),
            b"+OK\r\n"
        );
        let mut s1 = server.conn();
        assert_eq!(s1.line("AUTH sub pw"), b"+OK\r\n");
        s1.send(&[b"SUBSCRIBE", b"news1"]);
        assert_eq!(
            s1.read_reply(),
            b"*3\r\n$9\r\nsubscribe\r\n$5\r\nnews1\r\n:1\r\n"
        );
        let mut plain = server.conn();
        assert_eq!(plain.line("AUTH sub pw"), b"+OK\r\n");
        let list = String::from_utf8(admin.line("CLIENT LIST")).unwrap();
        assert_eq!(list.matches(" user=sub ").count(), 2, "{list}");
        // Taking the channel away closes the subscriber only.
        assert_eq!(
            admin.line("ACL SETUSER sub resetchannels &other"),
            b"+OK\r\n"
        );
        assert!(closed(&mut s1), "the subscriber is closed");
        assert_eq!(plain.line("PING"), b"+PONG\r\n");
        assert_eq!(
            plain.line("PUBLISH news1 x"),
            b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
        );
        // CLIENT KILL USER, then DELUSER closes what is left.
        let mut other = server.conn();
        assert_eq!(other.line("AUTH sub pw"), b"+OK\r\n");
        assert_eq!(admin.line("CLIENT KILL USER sub SKIPME yes"), b":2\r\n");
        assert!(closed(&mut other));
        let mut last = server.conn();
        assert_eq!(last.line("AUTH sub pw"), b"+OK\r\n");
        assert_eq!(admin.line("ACL DELUSER sub"), b":1\r\n");
        assert!(closed(&mut last), "DELUSER closes the user's clients");
        // A client deleting its own user gets the reply, then the close.
        assert_eq!(admin.line("ACL SETUSER me on >pw ~* &* +@all"), b"+OK\r\n");
        let mut me = server.conn();
        assert_eq!(me.line("AUTH me pw"), b"+OK\r\n");
        me.send(&[b"ACL", b"DELUSER", b"me"]);
        let (got, closed) = me.read_until_close(Duration::from_millis(500));
        assert_eq!(got, b":1\r\n");
        assert!(closed);
    }
}

#[test]
fn unauthenticated_requests_are_small() {
    for io in common::backends() {
        let server = common::rizzler(io, &["--requirepass", "pw"]);
        let mut c = server.conn();
        let mut big = b"*11\r\n".to_vec();
        for _ in 0..11 {
            big.extend_from_slice(b"$4\r\nPING\r\n");
        }
        c.send_raw(&big);
        let (got, closed) = c.read_until_close(Duration::from_millis(500));
        assert_eq!(
            got,
            b"-ERR Protocol error: unauthenticated multibulk length\r\n"
        );
        assert!(closed);
        let mut c = server.conn();
        c.send_raw(b"*2\r\n$4\r\nECHO\r\n$16385\r\n");
        let (got, closed) = c.read_until_close(Duration::from_millis(500));
        assert_eq!(got, b"-ERR Protocol error: unauthenticated bulk length\r\n");
        assert!(closed);
        // Once logged in, the limits are gone.
        let mut c = server.conn();
        assert_eq!(c.line("AUTH pw"), b"+OK\r\n");
        let value = vec![b'x'; 20000];
        let reply = c.cmd(&[b"ECHO", &value]);
        assert_eq!(reply.len(), 20000 + 10);
        let mut args: Vec<&[u8]> = vec![b"MSET"];
        for _ in 0..10 {
            args.extend_from_slice(&[b"k", b"v"]);
        }
        assert_eq!(c.cmd(&args), b"+OK\r\n");
        // CONFIG SET requirepass "" opens the door for everyone.
        assert_eq!(c.line("CONFIG SET requirepass \"\""), b"+OK\r\n");
        let mut fresh = server.conn();
        assert_eq!(fresh.cmd(&[b"ECHO", &value]).len(), 20000 + 10);
    }
}

#[test]
fn acl_log_counts_and_trims() {
    for io in common::backends() {
        let server = common::rizzler(io, &["--acllog-max-len", "2"]);
        let mut c = server.conn();
        for _ in 0..3 {
            assert_eq!(
                c.line("AUTH nobody x"),
                b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
            );
        }
        let log = c.line("ACL LOG");
        let entries = common::elements(&log);
        assert_eq!(entries.len(), 1);
        let fields = common::elements(&entries[0]);
        assert_eq!(fields[0], b"$5\r\ncount\r\n");
        assert_eq!(fields[1], b":3\r\n");
        assert_eq!(fields[3], b"$4\r\nauth\r\n");
        assert_eq!(fields[7], b"$4\r\nAUTH\r\n");
        assert_eq!(fields[9], b"$6\r\nnobody\r\n");
        let info = String::from_utf8_lossy(&fields[13]).into_owned();
        assert!(info.contains(" cmd=auth user=default "), "{info}");
        for who in ["a", "b", "c"] {
            c.line(&format!("AUTH {who} x"));
        }
        assert_eq!(common::elements(&c.line("ACL LOG")).len(), 2);
        assert_eq!(
            c.line("CONFIG GET acllog-max-len"),
            b"*2\r\n$14\r\nacllog-max-len\r\n$1\r\n2\r\n"
        );
        assert_eq!(c.line("ACL LOG RESET"), b"+OK\r\n");
        assert_eq!(c.line("ACL LOG"), b"*0\r\n");
        // GENPASS: 256 bits by default, hex.
        let pass = c.line("ACL GENPASS");
        assert!(pass.starts_with(b"$64\r\n"));
        assert_eq!(c.line("ACL GENPASS 5").len(), b"$2\r\nxx\r\n".len());
    }
}

/// A command a script may not run is logged with the `lua` context (and
/// one queued in MULTI with `multi`), as Redis logs them.
#[test]
fn acl_log_names_where_the_command_ran() {
    let contexts = |port: u16| {
        let mut c = common::Conn::open(port);
        c.line("ACL SETUSER scripter on nopass ~* +@all -get");
        c.line("AUTH scripter x");
        c.line("EVAL \"return redis.pcall('GET', 'k')\" 0");
        c.line("MULTI");
        c.line("GET k");
        c.line("DISCARD");
        c.line("GET k");
        let log = c.line("ACL LOG");
        common::elements(&log)
            .iter()
            .map(|entry| {
                let fields = common::elements(entry);
                let at = fields.iter().position(|f| f == b"$7\r\ncontext\r\n");
                at.map(|i| common::show(&fields[i + 1])).unwrap_or_default()
            })
            .collect::<Vec<_>>()
    };
    let redis = common::redis_server();
    let expected = contexts(redis.port);
    assert_eq!(expected.len(), 3, "{expected:?}");
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        assert_eq!(contexts(server.port), expected, "{io}");
    }
}
