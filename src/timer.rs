//! Time in centiseconds and a hierarchical timer wheel: 256 near slots, then four levels of
//! 64. The timer thread advances it by the real elapsed ticks, so it never drifts.

use crate::context;
use crate::ffi::sys;
use crate::message::{Message, PTYPE_RESPONSE};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// How often the timer thread advances the clock and looks after the scheduler.
pub const TICK: std::time::Duration = std::time::Duration::from_micros(2500);

const NEAR_BITS: u32 = 8;
const NEAR: usize = 1 << NEAR_BITS;
const LEVEL_BITS: u32 = 6;
const LEVEL: usize = 1 << LEVEL_BITS;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Expiry {
    pub handle: u32,
    pub session: i32,
}

struct Node {
    expire: u32,
    event: Expiry,
}

/// The wheel alone: pure data, ticked by its owner.
pub struct Wheel {
    time: u32,
    near: Vec<Vec<Node>>,
    levels: Vec<Vec<Vec<Node>>>,
}

impl Default for Wheel {
    fn default() -> Self {
        Self::new()
    }
}

impl Wheel {
    pub fn new() -> Wheel {
        Wheel {
            time: 0,
            near: (0..NEAR).map(|_| Vec::new()).collect(),
            levels: (0..4).map(|_| (0..LEVEL).map(|_| Vec::new()).collect()).collect(),
        }
    }

    /// Schedules `event` `ticks` ticks from now (at least one).
    pub fn add(&mut self, ticks: u32, event: Expiry) {
        let expire = self.time.wrapping_add(ticks.max(1));
        self.place(Node { expire, event });
    }

    fn place(&mut self, node: Node) {
        let (expire, now) = (node.expire, self.time);
        let near_mask = NEAR as u32 - 1;
        if expire | near_mask == now | near_mask {
            self.near[(expire & near_mask) as usize].push(node);
            return;
        }
        // The first level whose span holds both now and the expiry (the last level otherwise).
        let mut level = 3;
        for l in 0..3 {
            let span_mask = (1u32 << (NEAR_BITS + LEVEL_BITS * (l + 1))) - 1;
            if expire | span_mask == now | span_mask {
                level = l as usize;
                break;
            }
        }
        let slot = (expire >> (NEAR_BITS + LEVEL_BITS * level as u32)) as usize & (LEVEL - 1);
        self.levels[level][slot].push(node);
    }

    /// Advances one tick, handing every expired event to `fire`.
    pub fn tick(&mut self, fire: &mut impl FnMut(Expiry)) {
        self.fire_near(fire);
        self.time = self.time.wrapping_add(1);
        self.cascade();
        self.fire_near(fire);
    }

    fn fire_near(&mut self, fire: &mut impl FnMut(Expiry)) {
        let slot = (self.time as usize) & (NEAR - 1);
        for node in std::mem::take(&mut self.near[slot]) {
            fire(node.event);
        }
    }

    /// When the near wheel wraps, pull the next slot of the first level that moved down.
    fn cascade(&mut self) {
        let now = self.time;
        if now == 0 {
            self.redistribute(3, 0);
            return;
        }
        let mut mask = NEAR as u32;
        let mut time = now >> NEAR_BITS;
        let mut level = 0;
        while now & (mask - 1) == 0 && level < 4 {
            let slot = (time as usize) & (LEVEL - 1);
            if slot != 0 {
                self.redistribute(level, slot);
                break;
            }
            mask <<= LEVEL_BITS;
            time >>= LEVEL_BITS;
            level += 1;
        }
    }

    fn redistribute(&mut self, level: usize, slot: usize) {
        for node in std::mem::take(&mut self.levels[level][slot]) {
            self.place(node);
        }
    }
}

struct Clock {
    wheel: Mutex<Wheel>,
    start_time: u32,
    /// Centiseconds since start plus the sub-second part of the start (as upstream).
    current: AtomicU64,
    last_point: AtomicU64,
}

fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let wall = realtime_cs();
        Clock {
            wheel: Mutex::new(Wheel::new()),
            start_time: (wall / 100) as u32,
            current: AtomicU64::new(wall % 100),
            last_point: AtomicU64::new(monotonic_cs()),
        }
    })
}

pub fn init() {
    let _ = clock();
    sys::start_ticks();
}

fn realtime_cs() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_secs() * 100 + d.subsec_nanos() as u64 / 10_000_000
}

fn monotonic_cs() -> u64 {
    sys::monotonic_us() / 10_000
}

/// Centiseconds since the node started (skynet_now).
pub fn now() -> u64 {
    clock().current.load(Ordering::Relaxed)
}

/// Wall-clock second the node started (skynet_starttime).
pub fn start_time() -> u32 {
    clock().start_time
}

/// What per-message profiling reads twice per message: a tick count (see sys::ticks; the
/// time-stamp counter costs ~8 ns here, the vDSO clock ~25 ns, the thread cpu clock, which
/// upstream reads, a system call of ~530 ns). Wall time, so it differs from cpu time only
/// while a callback blocks or its worker is preempted.
pub fn busy_ticks() -> u64 {
    sys::ticks()
}

/// A span of `busy_ticks` in microseconds.
pub fn busy_us(ticks: u64) -> u64 {
    sys::ticks_to_us(ticks)
}

/// This thread's cpu time in microseconds (skynet_thread_time).
pub fn thread_time() -> u64 {
    sys::thread_cpu_us()
}

/// Sends `handle` a PTYPE_RESPONSE with `session` after `ticks` centiseconds (now if <= 0).
/// Returns the session, or -1 if the service is gone for an immediate timeout.
pub fn timeout(handle: u32, ticks: i32, session: i32) -> i32 {
    if ticks <= 0 {
        let msg = Message::empty(0, session, PTYPE_RESPONSE);
        if context::push(handle, msg).is_err() {
            return -1;
        }
    } else {
        let mut w = clock().wheel.lock().unwrap_or_else(|e| e.into_inner());
        w.add(ticks as u32, Expiry { handle, session });
    }
    session
}

/// Called by the timer thread: catch the wheel up with the monotonic clock.
pub fn update() {
    let c = clock();
    let point = monotonic_cs();
    let last = c.last_point.load(Ordering::Relaxed);
    if point < last {
        crate::log::error(0, &format!("error: time diff error: change from {last} to {point}"));
        c.last_point.store(point, Ordering::Relaxed);
        return;
    }
    let diff = point - last;
    if diff == 0 {
        return;
    }
    c.last_point.store(point, Ordering::Relaxed);
    for _ in 0..diff {
        let mut fired = Vec::new();
        {
            let mut w = c.wheel.lock().unwrap_or_else(|e| e.into_inner());
            w.tick(&mut |e| fired.push(e));
        }
        c.current.fetch_add(1, Ordering::Relaxed);
        crate::scheduler::batch_pushes(|| {
            for e in fired {
                let msg = Message::empty(0, e.session, PTYPE_RESPONSE);
                // A service gone before its timer fired simply misses it.
                let _ = context::push(e.handle, msg);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(w: &mut Wheel, ticks: u32) -> Vec<(u32, i32)> {
        let mut out = Vec::new();
        for t in 1..=ticks {
            w.tick(&mut |e| out.push((t, e.session)));
        }
        out
    }

    #[test]
    fn fires_each_timer_on_its_tick() {
        let mut w = Wheel::new();
        let delays = [1u32, 2, 255, 256, 257, 1000, 16384, 16385, 70000];
        for (i, d) in delays.iter().enumerate() {
            w.add(*d, Expiry { handle: 1, session: i as i32 });
        }
        let fired = run(&mut w, 70001);
        let expect: Vec<(u32, i32)> = delays.iter().enumerate().map(|(i, d)| (*d, i as i32)).collect();
        assert_eq!(fired, expect);
    }

    #[test]
    fn handles_wrap_of_the_32_bit_tick_counter() {
        let mut w = Wheel::new();
        w.time = u32::MAX - 5;
        w.add(10, Expiry { handle: 1, session: 7 });
        let fired = run(&mut w, 20);
        assert_eq!(fired, vec![(10, 7)]);
    }

    #[test]
    fn timers_added_later_keep_their_own_delay() {
        let mut w = Wheel::new();
        run(&mut w, 300);
        w.add(300, Expiry { handle: 2, session: 1 });
        w.add(5, Expiry { handle: 2, session: 2 });
        let fired = run(&mut w, 301);
        assert_eq!(fired, vec![(5, 2), (300, 1)]);
    }
}
