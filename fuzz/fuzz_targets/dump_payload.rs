//! RESTORE's payload path on arbitrary bytes. The input is tried as a
//! whole payload (footer checks included) and as a value body given a
//! valid footer, so mutations reach the value reader. It must never panic
//! or allocate without bound; every accepted value must DUMP to a payload
//! that RESTOREs to the same digest and encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rizzler::persist::rdb;
use rizzler::store::digest::{mix_value, Digest};

fn check(payload: &[u8]) {
    let Ok(value) = rdb::restore_payload(payload) else {
        return;
    };
    let again = rdb::dump_payload(&value);
    let back = match rdb::restore_payload(&again) {
        Ok(v) => v,
        Err(e) => panic!("a restored value's DUMP does not restore: {e:?}"),
    };
    let (mut a, mut b) = (Digest::default(), Digest::default());
    mix_value(&mut a, &value, false);
    mix_value(&mut b, &back, false);
    assert_eq!(a, b, "digest changed across DUMP and RESTORE");
    assert_eq!(value.encoding(), back.encoding());
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut payload = data.to_vec();
    payload.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
    let crc = rdb::crc64(0, &payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    check(&payload);
});
