//! Persistence formats.

mod crc64;
mod lzf;
mod packed;
pub mod rdb;
