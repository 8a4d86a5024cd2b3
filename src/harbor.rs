//! Routing to other nodes: a handle whose high 8 bits name another harbor, or a global name,
//! goes to the harbor service as a PTYPE_SYSTEM message carrying a `remote_message`.

use crate::context::{self, Context};
use crate::log;
use crate::message::{Message, Payload, PTYPE_ERROR, PTYPE_RESPONSE, PTYPE_SYSTEM};
use std::sync::atomic::{AtomicU32, Ordering::*};
use std::sync::{Arc, Mutex};

pub use crate::ffi::harbor::{RemoteBlock, RemoteName, GLOBALNAME_LENGTH};

static LOCAL_HARBOR: AtomicU32 = AtomicU32::new(0);
static HARBOR_SERVICE: AtomicU32 = AtomicU32::new(0);
/// The reference that keeps the reserved harbor service alive until `exit`.
static HARBOR_CONTEXT: Mutex<Option<Arc<Context>>> = Mutex::new(None);

pub fn init(harbor: u32) {
    LOCAL_HARBOR.store((harbor & 0xff) << 24, Relaxed);
}

/// The harbor service registers itself. It is reserved: it does not keep the node alive.
pub fn start(ctx: &Arc<Context>) {
    ctx.reserve();
    HARBOR_SERVICE.store(ctx.handle(), Release);
    *HARBOR_CONTEXT.lock().unwrap_or_else(|e| e.into_inner()) = Some(ctx.clone());
}

pub fn exit() {
    HARBOR_SERVICE.store(0, Release);
    let last = HARBOR_CONTEXT.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(last);
}

pub fn service() -> u32 {
    HARBOR_SERVICE.load(Acquire)
}

/// True when `handle` belongs to another harbor.
pub fn is_remote(handle: u32) -> bool {
    let h = handle & !0xffffff;
    h != LOCAL_HARBOR.load(Relaxed) && h != 0
}

pub fn send_to_handle(destination: u32, source: u32, session: i32, ptype: i32, payload: Payload) {
    let to = RemoteName { name: [0; GLOBALNAME_LENGTH], handle: destination };
    send_block(RemoteBlock::new(to, payload, ptype), source, session);
}

pub fn send_to_name(name: &str, source: u32, session: i32, ptype: i32, payload: Payload) {
    let mut to = RemoteName { name: [0; GLOBALNAME_LENGTH], handle: 0 };
    for (d, s) in to.name.iter_mut().zip(name.bytes()) {
        *d = s;
    }
    send_block(RemoteBlock::new(to, payload, ptype), source, session);
}

/// Hands a remote message to the harbor service (it frees the block and its payload).
pub fn send_block(block: RemoteBlock, source: u32, session: i32) {
    let harbor = service();
    let refused = if harbor == 0 {
        Some(block)
    } else {
        context::deliver(harbor, block, |b| Message::new(source, session, b.into_payload(), PTYPE_SYSTEM)).err()
    };
    if let Some(block) = refused {
        let ptype = block.ptype();
        drop(block);
        log::error(source, "error: no harbor service to route a remote message; dropped");
        // Nobody waits forever: a caller expecting a response gets an error instead.
        if session != 0 && ptype != PTYPE_RESPONSE && ptype != PTYPE_ERROR {
            let _ = context::push(source, Message::empty(0, session, PTYPE_ERROR));
        }
    }
}
