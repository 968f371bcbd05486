//! Redis's glob syntax (`stringmatchlen`): `*`, `?`, `[a-z]`, `[^x]` and `\`
//! escapes, optionally case-insensitive.
//!
//! Redis matches `*` by recursion, which made patterns such as
//! `a*a*a*…b` exponential (CVE-2022-36021) and deep ones a stack risk
//! (CVE-2024-31228). This matcher is iterative: on a mismatch it only ever
//! returns to the most recent `*`, which is enough for globs because every
//! other token matches exactly one byte. Time is O(pattern × subject) at
//! worst, memory constant, with no recursion at all.

/// True when `subject` matches `pattern`.
pub fn glob_match(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    // Redis's matcher loops while both pattern and subject remain, so the
    // empty string matches only the empty pattern: `KEYS **` skips a key
    // named "", and only the `*` shortcut in KEYS and SCAN returns it.
    if subject.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut s) = (0, 0);
    // Where to resume after the last `*`: pattern after it, subject position.
    let mut star: Option<(usize, usize)> = None;
    while s < subject.len() {
        if p < pattern.len() {
            if pattern[p] == b'*' {
                while p < pattern.len() && pattern[p] == b'*' {
                    p += 1;
                }
                if p == pattern.len() {
                    return true;
                }
                star = Some((p, s));
                continue;
            }
            if let Some(next) = match_one(pattern, p, subject[s], nocase) {
                p = next;
                s += 1;
                continue;
            }
        }
        match star {
            Some((sp, ss)) => {
                p = sp;
                s = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Matches the single-byte token at `pattern[p]` against `c`; on success,
/// the position after the token.
fn match_one(pattern: &[u8], mut p: usize, c: u8, nocase: bool) -> Option<usize> {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    match pattern[p] {
        b'?' => Some(p + 1),
        b'\\' if p + 1 < pattern.len() => eq(pattern[p + 1], c).then_some(p + 2),
        b'[' => {
            p += 1;
            let negate = pattern.get(p) == Some(&b'^');
            if negate {
                p += 1;
            }
            let mut matched = false;
            loop {
                match pattern.get(p) {
                    // An unclosed class runs to the end of the pattern.
                    None => break,
                    Some(b']') => {
                        p += 1;
                        break;
                    }
                    Some(b'\\') if p + 1 < pattern.len() => {
                        p += 1;
                        matched |= pattern[p] == c;
                    }
                    Some(&lo) if p + 2 < pattern.len() && pattern[p + 1] == b'-' => {
                        let hi = pattern[p + 2];
                        let (mut lo, mut hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                        let mut c = c;
                        if nocase {
                            lo = lo.to_ascii_lowercase();
                            hi = hi.to_ascii_lowercase();
                            c = c.to_ascii_lowercase();
                        }
                        matched |= lo <= c && c <= hi;
                        p += 2;
                    }
                    Some(&x) => matched |= eq(x, c),
                }
                p += 1;
            }
            (matched != negate).then_some(p)
        }
        x => eq(x, c).then_some(p + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;
    use std::time::{Duration, Instant};

    fn m(pattern: &str, subject: &str) -> bool {
        glob_match(pattern.as_bytes(), subject.as_bytes(), false)
    }

    #[test]
    fn literals_stars_and_question_marks() {
        assert!(m("foo", "foo"));
        assert!(!m("foo", "fo"));
        assert!(!m("foo", "fooo"));
        assert!(m("f*", "foo"));
        assert!(m("*o", "foo"));
        assert!(m("f*o", "fo"));
        assert!(!m("f*x", "foo"));
        assert!(m("*", "x"));
        assert!(m("a**b", "ab"));
        assert!(m("f?o", "foo"));
        assert!(!m("f?o", "fo"));
        assert!(m("???", "abc"));
        assert!(!m("???", "ab"));
        assert!(m("*?*", "a"));
        // Case matters unless nocase.
        assert!(!m("FOO", "foo"));
        assert!(glob_match(b"FOO", b"foo", true));
    }

    #[test]
    fn empty_subject_matches_only_empty_pattern() {
        // As Redis's stringmatchlen: `KEYS **` does not list the key "".
        assert!(m("", ""));
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn classes_ranges_and_negation() {
        assert!(m("[abc]", "b"));
        assert!(!m("[abc]", "d"));
        assert!(m("h[a-z]llo", "hello"));
        assert!(!m("h[a-z]llo", "hEllo"));
        assert!(glob_match(b"h[a-z]llo", b"hEllo", true));
        // A reversed range is the same range.
        assert!(m("[z-a]", "m"));
        assert!(m("[^x]", "y"));
        assert!(!m("[^x]", "x"));
        assert!(!m("[^a-c]", "b"));
        assert!(m("[^a-c]", "d"));
        // `]` first closes an empty class, which matches nothing.
        assert!(!m("[]a", "a"));
        // An unclosed class runs to the end of the pattern.
        assert!(m("[ab", "b"));
        assert!(!m("[", "a"));
        assert!(m("[^", "a"));
        // `-` right before the end of the pattern is a range to `]`
        // (here `]`..=`a`, reversed), and the class is then unclosed.
        assert!(m("[a-]", "_"));
        assert!(m("[a-]", "]"));
        assert!(!m("[a-]", "b"));
    }

    #[test]
    fn backslash_escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?", "?"));
        assert!(!m("\\?", "x"));
        assert!(m("a\\[b", "a[b"));
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(!m("[\\-]", "a"));
        // A trailing backslash is a literal backslash.
        assert!(m("a\\", "a\\"));
        assert!(m("\\", "\\"));
        assert!(m("[\\", "\\"));
    }

    /// CVE-2022-36021: `a*a*…*b` against a long run of `a`s made Redis's
    /// recursive matcher exponential. This one is linear per star.
    #[test]
    fn many_stars_against_a_long_subject_is_fast() {
        let pattern = format!("{}b", "a*".repeat(200));
        let subject = "a".repeat(20_000);
        let start = Instant::now();
        assert!(!m(&pattern, &subject));
        assert!(!m(&"*a".repeat(5000), &"b".repeat(20_000)));
        assert!(m(&format!("{}a", "*a".repeat(100)), &subject));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
    }

    /// CVE-2024-31228: very long patterns made the recursion deep. There is
    /// no recursion here, so a megabyte of stars and classes is fine.
    #[test]
    fn huge_patterns_do_not_recurse() {
        let pattern = "*[a-z]?".repeat(150_000);
        let subject = "x".repeat(10_000);
        let start = Instant::now();
        assert!(!m(&pattern, &subject));
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
