//! ACL rules and ACL files on arbitrary bytes. The first byte picks the
//! input: an ACL file, or rules for one user (split on spaces, as ACL
//! SETUSER gets them). Neither may panic. A user the rules build must
//! describe itself in rules that build the same user again (what ACL SAVE
//! then ACL LOAD do), whenever its rules are plain printable words, and
//! checking a command against it must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rizzler::acl::{parse_file, parse_rules, User};
use rizzler::resp::Args;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    if pick % 2 == 0 {
        let _ = parse_file(data, "fuzz.acl", pick & 2 != 0);
        return;
    }
    let rules: Vec<&[u8]> = data.split(|&c| c == b' ').collect();
    let Ok(user) = parse_rules(&User::new(b"u", false), &rules, false) else {
        return;
    };
    // A few commands with the input's words as arguments.
    for name in [&b"get"[..], b"set", b"publish", b"psubscribe", b"select", b"config"] {
        let Some(cmd) = rizzler::commands::find(name) else {
            continue;
        };
        let mut buf = name.to_vec();
        let mut spans = vec![0..name.len()];
        for w in rules.iter().take(4) {
            let start = buf.len();
            buf.extend_from_slice(w);
            spans.push(start..buf.len());
        }
        let row = if cmd.subcommands.is_empty() || spans.len() < 2 {
            cmd
        } else {
            match cmd.find_subcommand(&buf[spans[1].clone()]) {
                Some(sub) => sub,
                None => continue,
            }
        };
        let _ = user.check(row, &Args::new(&buf, &spans));
    }
    let plain = data
        .iter()
        .all(|&c| c == b' ' || (c.is_ascii_graphic() && !b"\"'\\()".contains(&c)));
    if plain {
        let mut line = user.list_line();
        line.push(b'\n');
        let users = parse_file(&line, "fuzz.acl", false).expect("a described user loads");
        let again = users.get(&b"u"[..]).expect("the user is there");
        assert_eq!(
            again.describe(),
            user.describe(),
            "{}",
            String::from_utf8_lossy(&line)
        );
    }
});
