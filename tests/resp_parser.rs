//! The request parser on its own: split points, limits, every protocol error.

use proptest::prelude::*;
use rizzler::resp::{encode_request, Parsed, Parser, ProtocolError, INLINE_MAX};

/// Parses every complete command in `input`, feeding it as the backends do:
/// the unconsumed tail plus whatever arrived since.
/// Commands, each a list of arguments.
type Commands = Vec<Vec<Vec<u8>>>;

fn parse_all(chunks: &[&[u8]]) -> Result<(Commands, usize), ProtocolError> {
    let mut parser = Parser::default();
    let mut buf = Vec::new();
    let mut commands = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Parsed::Command(n) = parser.parse(&buf)? {
            let args = parser.args(&buf);
            if !args.is_empty() {
                commands.push(args.iter().map(<[u8]>::to_vec).collect());
            }
            buf.drain(..n);
        }
    }
    Ok((commands, buf.len()))
}

fn cmd(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

const PIPELINE: &[u8] =
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nPING\r\n*1\r\n$4\r\nPING\r\n\
    GET \"a b\" 'c d'\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";

fn pipeline_commands() -> Commands {
    vec![
        cmd(&["SET", "k", "hello"]),
        cmd(&["PING"]),
        cmd(&["PING"]),
        cmd(&["GET", "a b", "c d"]),
        cmd(&["ECHO", ""]),
    ]
}

#[test]
fn whole_pipeline_in_one_read() {
    assert_eq!(parse_all(&[PIPELINE]), Ok((pipeline_commands(), 0)));
}

#[test]
fn every_split_point_gives_the_same_commands() {
    for i in 0..=PIPELINE.len() {
        let (a, b) = PIPELINE.split_at(i);
        assert_eq!(
            parse_all(&[a, b]),
            Ok((pipeline_commands(), 0)),
            "split at {i}"
        );
    }
}

#[test]
fn every_pair_of_split_points_gives_the_same_commands() {
    for i in 0..=PIPELINE.len() {
        for j in i..=PIPELINE.len() {
            let chunks = [&PIPELINE[..i], &PIPELINE[i..j], &PIPELINE[j..]];
            assert_eq!(
                parse_all(&chunks),
                Ok((pipeline_commands(), 0)),
                "split at {i}, {j}"
            );
        }
    }
}

#[test]
fn one_byte_at_a_time() {
    let chunks: Vec<&[u8]> = PIPELINE.chunks(1).collect();
    assert_eq!(parse_all(&chunks), Ok((pipeline_commands(), 0)));
}

#[test]
fn incomplete_reports_what_a_bulk_needs() {
    let mut p = Parser::default();
    let input = b"*2\r\n$3\r\nGET\r\n$10\r\nabc";
    assert_eq!(
        p.parse(input),
        Ok(Parsed::Incomplete {
            need: Some(input.len() - 3 + 12)
        })
    );
}

#[test]
fn arguments_borrow_the_input() {
    let mut p = Parser::default();
    let input = encode_request(&[b"SET", b"key", b"value"]);
    assert_eq!(p.parse(&input), Ok(Parsed::Command(input.len())));
    let args = p.args(&input);
    let range = input.as_ptr_range();
    for a in args.iter() {
        assert!(range.contains(&a.as_ptr()), "argument was copied");
    }
}

#[test]
fn empty_requests_are_skipped() {
    assert_eq!(
        parse_all(&[b"*0\r\n*-1\r\n\r\n   \r\n\n*1\r\n$4\r\nPING\r\n"]),
        Ok((vec![cmd(&["PING"])], 0))
    );
}

#[test]
fn inline_quoting_and_escapes() {
    let (cmds, _) = parse_all(&[b"SET k \"a\\x41\\n\\\"\" 'it\\'s'\n"]).expect("parses");
    assert_eq!(
        cmds,
        vec![vec![
            b"SET".to_vec(),
            b"k".to_vec(),
            b"aA\n\"".to_vec(),
            b"it's".to_vec()
        ]]
    );
    let (cmds, _) = parse_all(&[b"a\tb  c\r\n"]).expect("parses");
    assert_eq!(cmds, vec![cmd(&["a", "b", "c"])]);
}

#[test]
fn redis_skips_the_two_bytes_after_a_bulk_unchecked() {
    assert_eq!(
        parse_all(&[b"*1\r\n$4\r\nPINGxx"]),
        Ok((vec![cmd(&["PING"])], 0))
    );
}

#[test]
fn protocol_errors() {
    let cases: &[(&[u8], ProtocolError)] = &[
        (b"*abc\r\n", ProtocolError::InvalidMultibulkLength),
        (b"*2147483648\r\n", ProtocolError::InvalidMultibulkLength),
        (b"*1\r\nfoo\r\n", ProtocolError::ExpectedDollar(b'f')),
        (b"*1\r\n$-1\r\n", ProtocolError::InvalidBulkLength),
        (b"*1\r\n$abc\r\n", ProtocolError::InvalidBulkLength),
        (b"*1\r\n$536870913\r\n", ProtocolError::InvalidBulkLength),
        (b"GET \"abc\r\n", ProtocolError::UnbalancedQuotes),
        (b"GET \"abc\"x\r\n", ProtocolError::UnbalancedQuotes),
        (b"GET 'abc\r\n", ProtocolError::UnbalancedQuotes),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse_all(&[input]),
            Err(*want),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn limits() {
    // Largest allowed bulk header is accepted (and waits for its body).
    let mut p = Parser::default();
    assert!(matches!(
        p.parse(b"*1\r\n$536870912\r\n"),
        Ok(Parsed::Incomplete { .. })
    ));
    // Header lines and inline requests longer than 64 KiB are refused.
    let long = vec![b'a'; INLINE_MAX + 1];
    assert_eq!(parse_all(&[&long]), Err(ProtocolError::TooBigInline));
    let mut mbulk = b"*".to_vec();
    mbulk.extend(std::iter::repeat_n(b'1', INLINE_MAX + 1));
    assert_eq!(parse_all(&[&mbulk]), Err(ProtocolError::TooBigMbulkCount));
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', INLINE_MAX + 1));
    assert_eq!(parse_all(&[&bulk]), Err(ProtocolError::TooBigBulkCount));
    // Exactly at the limit is still only incomplete.
    let at_limit = vec![b'a'; INLINE_MAX];
    assert_eq!(parse_all(&[&at_limit]), Ok((vec![], INLINE_MAX)));
    // A configured max bulk length is honoured.
    let mut p = Parser::new(10);
    assert_eq!(
        p.parse(b"*1\r\n$11\r\n"),
        Err(ProtocolError::InvalidBulkLength)
    );
}

#[test]
fn a_huge_count_does_not_allocate_up_front() {
    let mut p = Parser::default();
    assert!(matches!(
        p.parse(b"*2147483647\r\n"),
        Ok(Parsed::Incomplete { .. })
    ));
}

#[test]
fn error_texts_are_redis_texts() {
    let text = |e: ProtocolError| String::from_utf8(e.message()).expect("utf8");
    assert_eq!(
        text(ProtocolError::InvalidMultibulkLength),
        "ERR Protocol error: invalid multibulk length"
    );
    assert_eq!(
        text(ProtocolError::ExpectedDollar(b'x')),
        "ERR Protocol error: expected '$', got 'x'"
    );
    assert_eq!(
        text(ProtocolError::InvalidBulkLength),
        "ERR Protocol error: invalid bulk length"
    );
    assert_eq!(
        text(ProtocolError::UnbalancedQuotes),
        "ERR Protocol error: unbalanced quotes in request"
    );
    assert_eq!(
        text(ProtocolError::TooBigInline),
        "ERR Protocol error: too big inline request"
    );
}

proptest! {
    /// Any sequence of commands, encoded and cut anywhere, parses back.
    #[test]
    fn roundtrip_with_random_splits(
        commands in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6), 1..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut input = Vec::new();
        for c in &commands {
            let refs: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
            input.extend(encode_request(&refs));
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        points.sort();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&input[last..p]);
            last = p;
        }
        chunks.push(&input[last..]);
        prop_assert_eq!(parse_all(&chunks), Ok((commands, 0)));
    }

    /// Arbitrary bytes never panic, and an answer is always in bounds.
    #[test]
    fn arbitrary_input_never_panics(input in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut p = Parser::default();
        if let Ok(Parsed::Command(n)) = p.parse(&input) {
            prop_assert!(n <= input.len());
            let _ = p.args(&input).iter().count();
        }
    }
}

/// Found by the fuzzer: a NUL in an inline request made the splitter loop
/// forever, pushing empty arguments until memory ran out. Redis finds line
/// ends with `strchr`, so a NUL before the newline means "no line yet".
#[test]
fn nul_bytes_end_lines_as_in_c() {
    let mut p = Parser::default();
    assert_eq!(p.parse(b"\x00\n"), Ok(Parsed::Incomplete { need: None }));
    assert_eq!(
        p.parse(b"PING\x00\r\n"),
        Ok(Parsed::Incomplete { need: None })
    );
    assert_eq!(
        p.parse(b"*1\x00\r\n"),
        Ok(Parsed::Incomplete { need: None })
    );
    let mut big = b"PING\x00".to_vec();
    big.resize(INLINE_MAX + 10, b'\n');
    assert_eq!(p.parse(&big), Err(ProtocolError::TooBigInline));
    let (mut out, mut spans) = (Vec::new(), Vec::new());
    assert_eq!(
        rizzler::resp::split_args(b"a b\x00c d", &mut out, &mut spans),
        Ok(())
    );
    assert_eq!(spans.len(), 2);
    assert_eq!(
        rizzler::resp::split_args(b"\"a\x00\"", &mut out, &mut spans),
        Err(ProtocolError::UnbalancedQuotes)
    );
}
