//! Sent buffers are freed where the sockets are watched.
//!
//! Most MEMORY buffers services send were allocated by the thread that read them (the read
//! buffers an echo or a gate passes on). A worker freeing one takes the lock of that
//! thread's malloc arena while it allocates from it: in the echo benchmark, with a dedicated
//! socket thread, that contention made most of the node's futex calls. So a worker pushes
//! the block onto a lock-free list instead (the link lives in the block itself), and each
//! round over the sockets frees the list, on whichever thread runs it (see watch.rs); a
//! worker that finds the list long frees it itself, so memory never waits for an idle loop.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};

/// Blocks a worker may leave for the next round before it frees them itself.
const LIMIT: isize = 256;

static PENDING: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());
/// About how many blocks are pending (briefly off while a push and a drain cross).
static COUNT: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static SOCKET_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Called once by the socket thread: it frees blocks at once.
pub fn mark_socket_thread() {
    SOCKET_THREAD.with(|s| s.set(true));
}

/// Frees a malloc'd block, now or in the next round over the sockets.
///
/// # Safety
/// `block` is the start of a live malloc'd block that nothing else uses.
pub unsafe fn free(block: *mut c_void) {
    if block.is_null() {
        return;
    }
    if SOCKET_THREAD.with(|s| s.get()) {
        // SAFETY: as documented.
        unsafe { libc::free(block) };
        return;
    }
    let link = block as *mut *mut c_void;
    let mut head = PENDING.load(Ordering::Relaxed);
    loop {
        // SAFETY: a malloc'd block has room and alignment for a pointer (glibc's smallest
        // block holds 24 bytes, aligned to 16), and it is ours to write now.
        unsafe { link.write(head) };
        match PENDING.compare_exchange_weak(head, block, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => break,
            Err(now) => head = now,
        }
    }
    if COUNT.fetch_add(1, Ordering::Relaxed) + 1 >= LIMIT {
        drain();
    }
}

/// Frees every pending block.
pub fn drain() {
    let mut block = PENDING.swap(ptr::null_mut(), Ordering::Acquire);
    let mut freed = 0;
    while !block.is_null() {
        // SAFETY: each pending block holds the link to the next, written before it was
        // published (Release/Acquire); the swap made this thread its only owner.
        let next = unsafe { (block as *mut *mut c_void).read() };
        // SAFETY: a malloc'd block handed over by `free`.
        unsafe { libc::free(block) };
        block = next;
        freed += 1;
    }
    if freed > 0 {
        COUNT.fetch_sub(freed, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_from_many_threads_are_all_freed() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for i in 0..10_000usize {
                        // SAFETY: a fresh block, handed over at once.
                        unsafe { free(libc::malloc(8 + i % 64)) };
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drain();
        assert!(PENDING.load(Ordering::Acquire).is_null());
        assert!(COUNT.load(Ordering::Relaxed) == 0);
    }
}
