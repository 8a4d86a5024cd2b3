//! The accounting of a service's Lua state's allocator (ffi.rs): it counts the state's bytes, refuses growth past
//! the limit the service asked for (`skynet.memlimit`), and reports each time the count
//! passes a threshold that starts at 32 MiB and doubles after every report.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

/// The first "Memory warning" threshold.
pub const FIRST_WARNING: usize = 32 * 1024 * 1024;

/// The byte count of one Lua state. Only the thread running the service changes it; other
/// threads (a `signal 1`, a debug query) may read it, hence the atomics.
pub struct Memory {
    used: AtomicUsize,
    limit: AtomicUsize,
    next_report: AtomicUsize,
}

/// The byte counts of the live states, for `memory::used`: each `Memory` (at a fixed address,
/// inside its boxed host) is listed from `live` until `retire`.
fn live_states() -> &'static Mutex<HashSet<usize>> {
    static LIVE: OnceLock<Mutex<HashSet<usize>>> = OnceLock::new();
    LIVE.get_or_init(|| {
        crate::memory::count_lua_heaps_with(total);
        Mutex::new(HashSet::new())
    })
}

/// The bytes all live states hold.
fn total() -> usize {
    let live = live_states().lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: a listed address is a Memory that stays alive until retire unlists it, which
    // takes this lock.
    live.iter().map(|&m| unsafe { &*(m as *const Memory) }.used()).sum()
}

/// What the allocator must do with one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it; `Some(bytes)` asks for a "Memory warning" with the new total.
    Grant(Option<usize>),
    /// Fail it (the state raises a memory error).
    Refuse,
}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

impl Memory {
    pub fn new() -> Memory {
        Memory { used: AtomicUsize::new(0), limit: AtomicUsize::new(0), next_report: AtomicUsize::new(FIRST_WARNING) }
    }

    pub fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    /// Counts this state in `memory::used` from now on. `self` must stay where it is until
    /// `retire`.
    pub fn enlist(&self) {
        live_states().lock().unwrap_or_else(|e| e.into_inner()).insert(self as *const Memory as usize);
    }

    /// Stops counting this state (before it moves or is dropped).
    pub fn retire(&self) {
        live_states().lock().unwrap_or_else(|e| e.into_inner()).remove(&(self as *const Memory as usize));
    }

    /// 0 means no limit.
    pub fn set_limit(&self, bytes: usize) {
        self.limit.store(bytes, Relaxed);
    }

    /// Accounts a request of Lua's allocator protocol: `had_block` tells whether a block is
    /// being resized or freed (then `old` is its size; for a new block `old` is only a type tag).
    pub fn account(&self, had_block: bool, old: usize, new: usize) -> Verdict {
        let before = self.used.load(Relaxed);
        let after = if had_block { before.wrapping_add(new).wrapping_sub(old) } else { before.wrapping_add(new) };
        let limit = self.limit.load(Relaxed);
        if limit != 0 && after > limit && (!had_block || new > old) {
            // Growing past the limit fails; shrinking and freeing always go through.
            return Verdict::Refuse;
        }
        self.used.store(after, Relaxed);
        let report = self.next_report.load(Relaxed);
        if after > report {
            self.next_report.store(report.saturating_mul(2), Relaxed);
            return Verdict::Grant(Some(after));
        }
        Verdict::Grant(None)
    }
}

/// A byte count in MiB as the warnings print it.
pub fn mib(bytes: usize) -> f32 {
    bytes as f32 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_new_resized_and_freed_blocks() {
        let m = Memory::new();
        assert_eq!(m.account(false, 5, 100), Verdict::Grant(None)); // new block, 5 is a type tag
        assert_eq!(m.used(), 100);
        assert_eq!(m.account(true, 100, 300), Verdict::Grant(None));
        assert_eq!(m.used(), 300);
        assert_eq!(m.account(true, 300, 0), Verdict::Grant(None));
        assert_eq!(m.used(), 0);
    }

    #[test]
    fn limit_refuses_growth_but_not_shrinking() {
        let m = Memory::new();
        m.set_limit(1000);
        assert_eq!(m.account(false, 0, 900), Verdict::Grant(None));
        assert_eq!(m.account(false, 0, 200), Verdict::Refuse);
        assert_eq!(m.used(), 900, "a refused request is not counted");
        assert_eq!(m.account(true, 900, 950), Verdict::Grant(None));
        m.set_limit(500);
        assert_eq!(m.account(true, 950, 800), Verdict::Grant(None), "shrinking goes through over the limit");
        assert_eq!(m.account(true, 800, 900), Verdict::Refuse);
        assert_eq!(m.account(true, 800, 0), Verdict::Grant(None));
        assert_eq!(m.used(), 0);
    }

    #[test]
    fn warnings_double_from_32_mib() {
        let m = Memory::new();
        let mb = 1024 * 1024;
        assert_eq!(m.account(false, 0, 32 * mb), Verdict::Grant(None), "exactly 32 MiB is not over");
        assert_eq!(m.account(false, 0, 1), Verdict::Grant(Some(32 * mb + 1)));
        assert_eq!(m.account(false, 0, 16 * mb), Verdict::Grant(None));
        assert_eq!(m.account(false, 0, 16 * mb), Verdict::Grant(Some(64 * mb + 1)));
        assert_eq!(m.account(true, 64 * mb + 1, 0), Verdict::Grant(None));
        assert_eq!(m.account(false, 0, 100 * mb), Verdict::Grant(None), "next threshold is 128 MiB");
        assert_eq!(m.account(false, 0, 29 * mb), Verdict::Grant(Some(129 * mb)));
    }
}
