//! Routing to other nodes: a handle whose high 8 bits name another harbor, or a global name,
//! goes to the harbor service as a PTYPE_SYSTEM message carrying a `remote_message`.

use crate::context::{self, Context};
use crate::log;
use crate::message::{Message, PTYPE_ERROR, PTYPE_RESPONSE, PTYPE_SYSTEM};
use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering::*};
use std::sync::{Arc, Mutex};

pub const GLOBALNAME_LENGTH: usize = 16;

#[repr(C)]
pub struct RemoteName {
    pub name: [u8; GLOBALNAME_LENGTH],
    pub handle: u32,
}

/// Laid out as C's `struct remote_message`.
#[repr(C)]
pub struct RemoteMessage {
    pub destination: RemoteName,
    pub message: *const c_void,
    pub sz: usize,
    pub ty: i32,
}

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

/// Moves `rmsg` into a malloc'd block (the harbor service frees it with free()) and sends it.
fn deliver(rmsg: RemoteMessage, source: u32, session: i32) {
    // SAFETY: malloc of the struct's size, initialised by a write of the value.
    let data = unsafe {
        let p = libc::malloc(std::mem::size_of::<RemoteMessage>()) as *mut RemoteMessage;
        if p.is_null() {
            libc::free(rmsg.message as *mut c_void);
            return;
        }
        p.write(rmsg);
        p
    };
    // SAFETY: `data` is the malloc'd block just written; its payload came with `rmsg`.
    unsafe { send_raw(data, source, session) };
}

pub fn send_to_handle(destination: u32, source: u32, session: i32, ptype: i32, data: *mut c_void, size: usize) {
    let rmsg = RemoteMessage {
        destination: RemoteName { name: [0; GLOBALNAME_LENGTH], handle: destination },
        message: data,
        sz: size,
        ty: ptype,
    };
    deliver(rmsg, source, session);
}

pub fn send_to_name(name: &str, source: u32, session: i32, ptype: i32, data: *mut c_void, size: usize) {
    let mut n = [0u8; GLOBALNAME_LENGTH];
    for (d, s) in n.iter_mut().zip(name.bytes()) {
        *d = s;
    }
    let rmsg = RemoteMessage {
        destination: RemoteName { name: n, handle: 0 },
        message: data,
        sz: size,
        ty: ptype,
    };
    deliver(rmsg, source, session);
}

/// Sends a remote message built by C code (skynet_harbor_send): ownership of `rmsg` (malloc'd)
/// and its payload passes to the harbor service.
///
/// # Safety
/// `rmsg` is a malloc'd, initialised remote_message whose payload is malloc'd (or NULL);
/// the caller gives up both.
pub unsafe fn send_raw(rmsg: *mut RemoteMessage, source: u32, session: i32) {
    let harbor = service();
    let size = std::mem::size_of::<RemoteMessage>();
    let msg = Message::new(source, session, rmsg as *mut c_void, size, PTYPE_SYSTEM);
    if harbor == 0 || context::push(harbor, msg).is_err() {
        // SAFETY: the caller handed over a malloc'd remote_message and its payload.
        let ptype = unsafe {
            let ptype = (*rmsg).ty;
            libc::free((*rmsg).message as *mut c_void);
            libc::free(rmsg as *mut c_void);
            ptype
        };
        log::error(source, "error: no harbor service to route a remote message; dropped");
        // Nobody waits forever: a caller expecting a response gets an error instead.
        if session != 0 && ptype != PTYPE_RESPONSE && ptype != PTYPE_ERROR {
            let _ = context::push(source, Message::new(0, session, std::ptr::null_mut(), 0, PTYPE_ERROR));
        }
    }
}
