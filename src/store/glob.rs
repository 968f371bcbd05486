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
