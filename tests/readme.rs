//! The README's command table lists exactly the commands the server has:
//! every table row's names exist, and every command is listed.

use std::collections::BTreeSet;

/// `(command, subcommand)` pairs from the README table: `CONFIG (GET, SET)`
/// names two subcommands of CONFIG; a plain name has an empty subcommand.
fn readme_commands() -> BTreeSet<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme
        .split("## Supported commands")
        .nth(1)
        .expect("section")
        .split("\n## ")
        .next()
        .unwrap_or("");
    let mut out = BTreeSet::new();
    for line in section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.contains("| family"))
    {
        let Some(cell) = line.split('|').nth(2) else {
            continue;
        };
        let mut current = String::new();
        let mut in_subs = false;
        for token in cell.split_inclusive(['(', ')', ',', ' ']) {
            let word = token.trim_matches(|c: char| c == ',' || c == ' ' || c == '(' || c == ')');
            if !word.is_empty() {
                if in_subs {
                    out.insert((current.clone(), word.to_ascii_lowercase()));
                } else {
                    current = word.to_ascii_lowercase();
                    out.insert((current.clone(), String::new()));
                }
            }
            if token.ends_with('(') {
                in_subs = true;
            } else if token.ends_with(')') {
                in_subs = false;
            }
        }
    }
    out
}

#[test]
fn readme_table_matches_the_command_table() {
    let listed = readme_commands();
    let mut actual = BTreeSet::new();
    for cmd in rizzler::commands::all() {
        actual.insert((cmd.name.to_string(), String::new()));
        for sub in cmd.subcommands {
            actual.insert((cmd.name.to_string(), sub.name.to_string()));
        }
    }
    let missing: Vec<_> = actual.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&actual).collect();
    assert!(
        missing.is_empty(),
        "commands the README does not list: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "README lists commands the server lacks: {extra:?}"
    );
}
