//! The host ABI of wasm-bpf (docs/abi.md) and everything else in the crate
//! that needs `unsafe`: the imported functions, the record callback the
//! host calls through the guest's function table, and byte views of
//! [`Pod`] values. Every function here checks what the host will read or
//! write against the Rust slices it was given, so the rest of the crate
//! is safe code.

use core::mem::{size_of, MaybeUninit};
use core::ptr;

use crate::error::EINVAL;

/// `bpf_cmd` numbers of `wasm_bpf_map_operate`.
const CMD_LOOKUP: i32 = 1;
const CMD_UPDATE: i32 = 2;
const CMD_DELETE: i32 = 3;
const CMD_NEXT_KEY: i32 = 4;

#[cfg(target_arch = "wasm32")]
mod imp {
    // Pointers are i32 and u64 is i64 in the wasm signatures, as the ABI
    // says; the names are the import names.
    #[link(wasm_import_module = "wasm_bpf")]
    extern "C" {
        pub fn wasm_load_bpf_object(obj_buf: *const u8, obj_buf_sz: i32) -> u64;
        pub fn wasm_close_bpf_object(handle: u64) -> i32;
        pub fn wasm_attach_bpf_program(handle: u64, name: *const u8, attach_target: *const u8) -> i32;
        #[cfg(not(feature = "ext"))]
        pub fn wasm_bpf_buffer_poll(
            handle: u64,
            fd: i32,
            sample_func: i32,
            ctx: *mut u8,
            data: *mut u8,
            max_size: i32,
            timeout_ms: i32,
        ) -> i32;
        pub fn wasm_bpf_map_fd_by_name(handle: u64, name: *const u8) -> i32;
        pub fn wasm_bpf_map_operate(fd: i32, cmd: i32, key: *const u8, value: *mut u8, next_key: *mut u8, flags: u64) -> i32;
    }

    #[cfg(feature = "ext")]
    #[link(wasm_import_module = "wasm_bpf_ext")]
    extern "C" {
        pub fn wasm_bpf_buffer_poll_batch(handle: u64, fd: i32, buf: *mut u8, buf_size: i32, timeout_ms: i32) -> i32;
        pub fn wasm_bpf_last_error(buf: *mut u8, size: i32) -> i32;
    }
}

/// Off wasm32 (the crate's unit tests on the build machine) every host call
/// fails with ENOSYS and loads return no handle.
#[cfg(not(target_arch = "wasm32"))]
#[allow(dead_code)]
mod imp {
    use crate::error::ENOSYS;

    pub unsafe fn wasm_load_bpf_object(_: *const u8, _: i32) -> u64 {
        0
    }
    pub unsafe fn wasm_close_bpf_object(_: u64) -> i32 {
        0
    }
    pub unsafe fn wasm_attach_bpf_program(_: u64, _: *const u8, _: *const u8) -> i32 {
        -ENOSYS
    }
    pub unsafe fn wasm_bpf_buffer_poll(_: u64, _: i32, _: i32, _: *mut u8, _: *mut u8, _: i32, _: i32) -> i32 {
        -ENOSYS
    }
    pub unsafe fn wasm_bpf_map_fd_by_name(_: u64, _: *const u8) -> i32 {
        -ENOSYS
    }
    pub unsafe fn wasm_bpf_map_operate(_: i32, _: i32, _: *const u8, _: *mut u8, _: *mut u8, _: u64) -> i32 {
        -ENOSYS
    }
    #[cfg(feature = "ext")]
    pub unsafe fn wasm_bpf_buffer_poll_batch(_: u64, _: i32, _: *mut u8, _: i32, _: i32) -> i32 {
        -ENOSYS
    }
    #[cfg(feature = "ext")]
    pub unsafe fn wasm_bpf_last_error(_: *mut u8, _: i32) -> i32 {
        0
    }
}

/// A NUL-terminated string for the host, or None when `s` holds a NUL.
pub(crate) fn cstring(s: &str) -> Option<Vec<u8>> {
    if s.as_bytes().contains(&0) {
        return None;
    }
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    Some(v)
}

fn is_cstring(s: &[u8]) -> bool {
    s.last() == Some(&0)
}

/// Loads an ELF BPF object; 0 on any failure (the host says no more).
pub(crate) fn load(obj: &[u8]) -> u64 {
    if obj.is_empty() || obj.len() > i32::MAX as usize {
        return 0;
    }
    // SAFETY: the host reads obj.len() bytes from obj.
    unsafe { imp::wasm_load_bpf_object(obj.as_ptr(), obj.len() as i32) }
}

pub(crate) fn close(handle: u64) -> i32 {
    // SAFETY: no memory is passed.
    unsafe { imp::wasm_close_bpf_object(handle) }
}

/// `prog` and `target` must be NUL-terminated (see [`cstring`]).
pub(crate) fn attach(handle: u64, prog: &[u8], target: Option<&[u8]>) -> i32 {
    if !is_cstring(prog) || !target.map_or(true, is_cstring) {
        return -EINVAL;
    }
    let target = target.map_or(ptr::null(), |t| t.as_ptr());
    // SAFETY: both strings end with a NUL inside their slices.
    unsafe { imp::wasm_attach_bpf_program(handle, prog.as_ptr(), target) }
}

/// `name` must be NUL-terminated.
pub(crate) fn map_fd(handle: u64, name: &[u8]) -> i32 {
    if !is_cstring(name) {
        return -EINVAL;
    }
    // SAFETY: the string ends with a NUL inside its slice.
    unsafe { imp::wasm_bpf_map_fd_by_name(handle, name.as_ptr()) }
}

/// A map fd with the key and value sizes the kernel gave the map: the host
/// reads and writes exactly that many bytes at the pointers it is given,
/// so every call below checks its slices against them first. The crate
/// builds one only from the object's own BTF (see `object.rs`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MapFd {
    fd: i32,
    key_size: usize,
    value_size: usize,
    /// A per-CPU map's value is round_up(value_size, 8) bytes per possible
    /// CPU, a count the guest cannot learn: its values are refused.
    per_cpu: bool,
}

impl MapFd {
    pub(crate) fn new(fd: i32, key_size: u32, value_size: u32, per_cpu: bool) -> MapFd {
        MapFd { fd, key_size: key_size as usize, value_size: value_size as usize, per_cpu }
    }

    pub(crate) fn fd(&self) -> i32 {
        self.fd
    }

    fn key_ptr(&self, key: &[u8]) -> Option<*const u8> {
        if key.len() != self.key_size {
            return None;
        }
        // The host passes NULL for maps without keys whatever we give.
        Some(if self.key_size == 0 { ptr::null() } else { key.as_ptr() })
    }

    fn value_ok(&self, value: &[u8]) -> bool {
        !self.per_cpu && value.len() == self.value_size
    }

    fn operate(&self, cmd: i32, key: *const u8, value: *mut u8, next: *mut u8, flags: u64) -> i32 {
        // SAFETY: the callers checked every non-null pointer's slice against
        // the map's sizes, which are what the host reads or writes.
        unsafe { imp::wasm_bpf_map_operate(self.fd, cmd, key, value, next, flags) }
    }

    pub(crate) fn lookup(&self, key: &[u8], value: &mut [u8]) -> i32 {
        match self.key_ptr(key) {
            Some(k) if self.value_ok(value) => self.operate(CMD_LOOKUP, k, value.as_mut_ptr(), ptr::null_mut(), 0),
            _ => -EINVAL,
        }
    }

    pub(crate) fn update(&self, key: &[u8], value: &[u8], flags: u64) -> i32 {
        match self.key_ptr(key) {
            // The host only reads value.
            Some(k) if self.value_ok(value) => self.operate(CMD_UPDATE, k, value.as_ptr() as *mut u8, ptr::null_mut(), flags),
            _ => -EINVAL,
        }
    }

    pub(crate) fn delete(&self, key: &[u8]) -> i32 {
        match self.key_ptr(key) {
            Some(k) => self.operate(CMD_DELETE, k, ptr::null_mut(), ptr::null_mut(), 0),
            None => -EINVAL,
        }
    }

    /// Writes the key after `key` (the first key when None) into `next`.
    pub(crate) fn next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> i32 {
        let k = match key {
            None => ptr::null(),
            Some(k) => match self.key_ptr(k) {
                Some(p) => p,
                None => return -EINVAL,
            },
        };
        if next.len() != self.key_size || self.key_size == 0 {
            return -EINVAL;
        }
        self.operate(CMD_NEXT_KEY, k, ptr::null_mut(), next.as_mut_ptr(), 0)
    }
}

/// What the host's poll calls back with: the buffer it copies each record
/// into and the closure to hand it to.
#[cfg(not(feature = "ext"))]
struct PollCtx<'a, F> {
    data: *mut u8,
    len: usize,
    f: &'a mut F,
}

/// The function whose table index `wasm_bpf_buffer_poll` calls, once per
/// record, as `(ctx, data, size) -> i32` (one instance per closure type).
#[cfg(not(feature = "ext"))]
extern "C" fn trampoline<F: FnMut(&[u8]) -> i32>(ctx: *mut u8, data: *mut u8, size: u32) -> i32 {
    // SAFETY: ctx is the PollCtx<F> buffer_poll passed to the host for this
    // very call, alive until the host returns.
    let ctx = unsafe { &mut *(ctx as *mut PollCtx<'_, F>) };
    if data != ctx.data || size as usize > ctx.len {
        return -EINVAL; // not a record of our buffer
    }
    // SAFETY: data[0:size] lies inside the poll's buffer, which nothing else
    // uses while the host runs.
    let rec = unsafe { core::slice::from_raw_parts(data as *const u8, size as usize) };
    (ctx.f)(rec)
}

/// The classic poll: each record is copied into `buf` and `f` is called on
/// it, through the guest's exported function table. Returns the records
/// delivered or a negated errno (f's own negative result included).
#[cfg(not(feature = "ext"))]
pub(crate) fn buffer_poll<F: FnMut(&[u8]) -> i32>(handle: u64, fd: i32, buf: &mut [u8], timeout_ms: i32, f: &mut F) -> i32 {
    if buf.is_empty() || buf.len() > i32::MAX as usize {
        return -EINVAL;
    }
    let mut ctx = PollCtx { data: buf.as_mut_ptr(), len: buf.len(), f };
    // On wasm32 a function pointer is its index in __indirect_function_table.
    let func = trampoline::<F> as extern "C" fn(*mut u8, *mut u8, u32) -> i32 as usize as i32;
    let (data, len) = (ctx.data, ctx.len as i32);
    // SAFETY: the host writes at most len bytes at data (buf) and passes
    // ctx back to trampoline::<F> before it returns.
    unsafe { imp::wasm_bpf_buffer_poll(handle, fd, func, &mut ctx as *mut PollCtx<'_, F> as *mut u8, data, len, timeout_ms) }
}

/// The batched poll of wasm_bpf_ext: records framed into `buf`; returns the
/// bytes written or a negated errno.
#[cfg(feature = "ext")]
pub(crate) fn buffer_poll_batch(handle: u64, fd: i32, buf: &mut [u8], timeout_ms: i32) -> i32 {
    if buf.len() < 8 || buf.len() > i32::MAX as usize {
        return -EINVAL;
    }
    // SAFETY: the host writes at most buf.len() bytes into buf.
    unsafe { imp::wasm_bpf_buffer_poll_batch(handle, fd, buf.as_mut_ptr(), buf.len() as i32, timeout_ms) }
}

/// The Linux errno of the guest's last failed host call and the runtime's
/// explanation of it (wasm_bpf_ext.wasm_bpf_last_error: the cause and its
/// fix, as the runtime logs it), or None before any failure.
#[cfg(feature = "ext")]
pub(crate) fn last_error() -> Option<(i32, String)> {
    // 4096 bytes hold any explanation whole (docs/abi.md).
    let mut buf = vec![0u8; 4096];
    // SAFETY: the host writes at most buf.len() bytes into buf.
    let errno = unsafe { imp::wasm_bpf_last_error(buf.as_mut_ptr(), buf.len() as i32) };
    if errno <= 0 {
        return None;
    }
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    Some((errno, String::from_utf8_lossy(&buf[..end]).into_owned()))
}

/// A type whose values are plain bytes: `#[repr(C)]` (or transparent or
/// packed), made only of integers, floats and arrays and structs of them,
/// with no implicit padding, so that every byte pattern is a valid value
/// and every byte of a value is initialised. Map keys and values and the
/// records of ring and perf buffers are read and written as such.
///
/// # Safety
///
/// Implement it only for types that are all of the above. `wasm-bpf gen
/// rust` implements it for the types it writes, whose layout it makes the
/// compiler check (see [`crate::layout`]).
pub unsafe trait Pod: Copy + 'static {
    /// The value's bytes.
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: Pod values have no uninitialised bytes.
        unsafe { core::slice::from_raw_parts(self as *const Self as *const u8, size_of::<Self>()) }
    }

    /// The value's bytes, to be written.
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: every byte pattern is a valid Pod value.
        unsafe { core::slice::from_raw_parts_mut(self as *mut Self as *mut u8, size_of::<Self>()) }
    }

    /// The value whose bytes are all zero.
    fn zeroed() -> Self {
        // SAFETY: every byte pattern is a valid Pod value.
        unsafe { MaybeUninit::<Self>::zeroed().assume_init() }
    }

    /// A copy of the value at the start of `bytes` (a record, say), or
    /// None when `bytes` is shorter than the type; longer is fine.
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < size_of::<Self>() {
            return None;
        }
        // SAFETY: size_of::<Self>() bytes are readable; any pattern is valid.
        Some(unsafe { ptr::read_unaligned(bytes.as_ptr() as *const Self) })
    }
}

macro_rules! pod {
    ($($t:ty)*) => { $(
        // SAFETY: a primitive number: every pattern valid, no padding.
        unsafe impl Pod for $t {}
    )* };
}
pod!(u8 i8 u16 i16 u32 i32 u64 i64 f32 f64);

// SAFETY: an array of Pod has no padding between its elements.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

#[repr(C)]
union Probe<T: Copy, const N: usize> {
    value: T,
    bytes: [u8; N],
}

#[repr(C)]
union FirstByte<T: Copy> {
    value: T,
    byte: u8,
}

/// A value of `T` (of `N` bytes) whose byte at offset i is `i >> shift`: a
/// field of it read at compile time says where the field lies. See
/// [`crate::layout`].
pub const fn probe<T: Pod, const N: usize>(shift: u32) -> T {
    assert!(N == size_of::<T>(), "layout probe: N is not the size of T");
    let mut bytes = [0u8; N];
    let mut i = 0;
    while i < N {
        bytes[i] = (i >> shift) as u8;
        i += 1;
    }
    // SAFETY: N bytes, all initialised; any pattern is a valid Pod value.
    unsafe { Probe::<T, N> { bytes }.value }
}

/// The offset of a field, from its values in `probe::<T, N>(0)` and
/// `probe::<T, N>(8)` (offsets below 65536).
pub const fn offset<F: Pod>(lo: F, hi: F) -> usize {
    assert!(size_of::<F>() > 0, "layout probe: a field of no bytes has no first byte");
    // SAFETY: F has at least one byte, and it is initialised (Pod).
    unsafe { (FirstByte { value: lo }.byte as usize) | ((FirstByte { value: hi }.byte as usize) << 8) }
}

/// [`offset`] for types past 64 KiB: from `probe::<T, N>(0)`, `(8)` and
/// `(16)`.
pub const fn offset_wide<F: Pod>(lo: F, mid: F, hi: F) -> usize {
    offset(lo, mid) | (offset(hi, hi) & 0xff) << 16
}
