//! Memory figures for malloc_hook.h, and the allocator of the services' Lua states. The core
//! keeps the libc allocator (skynet_malloc and skynet_lalloc are libc's); totals come from
//! glibc's own counters plus the bytes the Lua states hold.
//!
//! Lua states take their blocks from mimalloc (`lua_alloc`): a state is hundreds of small
//! objects, made and freed by the thousand as services start, and mimalloc's thread-local
//! size-class pages serve them in fewer instructions than glibc's bins, with no header per
//! block (10% fewer instructions per spawned service under callgrind, and 0.7 KB less per
//! idle service). Under a sanitizer they stay libc's, so that the sanitizer still sees them.

use crate::ffi::sys;
use std::ffi::c_void;
use std::sync::OnceLock;

pub use crate::ffi::sys::lalloc;

/// Bytes the C allocator has handed out and not taken back, Lua states' included.
pub fn used() -> usize {
    let lua = match LUA_HEAPS.get() {
        Some(count) if lua_uses_mimalloc() => count(),
        _ => 0,
    };
    sys::malloc_usage().0 + lua
}

/// Counts the bytes every Lua state holds (snlua registers it): when they are mimalloc's,
/// glibc's counters leave them out.
static LUA_HEAPS: OnceLock<fn() -> usize> = OnceLock::new();

pub fn count_lua_heaps_with(count: fn() -> usize) {
    let _ = LUA_HEAPS.set(count);
}

fn lua_uses_mimalloc() -> bool {
    static CHOICE: OnceLock<bool> = OnceLock::new();
    *CHOICE.get_or_init(|| !sys::sanitizer_runtime())
}

/// Lua's allocator for a state's blocks: the block at `ptr` (or none) becomes one of `nsize`
/// bytes, or is freed when `nsize` is 0.
///
/// # Safety
/// `ptr` is null or a live block this function returned.
pub unsafe fn lua_alloc(ptr: *mut c_void, nsize: usize) -> *mut c_void {
    if lua_uses_mimalloc() {
        // SAFETY: the caller's promise; the blocks are mimalloc's.
        unsafe { sys::mi_lalloc(ptr, nsize) }
    } else {
        // SAFETY: the caller's promise; the blocks are libc's.
        unsafe { lalloc(ptr, nsize) }
    }
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
