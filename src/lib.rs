//! # rizzler
//!
//! A Redis-compatible in-memory server for Linux. The map, from socket to
//! store and back:
//!
//! - [`net`] accepts connections and moves bytes. Two backends share one
//!   contract: the io_uring completion loop and the Tokio (epoll) baseline.
//!   Neither parses or executes anything.
//! - [`net::session::Session`] is the connection state machine, sans I/O:
//!   given the unconsumed input, it parses every complete command
//!   ([`resp::Parser`], arguments borrowed from the input buffer), runs each
//!   through [`commands::execute`] and appends the replies to the client's
//!   output buffer. A protocol error is answered and closes the connection;
//!   a command error is answered and the connection lives on.
//! - [`commands`] holds the declarative command table: one row per command
//!   (name, arity, flags, key positions, docs, handler) in one file per
//!   family. Arity and unknown commands are checked once, centrally. Errors
//!   are [`error::CmdError`] values whose Redis texts live in one place.
//!   Every command runs through [`commands::call`], Redis's `call()`: it
//!   keeps the command statistics and then hands what the command did to
//!   [`effects::after_command`].
//! - [`acl`] holds the users and the ACL log. Each client carries its
//!   user (`Rc<User>`); `admit()` checks the command, its keys and its
//!   channels against it before the command runs, as Redis's
//!   `processCommand` does.
//! - [`effects`] drains the store's journal once per command: the change
//!   counter, the propagation stream (the AOF and replicas read it),
//!   keyspace notifications ([`notify`]) and every other consumer of key
//!   events.
//! - [`tracking`] is client-side caching (CLIENT TRACKING): it reads the
//!   same key events and sends invalidations. [`pause`] holds clients'
//!   commands back during CLIENT PAUSE.
//! - [`pubsub`] is the subscriber table. A message is encoded once per
//!   protocol and shared by every subscriber's output
//!   ([`resp::Outbox`] hands the kernel one slice per chunk).
//! - [`store`] is the keyspace: sixteen databases of typed values, lazy plus
//!   active expiry, SCAN with Redis's guarantee. Lookups and changes go
//!   through [`store::DbMut`], which records each change as an event in the
//!   store's [`store::Journal`]: nothing changes a key unrecorded.
//! - [`server::Server`] owns the store and the server state (clients, stats,
//!   config). One thread owns it, shared as `Rc<RefCell<Server>>`; a borrow
//!   spans one batch and is never held across I/O. What a command asks of
//!   other connections (close, send, shut down) is a [`server::Request`]
//!   on one queue, which each backend serves in one function.
//! - [`alloc`] counts every allocation: `used_memory` and `maxmemory` use
//!   that exact figure. [`evict`] keeps memory under `maxmemory` before
//!   each command, by Redis's policies; an eviction is a key event, so the
//!   write path notifies and propagates it.
//! - [`persist`] keeps the data across restarts: snapshots (JSON or RDB)
//!   taken without fork while the loop serves, the multi-part AOF fed by
//!   the propagation stream, and loading at boot while clients get
//!   `-LOADING`.
//! - [`config`] holds the flags and the CONFIG GET/SET parameters;
//!   [`config_file`] reads redis.conf-style files into the same table and
//!   writes them back (CONFIG REWRITE).
//! - [`ldouble`] is a software x87 `long double`, so INCRBYFLOAT and
//!   HINCRBYFLOAT reply byte for byte what Redis's `strtold`/`%.17Lf` do.

pub mod acl;
pub mod alloc;
pub mod blocking;
pub mod commands;
pub mod config;
pub mod config_file;
pub mod effects;
pub mod error;
pub mod evict;
pub mod ldouble;
pub mod net;
pub mod notify;
pub mod pause;
pub mod persist;
pub mod pubsub;
pub mod resp;
pub mod scripting;
pub mod server;
pub mod store;
pub mod testing;
pub mod tracking;
pub mod util;

/// Every allocation of the process is counted (see [`alloc`]).
#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;
