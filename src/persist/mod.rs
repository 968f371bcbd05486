//! Persistence: point-in-time snapshots of the keyspace, and loading them
//! back at boot.
//!
//! A snapshot format is a [`Persister`]: it writes a header, each database's
//! entries and an end into a byte buffer, and reads a whole file back as a
//! stream of [`Loaded`] keys. Two formats implement it:
//!
//! - [`json::Json`], the default: `db.json`, one key per line, readable
//!   with `jq` and diffable, binary-safe (see the module for the format);
//! - [`rdb::Rdb`]: Redis 7.0's `dump.rdb` (RDB version 10), so files move
//!   between rizzler and redis-server in both directions.
//!
//! When and how a snapshot is taken (SAVE, BGSAVE without fork, save
//! points, the atomic write of the file) is [`snapshot`]'s business; the
//! formats know nothing of files or time.

pub mod aof;
mod crc64;
pub mod json;
mod lzf;
mod packed;
pub mod rdb;
mod rdb_file;
pub mod snapshot;

use std::fmt;

use crate::store::{Bytes, Value};

/// One key read from a snapshot file.
#[derive(Debug)]
pub struct Loaded {
    pub db: usize,
    pub key: Bytes,
    pub value: Value,
    /// Absolute expiry in Unix milliseconds.
    pub expire_at: Option<u64>,
    /// How many keys the file says this key's database holds, on its first
    /// key (RDB's RESIZEDB), so the table is sized once.
    pub db_keys_hint: Option<u64>,
}

/// Why a file cannot be loaded: the byte where reading stopped, and why.
/// The server refuses to start with it rather than start empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub offset: usize,
    pub reason: String,
}

impl LoadError {
    pub fn at(offset: usize, reason: impl Into<String>) -> LoadError {
        LoadError {
            offset,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.reason)
    }
}

/// What the file says about itself, written in its header.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// Unix seconds when the snapshot was taken.
    pub created: u64,
    /// `used_memory` then.
    pub used_memory: u64,
    /// Written as an AOF's base (Redis's `aof-base` aux field).
    pub aof_base: bool,
    /// The function libraries' code (FUNCTION LOAD), saved with the data.
    pub functions: Vec<Vec<u8>>,
}

/// Loads the function libraries an RDB file carries, replacing the ones
/// in memory (the JSON format carries none).
pub fn load_functions(
    state: &mut crate::server::State,
    data: &[u8],
    format: Format,
    existing: Libraries,
) -> Result<(), LoadError> {
    if format != Format::Rdb || data.len() < 9 {
        return Ok(());
    }
    let codes = rdb::functions(&data[9..]).map_err(|e| LoadError::at(e.offset + 9, e.reason))?;
    let functions = &mut state.scripting.functions;
    if existing == Libraries::Flush {
        functions.flush();
    }
    for code in codes {
        functions
            .load(&code, existing == Libraries::Replace)
            .map_err(|e| LoadError::at(0, String::from_utf8_lossy(e.message()).into_owned()))?;
    }
    Ok(())
}

/// What loading a file's function libraries does with those already
/// loaded (DEBUG RELOAD's NOFLUSH and MERGE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Libraries {
    /// Drops them first.
    Flush,
    /// Keeps them: a library in the file with the same name is an error.
    Keep,
    /// Keeps them, but the file's library of the same name replaces one.
    Replace,
}

/// A snapshot format.
pub trait Persister {
    /// The format's name, as `snapshot-format` spells it.
    fn name(&self) -> &'static str;
    /// The file name used when `dbfilename` is not set.
    fn default_file(&self) -> &'static str;
    /// A writer for one snapshot.
    fn encoder(&self, meta: &Meta) -> Box<dyn Encoder>;
    /// Reads a whole file, handing each key to `each` in file order.
    fn load(
        &self,
        data: &[u8],
        each: &mut dyn FnMut(Loaded) -> Result<(), String>,
    ) -> Result<(), LoadError>;
}

/// Writes one snapshot into byte buffers, which the caller hands to the
/// file in order: the header, then each database's entries, then the end.
pub trait Encoder {
    fn header(&mut self, out: &mut Vec<u8>);
    fn begin_db(&mut self, out: &mut Vec<u8>, db: usize, keys: usize, expires: usize);
    fn entry(&mut self, out: &mut Vec<u8>, key: &[u8], value: &Value, expire_at: Option<u64>);
    fn end_db(&mut self, out: &mut Vec<u8>);
    /// Bytes about to go to the file (the RDB checksum covers them).
    fn flushed(&mut self, _chunk: &[u8]) {}
    fn end(&mut self, out: &mut Vec<u8>);
}

/// `snapshot-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Rdb,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "rdb" => Some(Format::Rdb),
            _ => None,
        }
    }

    pub fn persister(self) -> &'static dyn Persister {
        match self {
            Format::Json => &json::Json,
            Format::Rdb => &rdb_file::Rdb,
        }
    }

    /// The format a file is in, by its first bytes: RDB files start with
    /// `REDIS`, so `dbfilename dump.rdb` loads whatever it holds.
    pub fn sniff(data: &[u8]) -> Format {
        if data.starts_with(b"REDIS") {
            Format::Rdb
        } else {
            Format::Json
        }
    }
}
