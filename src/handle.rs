//! The handle registry: handle -> service, and local names -> handle.
//!
//! A handle is 32 bits: the harbor id in the high 8, a local id in the low 24 (never 0).

use crate::context::Context;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

pub const HANDLE_MASK: u32 = 0xffffff;
pub const HANDLE_REMOTE_SHIFT: u32 = 24;
const INITIAL_SLOTS: usize = 4;

pub struct Registry {
    harbor: u32,
    slots: RwLock<Slots>,
    names: RwLock<BTreeMap<String, u32>>,
}

struct Slots {
    next: u32,
    table: Vec<Option<Arc<Context>>>,
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// Sets the harbor id; the first call wins (the registry is process-wide).
pub fn init(harbor: u32) {
    let _ = REGISTRY.set(Registry::new(harbor));
}

pub fn registry() -> &'static Registry {
    REGISTRY.get_or_init(|| Registry::new(0))
}

impl Registry {
    fn new(harbor: u32) -> Registry {
        Registry {
            harbor: (harbor & 0xff) << HANDLE_REMOTE_SHIFT,
            slots: RwLock::new(Slots { next: 1, table: vec![None; INITIAL_SLOTS] }),
            names: RwLock::new(BTreeMap::new()),
        }
    }

    /// Finds a free handle for the service built by `make` and stores it.
    pub fn register(&self, make: impl FnOnce(u32) -> Arc<Context>) -> (u32, Arc<Context>) {
        let mut s = self.slots.write().unwrap_or_else(|e| e.into_inner());
        loop {
            let size = s.table.len();
            let mut id = s.next;
            for _ in 0..size {
                if id > HANDLE_MASK {
                    id = 1;
                }
                let slot = id as usize & (size - 1);
                if s.table[slot].is_none() {
                    let handle = id | self.harbor;
                    let ctx = make(handle);
                    s.table[slot] = Some(ctx.clone());
                    s.next = id + 1;
                    return (handle, ctx);
                }
                id += 1;
            }
            // Full: double the table and rehash every live service into it.
            let mut table = vec![None; size * 2];
            for ctx in s.table.drain(..).flatten() {
                let slot = (ctx.handle() & HANDLE_MASK) as usize & (size * 2 - 1);
                table[slot] = Some(ctx);
            }
            s.table = table;
        }
    }

    pub fn grab(&self, handle: u32) -> Option<Arc<Context>> {
        let s = self.slots.read().unwrap_or_else(|e| e.into_inner());
        let slot = (handle & HANDLE_MASK) as usize & (s.table.len() - 1);
        match &s.table[slot] {
            Some(ctx) if ctx.handle() == handle => Some(ctx.clone()),
            _ => None,
        }
    }

    /// Runs `f` on a live service without taking a reference (the registry lock keeps it
    /// alive meanwhile); gives `arg` back if there is no such service.
    /// `f` must not call back into the registry.
    pub fn with<T>(&self, handle: u32, value: T, f: impl FnOnce(&Arc<Context>, T)) -> Result<(), T> {
        let s = self.slots.read().unwrap_or_else(|e| e.into_inner());
        let slot = (handle & HANDLE_MASK) as usize & (s.table.len() - 1);
        match &s.table[slot] {
            Some(ctx) if ctx.handle() == handle => {
                f(ctx, value);
                Ok(())
            }
            _ => Err(value),
        }
    }

    /// Removes a service and its names; true if it was registered.
    pub fn retire(&self, handle: u32) -> bool {
        let removed = {
            let mut s = self.slots.write().unwrap_or_else(|e| e.into_inner());
            let slot = (handle & HANDLE_MASK) as usize & (s.table.len() - 1);
            match &s.table[slot] {
                Some(ctx) if ctx.handle() == handle => s.table[slot].take(),
                _ => None,
            }
        };
        match removed {
            Some(ctx) => {
                ctx.mark_retired();
                self.names.write().unwrap_or_else(|e| e.into_inner()).retain(|_, h| *h != handle);
                // The last reference may be this one: release the service outside the locks,
                // as its module's release may call back into the registry.
                drop(ctx);
                true
            }
            None => false,
        }
    }

    /// Every live handle, for retire-all and diagnostics.
    pub fn handles(&self) -> Vec<u32> {
        let s = self.slots.read().unwrap_or_else(|e| e.into_inner());
        s.table.iter().flatten().map(|c| c.handle()).collect()
    }

    pub fn find_name(&self, name: &str) -> u32 {
        let names = self.names.read().unwrap_or_else(|e| e.into_inner());
        names.get(name).copied().unwrap_or(0)
    }

    /// Binds `name` to `handle` if the name is free and the handle is live; returns success.
    pub fn bind_name(&self, handle: u32, name: &str) -> bool {
        if self.grab(handle).is_none() {
            return false;
        }
        let mut names = self.names.write().unwrap_or_else(|e| e.into_inner());
        if names.contains_key(name) {
            return false;
        }
        names.insert(name.to_owned(), handle);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tests::new_context;

    #[test]
    fn handles_carry_the_harbor_and_grow_past_the_first_table() {
        let r = Registry::new(3);
        let handles: Vec<u32> = (0..100).map(|_| r.register(new_context).0).collect();
        for (i, h) in handles.iter().enumerate() {
            assert_eq!(h >> HANDLE_REMOTE_SHIFT, 3);
            assert_eq!(h & HANDLE_MASK, i as u32 + 1);
            assert_eq!(r.grab(*h).unwrap().handle(), *h);
        }
    }

    #[test]
    fn a_retired_handle_is_dead_and_not_reused_at_once() {
        let r = Registry::new(0);
        let (a, _) = r.register(new_context);
        assert!(r.bind_name(a, "svc"));
        assert!(r.retire(a));
        assert!(r.grab(a).is_none());
        assert_eq!(r.find_name("svc"), 0);
        assert!(!r.retire(a));
        let (b, _) = r.register(new_context);
        assert_ne!(a, b);
    }

    #[test]
    fn names_are_unique_and_need_a_live_handle() {
        let r = Registry::new(0);
        let (a, _) = r.register(new_context);
        let (b, _) = r.register(new_context);
        assert!(r.bind_name(a, "one"));
        assert!(!r.bind_name(b, "one"));
        assert!(r.bind_name(b, "two"));
        assert!(!r.bind_name(0x00ff_ffff, "three"));
        assert_eq!(r.find_name("one"), a);
        assert_eq!(r.find_name("two"), b);
    }
}
