//! The whole session (parser, dispatch, commands, store, the write path's
//! journal and propagation stream, pub/sub fan-out and keyspace
//! notifications) on arbitrary input: no input may panic the server.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rizzler::testing::Harness;

fuzz_target!(|data: &[u8]| {
    let mut h = Harness::new();
    // Build the propagation stream too, so rewrites run on every input.
    h.record();
    // A second client listens to everything, with keyspace notifications
    // on, so PUBLISH fan-out and every key event's notification run too.
    let state = &mut h.server.state;
    let listener = state.add_client("fuzz".into(), "fuzz".into(), -1);
    state.psubscribe(listener, b"*");
    state.config.notify_keyspace_events = rizzler::notify::parse_flags("KEAnm").unwrap_or(0);
    rizzler::effects::sync_recording(&mut h.server.store, &h.server.state);
    // Keep DEBUG SLEEP and SHUTDOWN from stalling the run: they are
    // ordinary commands to the session and are fuzzed through the table
    // like the rest, but sleeping would only slow the fuzzer down.
    if data.windows(5).any(|w| w.eq_ignore_ascii_case(b"sleep")) {
        return;
    }
    for chunk in data.split(|&b| b == 0xff) {
        let _ = h.raw(chunk);
        if let Some(c) = h.server.state.clients.get_mut(listener) {
            c.out.take_bytes();
        }
        if h.closed {
            break;
        }
    }
});
