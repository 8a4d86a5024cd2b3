//! skynet_malloc.h, malloc_hook.h and mem_info.h. The core uses the libc allocator, so the
//! skynet_malloc family are plain libc calls (also exported as symbols for modules built
//! against headers that did not map them to libc).

use crate::ffi::lua::{lua_State, lua_createtable};
use crate::{log, memory};
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[no_mangle]
pub extern "C" fn skynet_malloc(sz: usize) -> *mut c_void {
    // SAFETY: libc allocation.
    unsafe { libc::malloc(sz) }
}

#[no_mangle]
pub extern "C" fn skynet_calloc(n: usize, sz: usize) -> *mut c_void {
    // SAFETY: libc allocation.
    unsafe { libc::calloc(n, sz) }
}

/// # Safety
/// `ptr` is NULL or a live libc block.
#[no_mangle]
pub unsafe extern "C" fn skynet_realloc(ptr: *mut c_void, sz: usize) -> *mut c_void {
    // SAFETY: as documented.
    unsafe { libc::realloc(ptr, sz) }
}

/// # Safety
/// `ptr` is NULL or a live libc block.
#[no_mangle]
pub unsafe extern "C" fn skynet_free(ptr: *mut c_void) {
    // SAFETY: as documented.
    unsafe { libc::free(ptr) }
}

#[no_mangle]
pub extern "C" fn skynet_memalign(alignment: usize, size: usize) -> *mut c_void {
    // SAFETY: libc allocation.
    unsafe { libc::memalign(alignment, size) }
}

#[no_mangle]
pub extern "C" fn skynet_aligned_alloc(alignment: usize, size: usize) -> *mut c_void {
    // SAFETY: libc allocation.
    unsafe { libc::aligned_alloc(alignment, size) }
}

/// # Safety
/// `memptr` is writable.
#[no_mangle]
pub unsafe extern "C" fn skynet_posix_memalign(memptr: *mut *mut c_void, alignment: usize, size: usize) -> c_int {
    // SAFETY: as documented.
    unsafe { libc::posix_memalign(memptr, alignment, size) }
}

/// The allocator snlua gives its Lua states.
///
/// # Safety
/// `ptr` is NULL or a live libc block.
#[no_mangle]
pub unsafe extern "C" fn skynet_lalloc(ptr: *mut c_void, _osize: usize, nsize: usize) -> *mut c_void {
    // SAFETY: as documented.
    unsafe { memory::lalloc(ptr, nsize) }
}

#[no_mangle]
pub extern "C" fn malloc_used_memory() -> usize {
    memory::used()
}

#[no_mangle]
pub extern "C" fn malloc_memory_block() -> usize {
    memory::blocks()
}

#[no_mangle]
pub extern "C" fn malloc_current_memory() -> usize {
    0
}

#[no_mangle]
pub extern "C" fn memory_info_dump(_opts: *const c_char) {
    log::error(0, "No jemalloc");
}

fn no_jemalloc(what: &str, name: *const c_char) {
    // SAFETY: name is NULL or a C string (the caller's).
    let name = unsafe { super::text(name) }.unwrap_or_default();
    log::error(0, &format!("No jemalloc : {what} {name}."));
}

#[no_mangle]
pub extern "C" fn mallctl_int64(name: *const c_char, _newval: *mut usize) -> usize {
    no_jemalloc("mallctl_int64", name);
    0
}

#[no_mangle]
pub extern "C" fn mallctl_opt(name: *const c_char, _newval: *mut c_int) -> c_int {
    no_jemalloc("mallctl_opt", name);
    0
}

#[no_mangle]
pub extern "C" fn mallctl_bool(name: *const c_char, _newval: *mut bool) -> bool {
    no_jemalloc("mallctl_bool", name);
    false
}

#[no_mangle]
pub extern "C" fn mallctl_cmd(name: *const c_char) -> c_int {
    no_jemalloc("mallctl_cmd", name);
    0
}

#[no_mangle]
pub extern "C" fn dump_c_mem() {
    log::error(0, "dump all service mem:");
    log::error(0, &format!("+total: {}kb", memory::used() >> 10));
}

/// A Lua function returning {handle = bytes} per service; empty: the libc allocator does not
/// attribute blocks to services.
///
/// # Safety
/// `l` is a live Lua state.
#[no_mangle]
pub unsafe extern "C" fn dump_mem_lua(l: *mut lua_State) -> c_int {
    // SAFETY: as documented.
    unsafe { lua_createtable(l, 0, 0) };
    1
}

/// C's MemInfo.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct MemInfo {
    pub alloc: usize,
    pub alloc_count: usize,
    pub free: usize,
    pub free_count: usize,
}

#[repr(C, align(64))]
pub struct CacheLinePair {
    pub bytes: AtomicUsize,
    pub count: AtomicUsize,
}

/// C's AtomicMemInfo: allocations and frees on separate cache lines.
#[repr(C)]
pub struct AtomicMemInfo {
    pub alloc: CacheLinePair,
    pub free: CacheLinePair,
}

/// # Safety
/// `info` is writable.
#[no_mangle]
pub unsafe extern "C" fn meminfo_init(info: *mut MemInfo) {
    // SAFETY: as documented.
    unsafe { info.write(MemInfo::default()) };
}

/// # Safety
/// `info` is writable.
#[no_mangle]
pub unsafe extern "C" fn atomic_meminfo_init(info: *mut AtomicMemInfo) {
    // SAFETY: as documented.
    let i = unsafe { &*info };
    for c in [&i.alloc, &i.free] {
        c.bytes.store(0, Relaxed);
        c.count.store(0, Relaxed);
    }
}

/// # Safety
/// `info` is writable.
#[no_mangle]
pub unsafe extern "C" fn meminfo_alloc(info: *mut MemInfo, size: usize) {
    // SAFETY: as documented.
    let i = unsafe { &mut *info };
    i.alloc += size;
    i.alloc_count += 1;
}

/// # Safety
/// `info` is valid.
#[no_mangle]
pub unsafe extern "C" fn atomic_meminfo_alloc(info: *mut AtomicMemInfo, size: usize) {
    // SAFETY: as documented.
    let i = unsafe { &*info };
    i.alloc.bytes.fetch_add(size, Relaxed);
    i.alloc.count.fetch_add(1, Relaxed);
}

/// # Safety
/// `info` is writable.
#[no_mangle]
pub unsafe extern "C" fn meminfo_free(info: *mut MemInfo, size: usize) {
    // SAFETY: as documented.
    let i = unsafe { &mut *info };
    i.free += size;
    i.free_count += 1;
}

/// # Safety
/// `info` is valid.
#[no_mangle]
pub unsafe extern "C" fn atomic_meminfo_free(info: *mut AtomicMemInfo, size: usize) {
    // SAFETY: as documented.
    let i = unsafe { &*info };
    i.free.bytes.fetch_add(size, Relaxed);
    i.free.count.fetch_add(1, Relaxed);
}

/// # Safety
/// `dest` writable, `src` readable.
#[no_mangle]
pub unsafe extern "C" fn meminfo_merge(dest: *mut MemInfo, src: *const MemInfo) {
    // SAFETY: as documented.
    let (d, s) = unsafe { (&mut *dest, &*src) };
    d.alloc += s.alloc;
    d.alloc_count += s.alloc_count;
    d.free += s.free;
    d.free_count += s.free_count;
}

/// # Safety
/// `dest` writable, `src` readable.
#[no_mangle]
pub unsafe extern "C" fn atomic_meminfo_merge(dest: *mut MemInfo, src: *const AtomicMemInfo) {
    // SAFETY: as documented.
    let (d, s) = unsafe { (&mut *dest, &*src) };
    d.alloc += s.alloc.bytes.load(Relaxed);
    d.alloc_count += s.alloc.count.load(Relaxed);
    d.free += s.free.bytes.load(Relaxed);
    d.free_count += s.free.count.load(Relaxed);
}
