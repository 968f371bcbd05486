//! [`Rdb`]: Redis's `dump.rdb` as a [`Persister`], on top of the codec in
//! [`super::rdb`].

use super::{rdb, Encoder, LoadError, Loaded, Meta, Persister};
use crate::store::Value;

/// Redis 7.0's RDB format (version 10).
pub struct Rdb;

impl Persister for Rdb {
    fn name(&self) -> &'static str {
        "rdb"
    }

    fn default_file(&self) -> &'static str {
        "dump.rdb"
    }

    fn encoder(&self, meta: &Meta) -> Box<dyn Encoder> {
        Box::new(RdbEncoder {
            meta: meta.clone(),
            crc: 0,
        })
    }

    fn load(
        &self,
        data: &[u8],
        each: &mut dyn FnMut(Loaded) -> Result<(), String>,
    ) -> Result<(), LoadError> {
        let summary = rdb::load(data, |l| {
            each(Loaded {
                db: l.db,
                key: l.key,
                value: l.value,
                expire_at: l.expire_at_ms,
                db_keys_hint: l.db_keys_hint,
            })
        })
        .map_err(|e| LoadError::at(e.offset, e.reason))?;
        if summary.empty_keys_skipped > 0 {
            tracing::warn!(
                "{} empty keys skipped while loading (Redis skips them too)",
                summary.empty_keys_skipped
            );
        }
        Ok(())
    }
}

struct RdbEncoder {
    meta: Meta,
    /// CRC64 of the bytes flushed so far.
    crc: u64,
}

impl Encoder for RdbEncoder {
    fn header(&mut self, out: &mut Vec<u8>) {
        let ctime = self.meta.created.to_string();
        let used = self.meta.used_memory.to_string();
        let bits = (usize::BITS).to_string();
        let aof_base = if self.meta.aof_base { "1" } else { "0" };
        rdb::write_header(
            out,
            &[
                ("redis-ver", crate::commands::info::REDIS_VERSION.as_bytes()),
                ("redis-bits", bits.as_bytes()),
                ("ctime", ctime.as_bytes()),
                ("used-mem", used.as_bytes()),
                ("aof-base", aof_base.as_bytes()),
            ],
        );
        for code in &self.meta.functions {
            rdb::write_function(out, code);
        }
    }

    fn begin_db(&mut self, out: &mut Vec<u8>, db: usize, keys: usize, expires: usize) {
        rdb::write_select_db(out, db, keys, expires);
    }

    fn entry(&mut self, out: &mut Vec<u8>, key: &[u8], value: &Value, expire_at: Option<u64>) {
        rdb::write_entry(out, key, value, expire_at);
    }

    fn end_db(&mut self, _out: &mut Vec<u8>) {}

    fn flushed(&mut self, chunk: &[u8]) {
        self.crc = rdb::crc64(self.crc, chunk);
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        rdb::write_end(out, self.crc);
    }
}
