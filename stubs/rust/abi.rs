// Canonical-ABI glue for the protostub world (stubs/wit/protostub.wit):
// the host imports behind safe wrappers, the stub exports, and cabi_realloc.
// A stub's crate root defines crate::init, on_messages, on_open, on_frame,
// on_close and on_timer, which the exports below call.
// Names and flat signatures match what `wasm-tools component new` expects
// of a core module for this world; stubs/c/protostub.c is the C twin.

use std::alloc::{alloc, dealloc, realloc, Layout};

#[link(wasm_import_module = "protofly:stub/host@0.1.0")]
extern "C" {
    #[link_name = "post"]
    fn host_post(ptr: *const u8, len: usize);
    #[link_name = "open"]
    fn host_open(url: *const u8, url_len: usize, protocols: *const [usize; 2], count: usize, ret: *mut RetArea);
    #[link_name = "send"]
    fn host_send(conn: u32, ptr: *const u8, len: usize, ret: *mut RetArea);
    #[link_name = "close"]
    fn host_close(conn: u32);
    #[link_name = "set-timer"]
    fn host_set_timer(ms: u32) -> u32;
    #[link_name = "clear-timer"]
    fn host_clear_timer(id: u32);
    #[link_name = "log"]
    fn host_log(level: u32, ptr: *const u8, len: usize);
}

// result<u32, string> and result<_, string> as the host writes them: the
// discriminant byte at 0, the payload from offset 4 (a u32, or ptr + len).
#[repr(C, align(4))]
struct RetArea([u8; 12]);

impl RetArea {
    fn new() -> Self {
        RetArea([0; 12])
    }
    fn word(&self, at: usize) -> u32 {
        let mut w = [0u8; 4];
        if let Some(bytes) = self.0.get(at..at + 4) {
            w.copy_from_slice(bytes);
        }
        u32::from_le_bytes(w)
    }
    // The err string lives in a block the host got from cabi_realloc; it
    // becomes ours here, so it is freed like any Rust string.
    unsafe fn take(&self) -> Result<u32, String> {
        if self.0[0] == 0 {
            return Ok(self.word(4));
        }
        let text = take_bytes(self.word(4) as usize as *mut u8, self.word(8) as usize);
        Err(String::from_utf8_lossy(&text).into_owned())
    }
}

/// Takes ownership of a list the host allocated through cabi_realloc with
/// alignment 1, which is exactly the layout a Vec<u8> of that capacity has.
unsafe fn take_bytes(ptr: *mut u8, len: usize) -> Vec<u8> {
    if ptr.is_null() || len == 0 {
        return Vec::new();
    }
    Vec::from_raw_parts(ptr, len, len)
}

// The canonical ABI cannot report an allocation failure, so there is
// nothing better than trapping (which the runtime reports as a stub trap).
#[no_mangle]
pub unsafe extern "C" fn cabi_realloc(old: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8 {
    let layout = match Layout::from_size_align(new_size, align) {
        Ok(layout) => layout,
        Err(_) => std::process::abort(),
    };
    let had_block = !old.is_null() && old_size != 0;
    if new_size == 0 {
        // A zero-sized list needs no memory, only an aligned non-null pointer.
        if had_block {
            dealloc(old, Layout::from_size_align_unchecked(old_size, align));
        }
        return align as *mut u8;
    }
    let fresh = if had_block {
        realloc(old, Layout::from_size_align_unchecked(old_size, align), new_size)
    } else {
        alloc(layout)
    };
    if fresh.is_null() {
        std::process::abort();
    }
    fresh
}

// ---- Host imports, safe ------------------------------------------------------

pub fn post(batch: &[u8]) {
    unsafe { host_post(batch.as_ptr(), batch.len()) }
}

pub fn open(url: &str, protocols: &[&str]) -> Result<u32, String> {
    // list<string> is an array of (ptr, len) pairs.
    let pairs: Vec<[usize; 2]> = protocols.iter().map(|p| [p.as_ptr() as usize, p.len()]).collect();
    let mut ret = RetArea::new();
    unsafe {
        host_open(url.as_ptr(), url.len(), pairs.as_ptr(), pairs.len(), &mut ret);
        ret.take()
    }
}

pub fn send(conn: u32, frame: &[u8]) -> Result<(), String> {
    let mut ret = RetArea::new();
    unsafe {
        host_send(conn, frame.as_ptr(), frame.len(), &mut ret);
        ret.take().map(|_| ())
    }
}

pub fn close(conn: u32) {
    unsafe { host_close(conn) }
}

/// 0 means the host refused (too many timers); it then stops the stub anyway.
pub fn set_timer(ms: u32) -> u32 {
    unsafe { host_set_timer(ms) }
}

pub fn clear_timer(id: u32) {
    unsafe { host_clear_timer(id) }
}

pub fn log(level: u8, text: &str) {
    unsafe { host_log(level as u32, text.as_ptr(), text.len()) }
}

// ---- Stub exports ----------------------------------------------------------
// Arguments arrive in blocks from cabi_realloc and are ours: they are taken
// into owned Vecs and freed when the call ends.

// init returns result<_, string> through this area; there is no post-return
// function, so the err text is kept here until the next init.
static mut INIT_RET: [u32; 3] = [0; 3];
static mut INIT_ERR: Vec<u8> = Vec::new();

#[export_name = "protofly:stub/stub@0.1.0#init"]
pub unsafe extern "C" fn export_init(ptr: *mut u8, len: usize) -> *const u32 {
    let config = take_bytes(ptr, len);
    match crate::init(&config) {
        Ok(()) => {
            INIT_RET = [0, 0, 0];
        }
        Err(text) => {
            INIT_ERR = text.into_bytes();
            INIT_RET = [1, INIT_ERR.as_ptr() as usize as u32, INIT_ERR.len() as u32];
        }
    }
    INIT_RET.as_ptr()
}

#[export_name = "protofly:stub/stub@0.1.0#on-messages"]
pub unsafe extern "C" fn export_on_messages(ptr: *mut u8, len: usize) {
    let batch = take_bytes(ptr, len);
    crate::on_messages(&batch);
}

#[export_name = "protofly:stub/stub@0.1.0#on-open"]
pub extern "C" fn export_on_open(conn: u32) {
    crate::on_open(conn);
}

#[export_name = "protofly:stub/stub@0.1.0#on-frame"]
pub unsafe extern "C" fn export_on_frame(conn: u32, ptr: *mut u8, len: usize) {
    let frame = take_bytes(ptr, len);
    crate::on_frame(conn, &frame);
}

#[export_name = "protofly:stub/stub@0.1.0#on-close"]
pub unsafe extern "C" fn export_on_close(conn: u32, ptr: *mut u8, len: usize) {
    let reason = take_bytes(ptr, len);
    crate::on_close(conn, &String::from_utf8_lossy(&reason));
}

#[export_name = "protofly:stub/stub@0.1.0#on-timer"]
pub extern "C" fn export_on_timer(id: u32) {
    crate::on_timer(id);
}
