//! The guest SDK of wasm-bpf for Rust programs built for `wasm32-wasi`.
//!
//! A guest embeds a BPF object (`clang -g -O2 -target bpf`), loads it into
//! the kernel through the runtime, attaches its programs and reads its
//! maps and its ring or perf buffers:
//!
//! ```no_run
//! use std::time::Duration;
//! use wasm_bpf::{MapFlags, Object};
//!
//! # fn main() -> Result<(), wasm_bpf::Error> {
//! # const OBJECT: &[u8] = &[];
//! // const OBJECT: &[u8] = include_bytes!("../execve.bpf.o");
//! let obj = Object::load(OBJECT)?;
//! obj.attach("handle_execve")?;
//! let counts = obj.map("counts")?.typed::<u32, u64>()?;
//! counts.update(&0, &0, MapFlags::ANY)?;
//! let mut events = obj.ring_buffer("events", |rec: &[u8]| {
//!     println!("{} bytes", rec.len());
//!     0
//! })?;
//! loop {
//!     events.poll(Duration::from_millis(100))?;
//! }
//! # }
//! ```
//!
//! `wasm-bpf gen rust FOO.bpf.o > src/bpf.rs` writes the Rust types of the
//! object's records, map keys and values with the kernel's layout (checked
//! by the compiler), and typed `open_MAP`, `set_VARIABLE` and
//! `attach_programs` functions.
//!
//! The crate reads the object's BTF itself to learn each map's key and
//! value sizes: the runtime reads and writes exactly that many bytes, so
//! every map call is checked against them before the runtime sees it.
//! Errors carry the Linux errno the runtime returned (or the one the crate
//! chose when it refused a call itself), with what the crate knows of the
//! cause.
//!
//! # Building a guest
//!
//! With Debian's toolchain (`rustc`, `cargo`, `libstd-rust-dev-wasm32`):
//!
//! ```text
//! RUSTC=/usr/bin/rustc /usr/bin/cargo build --offline --release --target wasm32-wasi
//! ```
//!
//! Ring and perf buffer records reach the closure through the guest's
//! function table, which the runtime calls: the guest must export it. Put
//! this `build.rs` beside the guest's `Cargo.toml`:
//!
//! ```text
//! fn main() {
//!     if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
//!         println!("cargo:rustc-link-arg=--export-table");
//!     }
//! }
//! ```
//!
//! # Feature "ext"
//!
//! Uses this runtime's extensions (import module `wasm_bpf_ext`): buffers
//! are read with the batched poll, which moves many records per host call
//! and calls no guest function (no exported table needed). A guest built
//! with it runs only on this runtime; without it, on every wasm-bpf
//! runtime (the C++ and Rust ones too).
//!
//! Off wasm32 the crate compiles, so that code using it can be unit-tested
//! on the build machine, but every host call fails with ENOSYS.

mod buffer;
mod elf;
mod error;
mod map;
mod object;
mod sys;

pub use buffer::{Buffer, DEFAULT_BUFFER_SIZE};
pub use elf::MapInfo;
pub use error::*;
pub use map::{Key, Keys, Map, MapFlags, TypedMap};
pub use object::{Object, ObjectBuilder};
pub use sys::Pod;

/// Compile-time layout checks, for the code `wasm-bpf gen rust` writes.
///
/// Rust 1.63 has no `offset_of!`. A type's field offsets are checked in
/// const evaluation instead: [`probe`] makes a value of the type whose byte
/// at offset i is `i >> shift`, and [`offset`] reads a field's first byte
/// from two such values, which is the field's offset:
///
/// ```
/// use wasm_bpf::layout::{offset, probe};
///
/// #[repr(C)]
/// #[derive(Clone, Copy)]
/// struct Event {
///     pid: u32,
///     _pad0: [u8; 4],
///     ts: u64,
/// }
/// unsafe impl wasm_bpf::Pod for Event {}
///
/// const _: () = {
///     assert!(core::mem::size_of::<Event>() == 16);
///     const LO: Event = probe::<Event, 16>(0);
///     const HI: Event = probe::<Event, 16>(8);
///     assert!(offset(LO.ts, HI.ts) == 8, "Event.ts is not where the kernel puts it");
/// };
/// ```
///
/// A failed `assert!` in a constant is a compile error.
pub mod layout {
    pub use crate::sys::{offset, offset_wide, probe};
    use crate::Pod;

    /// The member of type `T` at byte `off` of a union's bytes.
    pub fn read<T: Pod>(bytes: &[u8], off: usize) -> T {
        bytes.get(off..).and_then(T::from_bytes).expect("union member past the union's bytes")
    }

    /// Writes `value` at byte `off` of a union's bytes.
    pub fn write<T: Pod>(bytes: &mut [u8], off: usize, value: &T) {
        let v = value.as_bytes();
        bytes[off..off + v.len()].copy_from_slice(v);
    }

    /// The bytes [bit / 8, (bit + width + 7) / 8) of `bytes` as one little
    /// endian number.
    fn load(bytes: &[u8], bit: u32, width: u32) -> u128 {
        let (first, end) = ((bit / 8) as usize, ((bit + width + 7) / 8) as usize);
        bytes[first..end].iter().rev().fold(0u128, |v, &b| v << 8 | b as u128)
    }

    fn mask(width: u32) -> u128 {
        (1u128 << width) - 1
    }

    /// The unsigned bitfield of `width` bits (at most 64) at bit `bit` of
    /// `bytes`, bits counted from the least significant of byte 0, as
    /// little-endian kernels store them.
    pub fn get_bits(bytes: &[u8], bit: u32, width: u32) -> u64 {
        (load(bytes, bit, width) >> (bit % 8) & mask(width)) as u64
    }

    /// The signed bitfield of `width` bits at bit `bit`, sign-extended.
    pub fn get_bits_signed(bytes: &[u8], bit: u32, width: u32) -> i64 {
        let shift = 64 - width;
        ((get_bits(bytes, bit, width) << shift) as i64) >> shift
    }

    /// Sets the bitfield of `width` bits at bit `bit` to the low bits of
    /// `value`, leaving the bits around it as they are.
    pub fn set_bits(bytes: &mut [u8], bit: u32, width: u32, value: u64) {
        let shift = bit % 8;
        let v = load(bytes, bit, width) & !(mask(width) << shift) | (value as u128 & mask(width)) << shift;
        let first = (bit / 8) as usize;
        for (i, b) in bytes[first..((bit + width + 7) / 8) as usize].iter_mut().enumerate() {
            *b = (v >> (8 * i)) as u8;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn bits() {
            let mut b = [0u8; 9];
            set_bits(&mut b, 3, 5, 0b10110);
            assert_eq!(b[0], 0b1011_0000);
            assert_eq!(get_bits(&b, 3, 5), 0b10110);
            set_bits(&mut b, 6, 7, 0x7f); // across a byte boundary
            assert_eq!((b[0], b[1]), (0b1111_0000, 0b0001_1111));
            assert_eq!(get_bits(&b, 3, 3), 0b110); // the neighbour kept its low bits
            assert_eq!(get_bits_signed(&b, 6, 7), -1);
            set_bits(&mut b, 6, 7, 5);
            assert_eq!(get_bits_signed(&b, 6, 7), 5);
            set_bits(&mut b, 7, 64, u64::MAX - 1); // 64 bits over 9 bytes
            assert_eq!(get_bits(&b, 7, 64), u64::MAX - 1);
            assert_eq!(get_bits(&b, 6, 1), 1);
            set_bits(&mut b, 0, 1, 9); // only the low bits count
            assert_eq!(get_bits(&b, 0, 1), 1);
        }

        #[test]
        fn union_members() {
            let mut u = [0u8; 8];
            write(&mut u, 0, &0x0102_0304u32);
            assert_eq!(read::<u16>(&u, 0), 0x0304);
            assert_eq!(read::<[u8; 2]>(&u, 2), [2, 1]);
        }
    }
}
