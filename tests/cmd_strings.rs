//! String commands, without sockets.

use rizzler::testing::Harness;

#[test]
fn set_then_get() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(h.text(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(h.text(&["GET", "nope"]), "$-1\r\n");
}
