//! Message payloads: the one place the core allocates and frees C buffers.
//!
//! skynet's rule is that a payload is a block from the C allocator and that whoever holds it
//! frees it with `free()`. [`Payload`] is that rule as a type: it owns its block, frees it
//! when dropped, and gives its pointer away only through [`Payload::into_raw`], when C code
//! (a service callback that keeps the message, a C caller) takes the block over.
//! [`Borrowed`] is a sender's buffer the core reads, or takes over when the sender says so.

use std::ffi::c_void;
use std::marker::PhantomData;

/// An owned block of `len` bytes from the C allocator (or no block at all).
///
/// The length keeps its top 8 bits free (a message is at most `usize::MAX >> 8` bytes): a
/// [`Message`](crate::message::Message) stores its type there, as C's skynet_message does,
/// so a queued message is 24 bytes.
#[derive(Debug)]
pub struct Payload {
    ptr: *mut u8,
    /// The length in the low 56 bits; the top 8 are the tag a message keeps there.
    sz: usize,
}

const LEN_MASK: usize = usize::MAX >> 8;
const TAG_SHIFT: u32 = usize::BITS - 8;

// SAFETY: a Payload is the only owner of its block; moving it to another thread moves the
// block with it, and the C allocator may free on any thread.
unsafe impl Send for Payload {}

/// A block of `size` bytes from malloc; out of memory ends the process, as skynet_malloc does.
fn alloc(size: usize) -> *mut u8 {
    // SAFETY: malloc may be called with any size; the result is checked below.
    let p = unsafe { libc::malloc(size.max(1)) } as *mut u8;
    if p.is_null() {
        std::alloc::handle_alloc_error(std::alloc::Layout::from_size_align(size.max(1), 1).unwrap());
    }
    p
}

impl Payload {
    /// No block: a message that carries nothing.
    pub const fn empty() -> Payload {
        Payload { ptr: std::ptr::null_mut(), sz: 0 }
    }

    /// A copy of `bytes`, with a NUL after them (not counted in the length), as skynet copies.
    pub fn copy_of(bytes: &[u8]) -> Payload {
        Payload::with_header(&(), bytes)
    }

    /// `a` then `b` in one block (a datagram and its sender's address), NUL after them.
    pub fn concat(a: &[u8], b: &[u8]) -> Payload {
        let len = a.len() + b.len();
        let ptr = alloc(len + 1);
        // SAFETY: `ptr` has room for len + 1 bytes; the sources are valid for their lengths
        // and cannot overlap a fresh block.
        unsafe {
            std::ptr::copy_nonoverlapping(a.as_ptr(), ptr, a.len());
            std::ptr::copy_nonoverlapping(b.as_ptr(), ptr.add(a.len()), b.len());
            *ptr.add(len) = 0;
        }
        Payload { ptr, sz: len & LEN_MASK }
    }

    /// The bytes of `head` (a plain C struct) followed by `tail` and a NUL not counted in the
    /// length: how socket events and remote messages are laid out.
    pub fn with_header<H: Copy>(head: &H, tail: &[u8]) -> Payload {
        let head_len = std::mem::size_of::<H>();
        let len = head_len + tail.len();
        let ptr = alloc(len + 1);
        // SAFETY: `ptr` has room for len + 1 bytes; the sources are valid for their lengths
        // and cannot overlap a fresh block.
        unsafe {
            std::ptr::copy_nonoverlapping(head as *const H as *const u8, ptr, head_len);
            std::ptr::copy_nonoverlapping(tail.as_ptr(), ptr.add(head_len), tail.len());
            *ptr.add(len) = 0;
        }
        Payload { ptr, sz: len & LEN_MASK }
    }

    /// Takes over a block C code hands the core.
    ///
    /// # Safety
    /// `ptr` is NULL or a block from the C allocator with at least `len` readable bytes,
    /// which nobody else frees or uses from now on. (A NULL block keeps its length, as a
    /// skynet message may carry a size without data.)
    pub unsafe fn from_raw(ptr: *mut c_void, len: usize) -> Payload {
        Payload { ptr: ptr as *mut u8, sz: len & LEN_MASK }
    }

    /// Gives the block away: the receiver frees it from now on.
    pub fn into_raw(self) -> *mut c_void {
        let p = self.ptr as *mut c_void;
        std::mem::forget(self);
        p
    }

    /// The block, still owned by this payload (NULL for none).
    pub fn as_ptr(&self) -> *const c_void {
        self.ptr as *const c_void
    }

    pub fn len(&self) -> usize {
        self.sz & LEN_MASK
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_null(&self) -> bool {
        self.ptr.is_null()
    }

    pub fn bytes(&self) -> &[u8] {
        if self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: a payload's block holds `len` bytes (the constructors' promise).
            unsafe { std::slice::from_raw_parts(self.ptr, self.len()) }
        }
    }

    /// The 8-bit tag kept beside the length (a message's type).
    pub(crate) fn tag(&self) -> u8 {
        (self.sz >> TAG_SHIFT) as u8
    }

    pub(crate) fn set_tag(&mut self, tag: u8) {
        self.sz = self.len() | (tag as usize) << TAG_SHIFT;
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: the block came from the C allocator and is owned by this payload alone.
            unsafe { libc::free(self.ptr as *mut c_void) };
        }
    }
}

/// A buffer a C sender passes to skynet_send: the core copies it, or, with
/// PTYPE_TAG_DONTCOPY, takes it over (then dropping it frees it).
pub struct Borrowed<'a> {
    ptr: *mut u8,
    len: usize,
    owned: bool,
    _buffer: PhantomData<&'a [u8]>,
}

impl<'a> Borrowed<'a> {
    /// # Safety
    /// `ptr` is NULL or points to `len` readable bytes for `'a`; when `owned`, it is a block
    /// from the C allocator that the core alone frees from now on.
    pub unsafe fn new(ptr: *mut c_void, len: usize, owned: bool) -> Borrowed<'a> {
        Borrowed { ptr: ptr as *mut u8, len, owned, _buffer: PhantomData }
    }

    /// The same bytes, as a Rust slice (for tests and callers in Rust).
    pub fn from_slice(bytes: &'a [u8]) -> Borrowed<'a> {
        Borrowed { ptr: bytes.as_ptr() as *mut u8, len: bytes.len(), owned: false, _buffer: PhantomData }
    }

    pub fn is_null(&self) -> bool {
        self.ptr.is_null()
    }

    /// The length the sender gave (checked against the message limit before any read).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> &[u8] {
        if self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: `new`'s promise: `len` readable bytes.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }

    /// The payload to queue: the sender's own block when it gave it up, else a copy.
    pub fn into_payload(self) -> Payload {
        if self.ptr.is_null() {
            return Payload { ptr: std::ptr::null_mut(), sz: self.len & LEN_MASK };
        }
        let this = std::mem::ManuallyDrop::new(self);
        if this.owned {
            Payload { ptr: this.ptr, sz: this.len & LEN_MASK }
        } else {
            Payload::copy_of(this.bytes())
        }
    }
}

impl Drop for Borrowed<'_> {
    fn drop(&mut self) {
        if self.owned && !self.ptr.is_null() {
            // SAFETY: an owned buffer is the core's to free (`new`'s promise).
            unsafe { libc::free(self.ptr as *mut c_void) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_nul_terminated_and_owned() {
        let p = Payload::copy_of(b"hello");
        assert_eq!(p.bytes(), b"hello");
        // SAFETY: copy_of writes a NUL after the bytes.
        assert_eq!(unsafe { *(p.as_ptr() as *const u8).add(5) }, 0);
        let raw = p.into_raw();
        // SAFETY: taken back from into_raw just above.
        let back = unsafe { Payload::from_raw(raw, 5) };
        assert_eq!(back.bytes(), b"hello");
    }

    #[test]
    fn a_borrowed_buffer_is_copied_unless_given_up() {
        let text = *b"abc";
        let p = Borrowed::from_slice(&text).into_payload();
        assert_ne!(p.as_ptr(), text.as_ptr() as *const c_void);
        assert_eq!(p.bytes(), b"abc");
        let owned = Payload::copy_of(b"xyz").into_raw();
        // SAFETY: a malloc'd block of 3 bytes, given up here.
        let p = unsafe { Borrowed::new(owned, 3, true) }.into_payload();
        assert_eq!(p.as_ptr(), owned as *const c_void);
        assert!(Payload::empty().bytes().is_empty());
    }
}
