//! HyperLogLog commands (Redis's `hyperloglog.c`). The representation and
//! its arithmetic live in [`crate::store::hll`]; these wrappers find the
//! string, check it is an HLL, change it in place and answer.

use super::flags::*;
use super::{is, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::store::hll::{self, Encoding};
use crate::store::{Bytes, Str, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("pfadd", -2, WRITE | DENYOOM | FAST, pfadd)
        .keys(1, 1, 1)
        .doc(
            "hyperloglog",
            "2.8.9",
            "Adds the specified elements to the specified HyperLogLog.",
        )
        .complexity("O(1) to add every element."),
    Command::new("pfcount", -2, READONLY | MAY_REPLICATE, pfcount)
        .keys(1, -1, 1)
        .doc(
            "hyperloglog",
            "2.8.9",
            "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
        )
        .complexity("O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys."),
    Command::new("pfmerge", -2, WRITE | DENYOOM, pfmerge)
        .keys(1, -1, 1)
        .doc(
            "hyperloglog",
            "2.8.9",
            "Merge N different HyperLogLogs into a single one.",
        )
        .complexity("O(N) to merge N HyperLogLogs, but with high constant times."),
    Command::new("pfdebug", 3, WRITE | DENYOOM | ADMIN, pfdebug)
        .keys(2, 2, 1)
        .doc(
            "hyperloglog",
            "2.8.9",
            "Internal commands for debugging HyperLogLog values",
        )
        .complexity("N/A"),
    Command::new("pfselftest", 1, ADMIN, pfselftest)
        .doc(
            "hyperloglog",
            "2.8.9",
            "An internal command for testing HyperLogLog values",
        )
        .complexity("N/A"),
];

/// Redis's `isHLLObjectOrReply`: the HLL's bytes, WRONGTYPE for another
/// type, and Redis's own WRONGTYPE text for a string that is no HLL.
fn hll_of(value: &Value) -> Result<&[u8], CmdError> {
    let bytes = super::as_str(value)?;
    match hll::encoding(bytes) {
        Some(_) => Ok(bytes),
        None => Err(CmdError::HllWrongType),
    }
}

/// The bytes of a string value to change in place. Redis unshares the
/// value first, which leaves its encoding `raw`.
fn bytes_mut(value: &mut Value) -> Result<&mut Vec<u8>, CmdError> {
    let Value::Str(s) = value else {
        return Err(CmdError::WrongType);
    };
    s.raw = true;
    Ok(s.data.vec_mut())
}

fn new_hll() -> Value {
    Value::Str(Str {
        data: Bytes::from(hll::new_sparse()),
        raw: true,
    })
}

fn pfadd(ctx: &mut Ctx, args: Args) -> CmdResult {
    let key = args.get(1);
    let max_bytes = ctx.state.config.hll_sparse_max_bytes;
    let (mut db, out) = ctx.db_out();
    if let Some(e) = db.entry(key) {
        hll_of(&e.value)?;
    }
    let mut value = db.modify_or_create(key, "pfadd", new_hll);
    // Creating the key counts as a change by itself.
    let mut updated = u64::from(value.created());
    let h = bytes_mut(&mut value)?;
    for ele in args.tail(2).iter() {
        // A corrupted HLL stops here, what was changed so far kept and
        // nothing propagated, as in Redis.
        if hll::add(h, ele, max_bytes).map_err(|_| CmdError::HllCorrupted)? {
            updated += 1;
        }
    }
    if updated > 0 {
        hll::invalidate(h);
        value.changed(updated);
    }
    drop(value);
    out.int(i64::from(updated > 0));
    Ok(())
}

fn pfcount(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.len() > 2 {
        // The union's estimate; nothing is stored.
        let mut max = vec![0u8; hll::REGISTERS];
        let mut db = ctx.db();
        for key in args.tail(1).iter() {
            if let Some(v) = db.read(key) {
                hll::merge_into(&mut max, hll_of(v)?).map_err(|_| CmdError::HllCorrupted)?;
            }
        }
        ctx.out().int(hll::count_raw(&max) as i64);
        return Ok(());
    }
    let key = args.get(1);
    let (mut db, out) = ctx.db_out();
    match db.read(key) {
        None => {
            out.int(0);
            return Ok(());
        }
        Some(v) => hll_of(v)?,
    };
    let Some(mut value) = db.modify(key, "pfcount") else {
        out.int(0);
        return Ok(());
    };
    let h = bytes_mut(&mut value)?;
    let card = match hll::cached(h) {
        Some(card) => card,
        None => {
            let card = hll::count(h).map_err(|_| CmdError::HllCorrupted)?;
            // The cache is part of the string: storing it is a change
            // that propagates (without a notification), as in Redis.
            hll::set_cached(h, card);
            value.changed(1);
            card
        }
    };
    drop(value);
    out.int(card as i64);
    Ok(())
}

fn pfmerge(ctx: &mut Ctx, args: Args) -> CmdResult {
    let max_bytes = ctx.state.config.hll_sparse_max_bytes;
    let mut max = vec![0u8; hll::REGISTERS];
    let mut dense = false;
    let (mut db, out) = ctx.db_out();
    // The destination is the first source.
    for key in args.tail(1).iter() {
        if let Some(v) = db.read(key) {
            let h = hll_of(v)?;
            dense |= hll::encoding(h) == Some(Encoding::Dense);
            hll::merge_into(&mut max, h).map_err(|_| CmdError::HllCorrupted)?;
        }
    }
    let mut value = db.modify_or_create(args.get(1), "pfadd", new_hll);
    let h = bytes_mut(&mut value)?;
    if dense {
        hll::to_dense(h).map_err(|_| CmdError::HllCorrupted)?;
    }
    hll::raise_all(h, &max, max_bytes);
    hll::invalidate(h);
    value.changed(1);
    drop(value);
    out.ok();
    Ok(())
}

fn pfdebug(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (sub, key) = (args.get(1), args.get(2));
    let (mut db, out) = ctx.db_out();
    match db.entry(key) {
        None => return Err(CmdError::HllNoKey),
        Some(e) => hll_of(&e.value)?,
    };
    let Some(mut value) = db.modify(key, "pfdebug") else {
        return Err(CmdError::HllNoKey);
    };
    let h = bytes_mut(&mut value)?;
    let sparse = hll::encoding(h) == Some(Encoding::Sparse);
    let mut converted = false;
    if is(sub, "getreg") || is(sub, "todense") {
        if sparse {
            hll::to_dense(h).map_err(|_| CmdError::HllCorrupted)?;
            converted = true;
        }
        if is(sub, "todense") {
            out.int(i64::from(sparse));
        } else {
            out.array(hll::REGISTERS);
            for i in 0..hll::REGISTERS {
                out.int(i64::from(hll::dense_get(&h[hll::HDR..], i)));
            }
        }
    } else if is(sub, "decode") {
        if !sparse {
            return Err(CmdError::HllNotSparse);
        }
        out.bulk(hll::decode(h).as_bytes());
    } else if is(sub, "encoding") {
        out.simple(if sparse { b"sparse" } else { b"dense" });
    } else {
        return Err(CmdError::pfdebug_unknown(sub));
    }
    if converted {
        // The new encoding propagates.
        value.changed(1);
    }
    Ok(())
}

/// Redis's PFSELFTEST: dense registers keep what is set in them, and
/// sparse and dense HLLs fed the same elements agree, within the error
/// bounds, up to ten million elements.
fn pfselftest(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let max_bytes = ctx.state.config.hll_sparse_max_bytes;
    let mut rng = ctx.db().fork_rng();
    let mut dense = vec![0u8; hll::DENSE_SIZE];
    let mut model = vec![0u8; hll::REGISTERS];
    for _ in 0..1000 {
        for (i, m) in model.iter_mut().enumerate() {
            *m = (rng.next_u64() & 63) as u8;
            hll::dense_set(&mut dense[hll::HDR..], i, *m);
        }
        for (i, &m) in model.iter().enumerate() {
            let got = hll::dense_get(&dense[hll::HDR..], i);
            if got != m {
                return Err(CmdError::err(format!(
                    "ERR TESTFAILED Register {i} should be {m} but is {got}"
                )));
            }
        }
    }
    dense = hll::new_sparse();
    let _ = hll::to_dense(&mut dense);
    let mut sparse = hll::new_sparse();
    let relerr = 1.04 / (hll::REGISTERS as f64).sqrt();
    let seed = rng.next_u64();
    let mut checkpoint = 1u64;
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_ne_bytes();
        let _ = hll::add(&mut dense, &ele, max_bytes);
        let _ = hll::add(&mut sparse, &ele, max_bytes);
        if j != checkpoint {
            continue;
        }
        if (j as usize) < max_bytes / 2 && hll::encoding(&sparse) != Some(Encoding::Sparse) {
            return Err(CmdError::err("ERR TESTFAILED sparse encoding not used"));
        }
        let card = hll::count(&dense).unwrap_or(0);
        if hll::count(&sparse).unwrap_or(0) != card {
            return Err(CmdError::err("ERR TESTFAILED dense/sparse disagree"));
        }
        let error = checkpoint.abs_diff(card);
        let max_error = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if error > max_error {
            return Err(CmdError::err(format!(
                "ERR TESTFAILED Too big error. card:{checkpoint} abserr:{error}"
            )));
        }
        checkpoint *= 10;
    }
    ctx.out().ok();
    Ok(())
}
