//! Busy polling: an idle worker that takes the socket loop polls it without waiting for a
//! short window before it blocks in it.
//!
//! Why: a thread that blocks gives up its core, and on a virtual machine an idle vCPU halts;
//! waking it for the reply that ends the wait costs tens of microseconds, more than a
//! loopback round trip to a database or a peer node takes. A reply that comes within the
//! window is picked up at once, by a core that never went to sleep.
//!
//! It pays only while replies do come within the window and nobody else wants the core, so
//! the policy watches both: a window that ends with nothing, or in which the kernel
//! preempted the poller (another runnable thread wanted this core), counts against it.
//! After a few of those in a row, busy polling stops for a pause that doubles while the
//! windows keep failing. An idle node therefore spends at most a few windows per pause, and
//! a loaded machine gets its cores back.

use super::sys;
use std::time::{Duration, Instant};

/// How long a window lasts: a loopback request/reply with a peer process on another core
/// takes 15-60 µs here.
const WINDOW: Duration = Duration::from_micros(50);

/// Failed windows in a row that start a pause.
const FAILS_BEFORE_PAUSE: u32 = 4;

const MIN_PAUSE: Duration = Duration::from_millis(1);
const MAX_PAUSE: Duration = Duration::from_millis(100);

pub struct BusyPoll {
    fails: u32,
    pause: Duration,
    paused_until: Option<Instant>,
}

/// One window under way; `end` tells the policy how it went.
pub struct Window {
    started: Instant,
    switches: i64,
}

impl Window {
    /// It has not yet run its length.
    pub fn is_open(&self) -> bool {
        self.started.elapsed() < WINDOW
    }
}

impl Default for BusyPoll {
    fn default() -> BusyPoll {
        BusyPoll { fails: 0, pause: MIN_PAUSE, paused_until: None }
    }
}

impl BusyPoll {
    /// A window, unless busy polling is paused.
    pub fn begin(&mut self) -> Option<Window> {
        let now = Instant::now();
        if self.paused_until.is_some_and(|t| now < t) {
            return None;
        }
        self.paused_until = None;
        Some(Window { started: now, switches: sys::involuntary_switches() })
    }

    /// The window is over; `came` says whether anything arrived in it.
    pub fn end(&mut self, w: Window, came: bool) {
        let preempted = sys::involuntary_switches() != w.switches;
        self.record(came && !preempted);
    }

    fn record(&mut self, paid: bool) {
        if paid {
            self.fails = 0;
            self.pause = MIN_PAUSE;
            return;
        }
        self.fails += 1;
        if self.fails >= FAILS_BEFORE_PAUSE {
            self.fails = 0;
            self.paused_until = Some(Instant::now() + self.pause);
            self.pause = (self.pause * 2).min(MAX_PAUSE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(b: &mut BusyPoll, came: bool) -> bool {
        match b.begin() {
            Some(_) => {
                b.record(came);
                true
            }
            None => false,
        }
    }

    #[test]
    fn windows_that_bring_replies_keep_it_going() {
        let mut b = BusyPoll::default();
        for _ in 0..100 {
            assert!(run(&mut b, true));
        }
    }

    #[test]
    fn empty_windows_pause_it_for_longer_each_time() {
        let mut b = BusyPoll::default();
        for _ in 0..FAILS_BEFORE_PAUSE {
            assert!(run(&mut b, false));
        }
        assert!(!run(&mut b, true), "paused after {FAILS_BEFORE_PAUSE} empty windows");
        assert_eq!(b.pause, MIN_PAUSE * 2);
        b.paused_until = None; // as when the pause is over
        for _ in 0..FAILS_BEFORE_PAUSE {
            assert!(run(&mut b, false));
        }
        assert_eq!(b.pause, MIN_PAUSE * 4);
        b.paused_until = None;
        assert!(run(&mut b, true));
        assert_eq!(b.pause, MIN_PAUSE, "a window that brought something resets the pause");
    }
}
