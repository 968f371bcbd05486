//! The other loaders on arbitrary bytes: the JSON snapshot (every value it
//! accepts must write and read back with the same digest), the AOF
//! manifest and the AOF command scanner. The first byte picks the loader.
//! None may panic or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rizzler::persist::aof::{scan_commands, Manifest};
use rizzler::persist::{Format, Meta};
use rizzler::store::digest::{mix_value, Digest};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    match pick % 3 {
        0 => {
            let json = Format::Json.persister();
            let _ = json.load(data, &mut |loaded| {
                let mut enc = json.encoder(&Meta::default());
                let mut out = Vec::new();
                enc.header(&mut out);
                enc.begin_db(&mut out, loaded.db, 1, 0);
                enc.entry(&mut out, &loaded.key, &loaded.value, loaded.expire_at);
                enc.end_db(&mut out);
                enc.end(&mut out);
                let mut back = None;
                if let Err(e) = json.load(&out, &mut |l| {
                    back = Some(l);
                    Ok(())
                }) {
                    panic!("a loaded key does not read back: {e}");
                }
                let back = back.expect("one key");
                let (mut a, mut b) = (Digest::default(), Digest::default());
                mix_value(&mut a, &loaded.value, false);
                mix_value(&mut b, &back.value, false);
                assert_eq!(a, b, "digest changed across a write and a read");
                assert_eq!((&loaded.key, loaded.expire_at), (&back.key, back.expire_at));
                Ok(())
            });
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(data) {
                if let Ok(m) = Manifest::parse(text) {
                    assert_eq!(Manifest::parse(&m.render()), Ok(m));
                }
            }
        }
        _ => {
            if let Ok((valid, _)) = scan_commands(data, |_| true) {
                assert!(valid <= data.len());
                assert_eq!(scan_commands(&data[..valid], |_| true).map(|r| r.0), Ok(valid));
            }
        }
    }
});
