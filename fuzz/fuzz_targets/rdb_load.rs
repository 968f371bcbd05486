//! The RDB loader on arbitrary bytes (seed it with real dump.rdb files so
//! mutations reach deep into values): it must never panic or allocate
//! without bound, and every value it accepts must survive a write and a
//! read back (DUMP's path) with the same digest and encoding (for a
//! stream, also the same metadata, nodes and groups, which the digest
//! leaves out).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rizzler::persist::rdb;
use rizzler::store::digest::{mix_value, Digest};
use rizzler::store::Value;

fuzz_target!(|data: &[u8]| {
    let _ = rdb::load(data, |loaded| {
        let mut out = Vec::new();
        rdb::write_value(&mut out, &loaded.value);
        let back = match rdb::read_value(&out) {
            Ok(v) => v,
            Err(e) => panic!("a loaded value does not read back: {e}"),
        };
        let (mut a, mut b) = (Digest::default(), Digest::default());
        mix_value(&mut a, &loaded.value, false);
        mix_value(&mut b, &back, false);
        assert_eq!(a, b, "digest changed across a write and a read");
        assert_eq!(loaded.value.encoding(), back.encoding());
        if let (Value::Stream(a), Value::Stream(b)) = (&loaded.value, &back) {
            let meta = |s: &rizzler::store::Stream| {
                let ids = (s.last_id, s.first_id, s.max_deleted);
                (s.len, s.entries_added, s.node_count(), ids)
            };
            assert_eq!(meta(a), meta(b), "stream metadata changed");
            assert_eq!(a.groups, b.groups, "stream groups changed");
        }
        Ok(())
    });
});
