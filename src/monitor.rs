//! The endless-loop monitor: each worker stamps the message it runs; a watcher thread that
//! sees the same stamp twice, 5 seconds apart, reports the service and flags it.

use crate::handle::registry;
use crate::log;
use std::sync::atomic::{AtomicU32, Ordering::*};

#[derive(Default)]
pub struct Monitor {
    version: AtomicU32,
    checked: AtomicU32,
    source: AtomicU32,
    destination: AtomicU32,
}

impl Monitor {
    pub fn new() -> Monitor {
        Monitor::default()
    }

    /// Called by its worker around each message (0, 0 once done). Only that worker writes,
    /// so a plain store of the next version is enough (no read-modify-write).
    pub fn trigger(&self, source: u32, destination: u32) {
        self.source.store(source, Relaxed);
        self.destination.store(destination, Relaxed);
        self.version.store(self.version.load(Relaxed).wrapping_add(1), Release);
    }

    /// Called by the watcher every 5 seconds.
    pub fn check(&self) {
        let version = self.version.load(Acquire);
        if version == self.checked.load(Relaxed) {
            let destination = self.destination.load(Relaxed);
            if destination != 0 {
                if let Some(ctx) = registry().grab(destination) {
                    ctx.set_endless();
                }
                let source = self.source.load(Relaxed);
                log::error(
                    0,
                    &format!(
                        "error: A message from [ :{source:08x} ] to [ :{destination:08x} ] maybe in an endless loop (version = {version})"
                    ),
                );
            }
        } else {
            self.checked.store(version, Relaxed);
        }
    }
}
