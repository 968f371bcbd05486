//! DEBUG DIGEST and DEBUG DIGEST-VALUE: the dataset digest Redis 7.0
//! computes (`debug.c`), so that the same data gives the same 40 hex digits
//! on both servers, whatever the encodings and the iteration order.
//!
//! Two SHA1 combinators build it: `xor` folds in a part whose order does
//! not matter (set members, hash fields, keys), `mix` folds in a part whose
//! order does (list elements, the steps of one value): `digest =
//! SHA1(digest xor SHA1(data))`.

use sha1::{Digest as _, Sha1};

use super::{Db, Set, Value};
use crate::resp::{format_g17, format_int};

/// Twenty bytes of SHA1 state.
pub type Digest = [u8; 20];

fn xor(digest: &mut Digest, data: &[u8]) {
    let hash = Sha1::digest(data);
    for (d, h) in digest.iter_mut().zip(hash) {
        *d ^= h;
    }
}

fn mix(digest: &mut Digest, data: &[u8]) {
    xor(digest, data);
    *digest = Sha1::digest(&digest[..]).into();
}

/// Redis's object type numbers (`OBJ_STRING`, …), which the digest mixes
/// in first.
fn type_number(value: &Value) -> u32 {
    match value {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::Zset(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

/// Redis's `xorObjectDigest`: folds one value, and whether its key has a
/// TTL, into `digest`.
pub fn mix_value(digest: &mut Digest, value: &Value, has_ttl: bool) {
    mix(digest, &type_number(value).to_be_bytes());
    match value {
        Value::Str(s) => mix(digest, &s.data),
        Value::List(list) => list.iter().for_each(|e| mix(digest, e)),
        Value::Set(Set::Ints(ints)) => {
            for &n in ints {
                xor(digest, format_int(&mut [0; 20], n));
            }
        }
        Value::Set(Set::Table(table)) => table.iter().for_each(|m| xor(digest, m)),
        Value::Hash(hash) => {
            for (field, value) in hash.iter() {
                let mut pair = Digest::default();
                mix(&mut pair, field);
                mix(&mut pair, value);
                xor(digest, &pair);
            }
        }
        Value::Zset(zset) => {
            for item in zset.iter() {
                let mut pair = Digest::default();
                mix(&mut pair, &item.member);
                mix(&mut pair, format_g17(item.score).as_bytes());
                xor(digest, &pair);
            }
        }
        // Entries in order, groups left out, as Redis's digest does.
        Value::Stream(stream) => {
            let all = stream.range(super::StreamId::MIN, super::StreamId::MAX, false);
            for entry in all {
                let id = format!("{}.{}", entry.id.ms, entry.id.seq);
                mix(digest, id.as_bytes());
                for (field, value) in entry.fields() {
                    mix(digest, field);
                    mix(digest, value);
                }
            }
        }
    }
    if has_ttl {
        xor(digest, b"!!expire!!");
    }
}

/// Redis's `computeDatasetDigest`: every key of every database, logically
/// expired ones included (as Redis's dict still holds them); all zeros for
/// an empty dataset.
pub fn dataset(dbs: &[Db]) -> Digest {
    let mut total = Digest::default();
    for (index, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix(&mut total, &(index as u32).to_be_bytes());
        for entry in db.entries() {
            let mut one = Digest::default();
            mix(&mut one, &entry.key);
            mix_value(&mut one, &entry.value, entry.expire_at().is_some());
            xor(&mut total, &one);
        }
    }
    total
}

/// Lower-case hex, as DEBUG DIGEST prints it.
pub fn hex(digest: &Digest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_ordered_and_xor_is_not() {
        let (mut a, mut b) = (Digest::default(), Digest::default());
        mix(&mut a, b"x");
        mix(&mut a, b"y");
        mix(&mut b, b"y");
        mix(&mut b, b"x");
        assert_ne!(a, b);
        let (mut c, mut d) = (Digest::default(), Digest::default());
        xor(&mut c, b"x");
        xor(&mut c, b"y");
        xor(&mut d, b"y");
        xor(&mut d, b"x");
        assert_eq!(c, d);
    }

    #[test]
    fn empty_dataset_is_zero() {
        let dbs = vec![Db::default(), Db::default()];
        assert_eq!(hex(&dataset(&dbs)), "0".repeat(40));
    }
}
