//! Worker threads: each runs batches of service messages, sized by its weight, and sleeps
//! when there is nothing to run.

use crate::context;
use crate::monitor::Monitor;
use crate::mq::{global, GlobalQueue};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Batch size per worker as upstream weights it: -1 runs one message per turn, 0 the whole
/// queue, n a 1/2^n share. Workers past the table run whole queues.
const WEIGHTS: [i32; 32] = [
    -1, -1, -1, -1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
];

pub fn weight(worker: usize) -> i32 {
    WEIGHTS.get(worker).copied().unwrap_or(0)
}

/// How many times an idle worker looks again before it sleeps: cheap compared with the
/// ~15 µs a futex wake costs on a busy machine.
const SPINS_BEFORE_SLEEP: u32 = 64;

pub fn spawn_workers(monitors: &[Arc<Monitor>]) -> Vec<JoinHandle<()>> {
    monitors
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let m = m.clone();
            std::thread::Builder::new()
                .name(format!("skynet-worker-{i}"))
                .spawn(move || run_worker(&m, weight(i)))
                .expect("spawn worker thread")
        })
        .collect()
}

fn run_worker(monitor: &Monitor, weight: i32) {
    GlobalQueue::mark_worker_thread();
    let mut queue = None;
    let mut idle = 0u32;
    while !global().quitting() {
        queue = context::dispatch_batch(monitor, queue, weight);
        if queue.is_some() {
            if idle > 0 {
                global().stop_looking();
                idle = 0;
            }
            continue;
        }
        if idle == 0 {
            global().start_looking();
        }
        idle += 1;
        if idle < SPINS_BEFORE_SLEEP {
            std::hint::spin_loop();
        } else {
            // The timeout only bounds the damage of a lost wake; wakes come from pushes.
            // Back from sleep, the worker looks again.
            global().sleep(Duration::from_millis(100));
            idle = 1;
        }
    }
    if idle > 0 {
        global().stop_looking();
    }
    crate::mq::flush_next();
}
