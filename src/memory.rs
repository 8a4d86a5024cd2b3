//! Memory figures for malloc_hook.h. The core keeps the libc allocator; totals come from
//! glibc's own counters, and Lua states are counted by their allocator (skynet_lalloc).

use std::ffi::c_void;

/// Bytes the C allocator has handed out and not taken back.
pub fn used() -> usize {
    // SAFETY: mallinfo2 only reads allocator statistics.
    let mi = unsafe { libc::mallinfo2() };
    mi.uordblks + mi.hblkhd
}

/// Blocks in use (chunks mapped plus in the arenas), as close as glibc reports.
pub fn blocks() -> usize {
    // SAFETY: as above.
    let mi = unsafe { libc::mallinfo2() };
    mi.hblks + mi.ordblks
}

/// The allocator Lua states use: realloc, or free for a zero size.
///
/// # Safety
/// `ptr` must be null or a live block from this allocator.
pub unsafe fn lalloc(ptr: *mut c_void, nsize: usize) -> *mut c_void {
    if nsize == 0 {
        libc::free(ptr);
        std::ptr::null_mut()
    } else {
        libc::realloc(ptr, nsize)
    }
}
