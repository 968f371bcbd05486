//! The provided-buffer ring (`IORING_REGISTER_PBUF_RING`): a pool of
//! equally sized receive buffers the kernel picks from when a multishot
//! recv has data, so no buffer is tied up by an idle connection.
//!
//! Ownership is simple and strict. A buffer is either on the ring (the
//! kernel may fill it at any time) or handed to us by exactly one
//! completion (`IORING_CQE_F_BUFFER`), in which case the kernel will not
//! touch it until we put it back with [`BufRing::recycle`] and make that
//! visible with [`BufRing::publish`]. The loop publishes once per iteration,
//! after every completion of the batch has been executed, so a slice from
//! [`BufRing::data`] is never read after the kernel may write it again.
//!
//! Incremental consumption (`IOU_PBUF_RING_INC`) is left out on purpose:
//! kernels up to early 2026 had bugs in it (a zero-length completion
//! consumed the buffer without advancing the ring; user-changed lengths
//! could loop), and the plain mode is well defined: every completion that
//! names a buffer used it up.

use std::cell::Cell;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::IoUring;

/// One ring entry, laid out as the kernel's `struct io_uring_buf`. The
/// `resv` field of entry 0 doubles as the ring's tail.
#[repr(C)]
struct RawBuf {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

/// An anonymous private mapping, unmapped on drop.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh anonymous mapping aliases nothing; the arguments
        // are valid for mmap and the result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(Mapping { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, and this is
        // the only unmap. The owner (BufRing) is dropped only after the
        // ring that might use the memory is gone or has nothing in flight.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// A registered ring of `count` buffers of `size` bytes each.
pub struct BufRing {
    ring: Mapping,
    mem: Mapping,
    count: u16,
    size: u32,
    /// Our tail: entries below it are written, entries below the published
    /// tail are visible to the kernel. Cells: buffers go back through a
    /// shared reference, so a completion's data can stay borrowed while
    /// other completions are handled (under a script that runs long).
    tail: Cell<u16>,
    published: Cell<u16>,
    bgid: u16,
}

impl BufRing {
    /// Maps the ring and the buffers, with every buffer on the ring. `count`
    /// must be a power of two no larger than 32768.
    pub fn new(count: u16, size: u32, bgid: u16) -> io::Result<BufRing> {
        if !count.is_power_of_two() || count > 32768 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let page = 4096usize;
        let ring_bytes = (count as usize * std::mem::size_of::<RawBuf>()).next_multiple_of(page);
        let ring = Mapping::new(ring_bytes)?;
        let mem = Mapping::new(count as usize * size as usize)?;
        let bufs = BufRing {
            ring,
            mem,
            count,
            size,
            tail: Cell::new(0),
            published: Cell::new(0),
            bgid,
        };
        for bid in 0..count {
            // SAFETY: no buffer has been given to the kernel yet; each id
            // goes on the ring once.
            unsafe { bufs.recycle(bid) };
        }
        bufs.publish();
        Ok(bufs)
    }

    /// Registers the ring with `ring` under this ring's group id.
    pub fn register(&self, ring: &IoUring) -> io::Result<()> {
        // SAFETY: the entries live in `self.ring`, a page-aligned mapping of
        // at least `count` entries that stays mapped until this BufRing is
        // dropped; the owner unregisters (or drops the ring) before that.
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                self.ring.ptr.as_ptr() as u64,
                self.count,
                self.bgid,
                0,
            )
        }
    }

    /// The buffer group id recvs name to draw from this ring.
    pub fn bgid(&self) -> u16 {
        self.bgid
    }

    /// How many buffers the ring has.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// The size of each buffer, in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The first `len` bytes of buffer `bid`, which a completion just
    /// handed us. Out-of-range values give an empty slice rather than
    /// reading outside the pool.
    ///
    /// # Safety
    /// `bid` must be a buffer that a completion handed to us and that has
    /// not been recycled since: a buffer on the ring may be written by the
    /// kernel at any time, under the returned slice.
    pub unsafe fn data(&self, bid: u16, len: usize) -> &[u8] {
        if bid >= self.count || len > self.size as usize {
            return &[];
        }
        let offset = bid as usize * self.size as usize;
        // SAFETY: the range lies inside `mem` (checked above). The caller
        // holds `bid` (the function's contract): the kernel filled it before
        // posting the completion that named it, and will not write it again
        // until `recycle(bid)`, which `recycle`'s contract forbids while
        // this slice is alive, and `publish()`.
        unsafe { std::slice::from_raw_parts(self.mem.ptr.as_ptr().add(offset), len) }
    }

    /// Puts buffer `bid` back on the ring (visible after [`publish`]).
    ///
    /// # Safety
    /// `bid` must be held by us, not on the ring: handed over by a
    /// completion, or never given to the kernel (at setup). Recycling a
    /// buffer twice would let the kernel fill it while it is also queued,
    /// or while a later [`data`] borrow of it is alive.
    ///
    /// [`publish`]: BufRing::publish
    /// [`data`]: BufRing::data
    pub unsafe fn recycle(&self, bid: u16) {
        if bid >= self.count {
            return;
        }
        let tail = self.tail.get();
        let index = (tail & (self.count - 1)) as usize;
        let addr = self.mem.ptr.as_ptr() as u64 + bid as u64 * self.size as u64;
        // SAFETY: `index < count`, so the entry lies inside the ring
        // mapping. There are exactly `count` buffers, each on the ring or
        // held by us, so the slot at our tail is one the kernel has already
        // consumed and will not read until the tail is published past it.
        // Only addr/len/bid are written: `resv` of entry 0 is the tail.
        unsafe {
            let entry = self.ring.ptr.as_ptr().cast::<RawBuf>().add(index);
            std::ptr::addr_of_mut!((*entry).addr).write(addr);
            std::ptr::addr_of_mut!((*entry).len).write(self.size);
            std::ptr::addr_of_mut!((*entry).bid).write(bid);
        }
        self.tail.set(tail.wrapping_add(1));
    }

    /// Makes every recycled buffer visible to the kernel.
    pub fn publish(&self) {
        let tail = self.tail.get();
        if tail == self.published.get() {
            return;
        }
        // SAFETY: entry 0's `resv` is the ring tail, a u16 inside the
        // mapping, aligned to 2. The kernel reads it with acquire
        // semantics; the release store orders the entry writes before it.
        unsafe {
            let entry = self.ring.ptr.as_ptr().cast::<RawBuf>();
            let tail_slot = &*std::ptr::addr_of!((*entry).resv).cast::<AtomicU16>();
            tail_slot.store(tail, Ordering::Release);
        }
        self.published.set(tail);
    }
}
