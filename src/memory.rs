//! Memory figures for malloc_hook.h. The core keeps the libc allocator; totals come from
//! glibc's own counters, and Lua states are counted by their allocator (skynet_lalloc).

use crate::ffi::sys;

pub use crate::ffi::sys::lalloc;

/// Bytes the C allocator has handed out and not taken back.
pub fn used() -> usize {
    sys::malloc_usage().0
}

/// Blocks in use (chunks mapped plus in the arenas), as close as glibc reports.
pub fn blocks() -> usize {
    sys::malloc_usage().1
}

/// Above this much free memory at the top of a heap, glibc gives it back to the kernel.
const TRIM_THRESHOLD: i32 = 32 << 20;
/// Blocks from this size up get a mapping of their own.
const MMAP_THRESHOLD: i32 = 4 << 20;

/// Sets glibc's trim and mapping thresholds for a node, unless the environment sets them.
///
/// The socket thread allocates every read buffer and the services free them: with a thousand
/// busy connections several megabytes are in flight, and at glibc's starting threshold
/// (128 KiB, raised only after a large mapped block is freed) each ebb of the heap went back
/// to the kernel and came back as page faults, about 250 k a second in the socket benchmark.
pub fn tune_allocator() {
    let set_by_user = std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_some()
        || std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("threshold"));
    if !set_by_user {
        sys::set_malloc_thresholds(TRIM_THRESHOLD, MMAP_THRESHOLD);
    }
}
