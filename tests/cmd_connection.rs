//! Connection commands, without sockets: PING ECHO HELLO AUTH RESET SELECT
//! QUIT and CLIENT, including what needs more than one client (LIST, KILL).

use rizzler::config::Config;
use rizzler::net::session::{Session, Status};
use rizzler::testing::Harness;

/// A second client on the harness's server, driven by its own session.
struct Other {
    session: Session,
}

impl Other {
    fn connect(h: &mut Harness, addr: &str) -> Other {
        let key = h
            .server
            .state
            .add_client(addr.into(), "127.0.0.1:6379".into(), 9);
        Other {
            session: Session::new(key, 1 << 20),
        }
    }

    fn run(&mut self, h: &mut Harness, args: &[&str]) -> (String, Status) {
        let mut input = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            input.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        let (_, status) = self.session.process(&mut h.server, &input);
        let out = match h.server.state.clients.get_mut(self.session.client) {
            Some(c) => c.out.take_bytes(),
            None => Vec::new(),
        };
        (String::from_utf8_lossy(&out).into_owned(), status)
    }

    fn id(&self, h: &Harness) -> u64 {
        h.server.state.clients[self.session.client].id
    }
}

fn my_id(h: &Harness) -> u64 {
    h.server.state.clients[h.session.client].id
}

/// The `field=value` pairs of one CLIENT LIST line.
fn fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The text of a bulk (or verbatim) reply.
fn bulk_text(reply: &str) -> String {
    let body = reply.split_once("\r\n").map(|x| x.1).unwrap_or("");
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

#[test]
fn ping_and_echo() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["PING"]), "+PONG\r\n");
    assert_eq!(h.text(&["PING", "hi"]), "$2\r\nhi\r\n");
    assert_eq!(
        h.text(&["PING", "a", "b"]),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    assert_eq!(h.text(&["ECHO", ""]), "$0\r\n\r\n");
    assert_eq!(
        h.text(&["ECHO"]),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
}

#[test]
fn hello_switches_protocol_and_back() {
    let mut h = Harness::new();
    let id = my_id(&h);
    let reply = h.text(&["HELLO", "3"]);
    let expected = format!(
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
         $5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    );
    assert_eq!(reply, expected);
    assert_eq!(h.text(&["GET", "missing"]), "_\r\n");
    assert_eq!(h.text(&["CLIENT", "GETNAME"]), "_\r\n");
    // HELLO with no version reports without switching.
    assert!(h.text(&["HELLO"]).contains("proto\r\n:3\r\n"));
    let back = h.text(&["HELLO", "2"]);
    assert!(back.starts_with("*14\r\n"), "{back}");
    assert!(back.contains("proto\r\n:2\r\n"));
    assert_eq!(h.text(&["GET", "missing"]), "$-1\r\n");
}

#[test]
fn hello_errors_leave_the_protocol_alone() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        h.text(&["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        h.text(&["HELLO", "3", "SETNAME"]),
        "-ERR Syntax error in HELLO option 'SETNAME'\r\n"
    );
    assert_eq!(
        h.text(&["HELLO", "3", "AUTH", "default", "x", "bogus"]),
        "-ERR Syntax error in HELLO option 'bogus'\r\n"
    );
    assert_eq!(h.text(&["GET", "missing"]), "$-1\r\n");
    // An option read before the bad one has taken effect, as in Redis.
    assert_eq!(
        h.text(&["HELLO", "2", "SETNAME", "early", "oops"]),
        "-ERR Syntax error in HELLO option 'oops'\r\n"
    );
    assert_eq!(h.text(&["CLIENT", "GETNAME"]), "$5\r\nearly\r\n");
    assert_eq!(
        h.text(&["HELLO", "2", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
}

fn with_password(pass: &str) -> Harness {
    let config = Config {
        requirepass: pass.into(),
        ..Config::default()
    };
    Harness::with_config(config)
}

#[test]
fn requirepass_gates_everything_but_the_handshake() {
    let mut h = with_password("s3cret");
    assert_eq!(h.text(&["PING"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        h.text(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    // Unknown commands and arity are checked first, as in Redis.
    assert!(h.text(&["NOPE"]).starts_with("-ERR unknown command 'NOPE'"));
    assert_eq!(
        h.text(&["HELLO", "3"]),
        "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
    );
    assert_eq!(
        h.text(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        h.text(&["AUTH", "someone", "s3cret"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(h.text(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(h.text(&["PING"]), "+PONG\r\n");
    // RESET logs the connection out again.
    assert_eq!(h.text(&["RESET"]), "+RESET\r\n");
    assert_eq!(h.text(&["PING"]), "-NOAUTH Authentication required.\r\n");
    // HELLO AUTH logs in and switches protocol in one go.
    assert_eq!(
        h.text(&["HELLO", "3", "AUTH", "default", "nope"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert!(h
        .text(&["HELLO", "3", "AUTH", "default", "s3cret"])
        .starts_with("%7\r\n"));
    assert_eq!(h.text(&["PING"]), "+PONG\r\n");
    assert_eq!(h.text(&["AUTH", "default", "s3cret"]), "+OK\r\n");
}

#[test]
fn auth_without_a_password() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(h.text(&["AUTH", "default", "anything"]), "+OK\r\n");
    assert_eq!(
        h.text(&["AUTH", "Default", "anything"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(h.text(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
}

#[test]
fn select_and_reset() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(h.text(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(h.text(&["DBSIZE"]), ":1\r\n");
    assert_eq!(
        h.text(&["SELECT", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        h.text(&["SELECT", "-1"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        h.text(&["SELECT", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        h.text(&["SELECT", "2147483648"]),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(h.server.state.clients[h.session.client].db, 3);
    h.text(&["HELLO", "3"]);
    h.text(&["CLIENT", "SETNAME", "n"]);
    assert_eq!(h.text(&["RESET"]), "+RESET\r\n");
    assert_eq!(h.text(&["DBSIZE"]), ":0\r\n");
    assert_eq!(h.text(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(h.text(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn quit_answers_then_closes() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["QUIT"]), "+OK\r\n");
    assert!(h.closed);
}

#[test]
fn client_names_and_ids() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["CLIENT", "ID"]), format!(":{}\r\n", my_id(&h)));
    assert_eq!(h.text(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(h.text(&["CLIENT", "SETNAME", "worker-1"]), "+OK\r\n");
    assert_eq!(h.text(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    for bad in ["a b", "a\nb", "\u{e9}", "\u{7f}"] {
        assert_eq!(
            h.text(&["CLIENT", "SETNAME", bad]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
    }
    assert_eq!(h.text(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(h.text(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(
        h.text(&["CLIENT", "NOPE"]),
        "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "ID", "x"]),
        "-ERR wrong number of arguments for 'client|id' command\r\n"
    );
}

/// CLIENT LIST's fields, in Redis 7.0's order plus 7.2's lib-name/lib-ver.
const LIST_FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
];

#[test]
fn client_info_has_redis_fields_in_order() {
    let mut h = Harness::new();
    h.text(&["CLIENT", "SETNAME", "me"]);
    h.text(&["SELECT", "2"]);
    h.text(&["HELLO", "3"]);
    let reply = h.text(&["CLIENT", "INFO"]);
    assert!(reply.starts_with('='), "verbatim in RESP3: {reply}");
    let text = bulk_text(&reply);
    assert!(
        text.ends_with('\n') && text.lines().count() == 1,
        "{text:?}"
    );
    let f = fields(text.trim_end());
    let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, LIST_FIELDS);
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("id"), my_id(&h).to_string());
    assert_eq!(get("addr"), "127.0.0.1:1");
    assert_eq!(get("name"), "me");
    assert_eq!(get("db"), "2");
    assert_eq!(get("resp"), "3");
    assert_eq!(get("flags"), "N");
    assert_eq!(get("cmd"), "client|info");
    assert_eq!(get("user"), "default");
    h.text(&["CLIENT", "NO-EVICT", "on"]);
    h.text(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]);
    h.text(&["CLIENT", "SETINFO", "lib-ver", "5.0.1"]);
    h.text(&["HELLO", "2"]);
    let text = bulk_text(&h.text(&["CLIENT", "INFO"]));
    let f = fields(text.trim_end());
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("flags"), "e");
    assert_eq!(get("resp"), "2");
    assert_eq!(get("lib-name"), "redis-py");
    assert_eq!(get("lib-ver"), "5.0.1");
}

#[test]
fn client_setinfo_errors() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["CLIENT", "SETINFO", "lib-foo", "x"]),
        "-ERR Unrecognized option 'lib-foo'\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "SETINFO", "LIB-NAME", "a b"]),
        "-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "SETINFO", "lib-name"]),
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n"
    );
}

#[test]
fn client_list_shows_every_client_with_filters() {
    let mut h = Harness::new();
    let mut other = Other::connect(&mut h, "10.0.0.2:5555");
    other.run(&mut h, &["CLIENT", "SETNAME", "other"]);
    other.run(&mut h, &["SELECT", "4"]);
    let text = bulk_text(&h.text(&["CLIENT", "LIST"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(&format!("id={} ", my_id(&h))));
    let theirs = fields(lines[1]);
    assert!(theirs.contains(&("name".into(), "other".into())));
    assert!(theirs.contains(&("db".into(), "4".into())));
    assert!(theirs.contains(&("addr".into(), "10.0.0.2:5555".into())));
    assert!(theirs.contains(&("cmd".into(), "select".into())));
    let one = bulk_text(&h.text(&["CLIENT", "LIST", "ID", &other.id(&h).to_string(), "99"]));
    assert_eq!(one.lines().count(), 1);
    assert!(one.contains("name=other"));
    assert_eq!(
        bulk_text(&h.text(&["CLIENT", "LIST", "TYPE", "normal"]))
            .lines()
            .count(),
        2
    );
    assert_eq!(h.text(&["CLIENT", "LIST", "TYPE", "pubsub"]), "$0\r\n\r\n");
    assert_eq!(
        h.text(&["CLIENT", "LIST", "TYPE", "bogus"]),
        "-ERR Unknown client type 'bogus'\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "LIST", "ID", "x"]),
        "-ERR Invalid client ID\r\n"
    );
    assert_eq!(h.text(&["CLIENT", "LIST", "ID"]), "-ERR syntax error\r\n");
}

#[test]
fn client_kill_by_id_closes_the_other_client() {
    let mut h = Harness::new();
    let mut other = Other::connect(&mut h, "10.0.0.2:5555");
    let id = other.id(&h).to_string();
    assert_eq!(h.text(&["CLIENT", "KILL", "ID", &id]), ":1\r\n");
    assert_eq!(
        h.server.state.requests,
        vec![rizzler::server::Request::Close(other.session.client)]
    );
    assert!(h.server.state.clients[other.session.client].closing);
    // The backend closes it; a killed client is no longer listed or killed.
    let (_, status) = other.run(&mut h, &["PING"]);
    assert_eq!(status, Status::Close);
    assert_eq!(h.text(&["CLIENT", "KILL", "ID", &id]), ":0\r\n");
    assert_eq!(bulk_text(&h.text(&["CLIENT", "LIST"])).lines().count(), 1);
    assert!(!h.closed);
}

#[test]
fn client_kill_filters() {
    let mut h = Harness::new();
    let _a = Other::connect(&mut h, "10.0.0.2:1");
    let _b = Other::connect(&mut h, "10.0.0.3:2");
    // The old form replies +OK or an error.
    assert_eq!(h.text(&["CLIENT", "KILL", "10.0.0.2:1"]), "+OK\r\n");
    assert_eq!(
        h.text(&["CLIENT", "KILL", "10.0.0.2:1"]),
        "-ERR No such client\r\n"
    );
    assert_eq!(h.text(&["CLIENT", "KILL", "ADDR", "10.0.0.9:9"]), ":0\r\n");
    assert_eq!(
        h.text(&["CLIENT", "KILL", "LADDR", "127.0.0.1:6379"]),
        ":1\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "KILL", "ID", "0"]),
        "-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "KILL", "TYPE", "x"]),
        "-ERR Unknown client type 'x'\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "KILL", "USER", "bob"]),
        "-ERR No such user 'bob'\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "KILL", "SKIPME", "maybe"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        h.text(&["CLIENT", "KILL", "ID", "1", "SKIPME"]),
        "-ERR syntax error\r\n"
    );
    assert!(!h.closed);
}

#[test]
fn client_kill_self_answers_then_closes() {
    let mut h = Harness::new();
    // SKIPME defaults to yes: the caller survives a TYPE normal kill.
    assert_eq!(h.text(&["CLIENT", "KILL", "TYPE", "normal"]), ":0\r\n");
    assert!(!h.closed);
    assert_eq!(
        h.text(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]),
        ":1\r\n"
    );
    assert!(h.closed);

    let mut h = Harness::new();
    // The old form may kill the caller.
    assert_eq!(h.text(&["CLIENT", "KILL", "127.0.0.1:1"]), "+OK\r\n");
    assert!(h.closed);
}

#[test]
fn client_no_evict() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["CLIENT", "NO-EVICT", "ON"]), "+OK\r\n");
    assert!(h.server.state.clients[h.session.client].no_evict);
    assert_eq!(h.text(&["CLIENT", "NO-EVICT", "off"]), "+OK\r\n");
    assert!(!h.server.state.clients[h.session.client].no_evict);
    assert_eq!(
        h.text(&["CLIENT", "NO-EVICT", "x"]),
        "-ERR syntax error\r\n"
    );
}

/// CLIENT HELP is Redis 7.0's text (tests/diff/tracking.redis compares
/// it byte for byte), and so lists every subcommand 7.0 has; 7.2's
/// SETINFO, served here too, is the one it leaves out.
#[test]
fn client_help_is_redis_7_0s() {
    let mut h = Harness::new();
    let help = h.text(&["CLIENT", "HELP"]);
    assert!(help.starts_with("*"));
    assert!(help.contains("+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"));
    for sub in [
        "CACHING",
        "GETREDIR",
        "GETNAME",
        "ID",
        "INFO",
        "KILL",
        "LIST",
        "UNPAUSE",
        "PAUSE",
        "REPLY",
        "SETNAME",
        "UNBLOCK",
        "TRACKING",
        "TRACKINGINFO",
        "NO-EVICT",
        "HELP",
    ] {
        assert!(help.contains(&format!("+{sub}")), "{sub}");
    }
    assert!(!help.contains("SETINFO"));
}
