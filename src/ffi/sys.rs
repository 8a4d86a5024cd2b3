//! The few libc services the core modules use (clocks, signal dispositions), behind safe
//! functions.

use std::ffi::{c_int, c_void};

/// A clock's reading in microseconds.
fn clock_us(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec we own.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Microseconds on the monotonic clock (a vDSO read).
pub fn monotonic_us() -> u64 {
    clock_us(libc::CLOCK_MONOTONIC)
}

/// Nanoseconds on the monotonic clock (a vDSO read).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Does the CPU's time-stamp counter tick at one rate whatever the core's power state
/// (cpuid's "invariant TSC")? Only then is it a clock.
#[cfg(target_arch = "x86_64")]
fn invariant_tsc() -> bool {
    use std::arch::x86_64::__cpuid;
    // leaf 0x8000_0000 gives the highest extended leaf: 0x8000_0007 is read only when it is there
    __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
}

/// A cheap, steadily rising count: the time-stamp counter where it is invariant (about a
/// third of the cost of the vDSO clock), else monotonic nanoseconds. `ticks_per_second`
/// says how fast it goes.
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if tick_source().tsc {
        // SAFETY: rdtsc has no preconditions; tick_source() checked it is a steady clock.
        return unsafe { std::arch::x86_64::_rdtsc() };
    }
    monotonic_ns()
}

struct TickSource {
    tsc: bool,
    /// Both clocks read at the first use: the rate is measured from there.
    ticks0: u64,
    ns0: u64,
}

fn tick_source() -> &'static TickSource {
    static SOURCE: std::sync::OnceLock<TickSource> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        let tsc = invariant_tsc();
        #[cfg(not(target_arch = "x86_64"))]
        let tsc = false;
        let ns0 = monotonic_ns();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in ticks().
        let ticks0 = if tsc { unsafe { std::arch::x86_64::_rdtsc() } } else { ns0 };
        #[cfg(not(target_arch = "x86_64"))]
        let ticks0 = ns0;
        TickSource { tsc, ticks0, ns0 }
    })
}

/// Starts the tick clock (its rate is measured from the first call on).
pub fn start_ticks() {
    let _ = tick_source();
}

/// Converts a number of `ticks()` to microseconds, at the rate measured since the clock
/// started (a longer baseline each time, so the figure only grows more exact).
pub fn ticks_to_us(n: u64) -> u64 {
    let src = tick_source();
    if !src.tsc {
        return n / 1000;
    }
    let ns = monotonic_ns().saturating_sub(src.ns0).max(1);
    // SAFETY: as in ticks().
    #[cfg(target_arch = "x86_64")]
    let elapsed = unsafe { std::arch::x86_64::_rdtsc() }.saturating_sub(src.ticks0).max(1);
    #[cfg(not(target_arch = "x86_64"))]
    let elapsed = ns;
    (n as u128 * ns as u128 / (elapsed as u128 * 1000)) as u64
}

/// This thread's cpu time in microseconds (a system call).
pub fn thread_cpu_us() -> u64 {
    clock_us(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Ignores SIGPIPE (every skynet node does) and runs `on_hangup` on SIGHUP, with every signal
/// blocked meanwhile. `on_hangup` must be async-signal-safe (e.g. store an atomic only).
pub fn install_signals(on_hangup: extern "C" fn(c_int)) {
    // SAFETY: a zeroed sigaction is a valid value to fill; the handler is a plain extern fn
    // (async-signal-safety is this function's documented contract with the caller).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_hangup as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigfillset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGHUP, &sa, std::ptr::null_mut());
    }
}

/// `ctime` format ("Wed Jun 30 21:49:08 1993") of a Unix time, in local time.
pub fn ctime(secs: u64) -> String {
    let t = secs as libc::time_t;
    let mut buf = [0 as libc::c_char; 32];
    // SAFETY: ctime_r writes at most 26 bytes into the buffer.
    let p = unsafe { libc::ctime_r(&t, buf.as_mut_ptr()) };
    // SAFETY: ctime_r NUL-terminates its output (or returns NULL).
    match unsafe { super::text(p) } {
        Some(s) => s.trim_end().to_string(),
        None => secs.to_string(),
    }
}

/// glibc's allocator counters: (bytes in use, blocks in use).
pub fn malloc_usage() -> (usize, usize) {
    // SAFETY: mallinfo2 only reads allocator statistics.
    let mi = unsafe { libc::mallinfo2() };
    (mi.uordblks + mi.hblkhd, mi.hblks + mi.ordblks)
}

/// Sets glibc's trim threshold and the size from which blocks get a mapping of their own.
pub fn set_malloc_thresholds(trim: i32, mmap: i32) {
    // SAFETY: mallopt only changes allocator parameters.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, trim);
        libc::mallopt(libc::M_MMAP_THRESHOLD, mmap);
    }
}

/// Lua's allocator protocol over one C allocator: `realloc`, or `free` for a zero size.
///
/// # Safety
/// `ptr` must be null or a live block of that allocator.
unsafe fn realloc_or_free(
    ptr: *mut c_void,
    nsize: usize,
    realloc: unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
) -> *mut c_void {
    if nsize == 0 {
        // SAFETY: the caller's promise.
        unsafe { free(ptr) };
        std::ptr::null_mut()
    } else {
        // SAFETY: the caller's promise.
        unsafe { realloc(ptr, nsize) }
    }
}

/// The libc allocator in Lua's protocol (skynet_lalloc, and Lua states under a sanitizer).
///
/// # Safety
/// `ptr` must be null or a live block from the C allocator.
pub unsafe fn lalloc(ptr: *mut c_void, nsize: usize) -> *mut c_void {
    // SAFETY: the caller's promise.
    unsafe { realloc_or_free(ptr, nsize, libc::realloc, libc::free) }
}

/// mimalloc in Lua's protocol (the Lua states' blocks).
///
/// # Safety
/// `ptr` must be null or a live block from mimalloc.
pub unsafe fn mi_lalloc(ptr: *mut c_void, nsize: usize) -> *mut c_void {
    // SAFETY: the caller's promise.
    unsafe { realloc_or_free(ptr, nsize, libmimalloc_sys::mi_realloc, libmimalloc_sys::mi_free) }
}

/// Whether AddressSanitizer or ThreadSanitizer runs in the process (its runtime is linked in).
pub fn sanitizer_runtime() -> bool {
    [c"__asan_init", c"__tsan_init"].iter().any(|name| {
        // SAFETY: dlsym on the process's global scope with a NUL-terminated name.
        !unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }.is_null()
    })
}

/// Whether process `pid` exists (kill with signal 0).
pub fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

/// daemon(3): detaches from the terminal, keeping the working directory and the standard
/// streams. Call it before any thread exists.
pub fn daemonize() -> std::io::Result<()> {
    // SAFETY: daemon(1, 1) forks; the documented contract is that no other thread runs yet.
    if unsafe { libc::daemon(1, 1) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Points the standard streams at /dev/null, as a daemon's should.
pub fn silence_std_streams() {
    // SAFETY: open/dup2/close on file descriptors this process owns.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
    }
}
