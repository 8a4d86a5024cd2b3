//! skynet_harbor.h: `struct remote_message` and the harbor entry points.

use super::context;
use crate::handle::registry;
use crate::harbor;
use crate::message::Payload;
use std::ffi::{c_int, c_void};

pub const GLOBALNAME_LENGTH: usize = 16;

/// Laid out as C's `struct remote_name`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RemoteName {
    pub name: [u8; GLOBALNAME_LENGTH],
    pub handle: u32,
}

/// Laid out as C's `struct remote_message`.
#[repr(C)]
#[derive(Clone, Copy)]
struct RemoteMessage {
    destination: RemoteName,
    message: *const c_void,
    sz: usize,
    ty: c_int,
}

/// A malloc'd `remote_message` that owns the payload it points to: what the harbor service
/// receives (and frees) as a PTYPE_SYSTEM message. Dropped undelivered, it frees both.
pub struct RemoteBlock(Payload);

impl RemoteBlock {
    pub fn new(destination: RemoteName, payload: Payload, ptype: i32) -> RemoteBlock {
        let sz = payload.len();
        let rmsg = RemoteMessage { destination, message: payload.into_raw(), sz, ty: ptype };
        RemoteBlock(Payload::with_header(&rmsg, &[]))
    }

    /// # Safety
    /// `rmsg` is a malloc'd, initialised remote_message whose payload is malloc'd (or NULL);
    /// the caller gives up both.
    pub unsafe fn from_raw(rmsg: *mut c_void) -> RemoteBlock {
        // SAFETY: the caller's promise.
        RemoteBlock(unsafe { Payload::from_raw(rmsg, std::mem::size_of::<RemoteMessage>()) })
    }

    fn header(&self) -> RemoteMessage {
        // SAFETY: the block holds a remote_message (both constructors' promise); it may be
        // unaligned when C made it oddly, hence the unaligned read.
        unsafe { (self.0.as_ptr() as *const RemoteMessage).read_unaligned() }
    }

    /// The type of the message inside.
    pub fn ptype(&self) -> i32 {
        self.header().ty
    }

    /// Hands the block (and the payload inside) to the message that carries it.
    pub fn into_payload(self) -> Payload {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: read out of a ManuallyDrop that is never used again: moved, not copied.
        unsafe { std::ptr::read(&this.0) }
    }
}

impl Drop for RemoteBlock {
    fn drop(&mut self) {
        let inner = self.header();
        // SAFETY: the block owns the payload it points to (the constructors' promise).
        drop(unsafe { Payload::from_raw(inner.message as *mut c_void, inner.sz) });
    }
}

/// # Safety
/// `rmsg` is a malloc'd remote_message whose ownership (with its payload) passes on.
#[no_mangle]
pub unsafe extern "C" fn skynet_harbor_send(rmsg: *mut c_void, source: u32, session: c_int) {
    if !rmsg.is_null() {
        // SAFETY: as documented.
        harbor::send_block(unsafe { RemoteBlock::from_raw(rmsg) }, source, session);
    }
}

#[no_mangle]
pub extern "C" fn skynet_harbor_message_isremote(handle: u32) -> c_int {
    harbor::is_remote(handle) as c_int
}

#[no_mangle]
pub extern "C" fn skynet_harbor_init(harbor: c_int) {
    harbor::init(harbor as u32);
}

/// # Safety
/// `ctx` is the live context of the harbor service.
#[no_mangle]
pub unsafe extern "C" fn skynet_harbor_start(ctx: *mut c_void) {
    // SAFETY: as documented.
    if let Some(c) = unsafe { context(ctx) } {
        if let Some(arc) = registry().grab(c.handle()) {
            harbor::start(&arc);
        }
    }
}

#[no_mangle]
pub extern "C" fn skynet_harbor_exit() {
    harbor::exit();
}
