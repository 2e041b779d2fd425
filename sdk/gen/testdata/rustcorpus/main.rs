// The Rust side of the gen rust corpus test (see dump.c): reads the bytes
// dump.c prints into the generated types and prints their fields; builds
// the same values through the generated fields and accessors and prints
// their bytes. Built for wasm32-wasi (the layout checks) and run on the
// build machine.
mod bpf;

use bpf::*;
use std::io::BufRead;
use wasm_bpf::Pod;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn hex(name: &str, b: &[u8]) {
    let s: String = b.iter().map(|x| format!("{:02x}", x)).collect();
    println!("built {} {}", name, s);
}

fn decode<T: Pod>(b: &[u8]) -> T {
    assert_eq!(b.len(), std::mem::size_of::<T>(), "C and Rust sizes differ");
    T::from_bytes(b).unwrap()
}

fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}

fn main() {
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let f: Vec<&str> = line.split(' ').collect();
        if f[0] != "bytes" {
            continue;
        }
        let b = unhex(f[2]);
        match f[1] {
            "awkward" => {
                let w: Awkward = decode(&b);
                println!("field awkward.a {}\nfield awkward.in.tag {}\nfield awkward.in.v {}", w.a, w.in_.tag, w.in_.v);
                println!("field awkward.nested {} {}\nfield awkward.un.u {}\nfield awkward.z {}", w.nested.x, w.nested.y, w.un.u(), w.anon4.z);
                println!("field awkward.bits {} {} {} {} {}", w.f1(), w.f2(), w.f3(), w.sf(), w.wide());
                println!("field awkward.c {}\nfield awkward.ptr {:x}", w.c.0, w.ptr);
                println!("field awkward.arr {} {}\nfield awkward.name {}", w.arr[0].tag, w.arr[1].v, cstr(&w.name));
                println!("field awkward.flag {}\nfield awkward.d {}\nfield awkward.type {}", w.flag, w.d, w.type_);
                assert_eq!(w.c, Color::NONE);
            }
            "holder" => {
                let h: Holder = decode(&b);
                let p = h.p;
                println!("field holder {} {} {} {} {}", h.x, { p.a }, { p.b }, { p.c }, h.after);
            }
            "top" => {
                let t: Top = decode(&b);
                let halves = t.halves();
                println!("field top {} {} {}", t.q(), halves.lo, halves.hi);
            }
            "anon" => {
                let k: AnonT = decode(&b);
                println!("field anon {} {}", k.k, k.kc.0);
            }
            other => panic!("unknown type {}", other),
        }
    }

    let mut w = Awkward::default();
    w.a = -5;
    w.in_.tag = b'T';
    w.in_.v = 0x1122334455667788;
    w.nested.x = -2;
    w.nested.y = b'y';
    w.un.set_u(0xa1b2c3d4);
    w.anon4.z = 77;
    w.set_f1(5);
    w.set_f2(17);
    w.set_f3(3000);
    w.set_sf(-3);
    w.set_wide(0xabcdef1234);
    w.c = Color::NONE;
    w.ptr = 0xffff888012345678;
    w.arr[0].tag = b'a';
    w.arr[1].v = 9;
    w.name.copy_from_slice(b"abcd\0");
    w.flag = 1;
    w.d = 2.5;
    w.type_ = 42;
    hex("awkward", w.as_bytes());

    let mut h = Holder::default();
    h.x = b'x';
    h.p = Pk { a: b'p', b: 0x0102030405060708, c: 0xbeef };
    h.after = 0xdeadbeef;
    hex("holder", h.as_bytes());

    let mut t = Top::default();
    t.set_halves(TopHalves { lo: 1, hi: 2 });
    hex("top", t.as_bytes());

    let k = AnonT { k: 7, kc: Color::GREEN };
    hex("anon", k.as_bytes());

    // The enum of 8 bytes (clang 14's BTF cuts its enumerators to 32 bits,
    // so only its size is checked), and the accessors of the maps and
    // globals, by their types.
    assert_eq!(std::mem::size_of::<Big>(), 8);
    let _: fn(&wasm_bpf::Object) -> wasm_bpf::Result<wasm_bpf::TypedMap<'_, u32, Awkward>> = open_awk;
    let _: fn(&wasm_bpf::Object) -> wasm_bpf::Result<wasm_bpf::TypedMap<'_, AnonT, Holder>> = open_holders;
    let _: fn(&mut wasm_bpf::ObjectBuilder<'_>, Pk) -> wasm_bpf::Result<()> = set_ro_pk;
    let _: fn(&mut wasm_bpf::ObjectBuilder<'_>, i32) -> wasm_bpf::Result<()> = set_data_x;
    let _: fn(&wasm_bpf::Object) -> wasm_bpf::Result<wasm_bpf::TypedMap<'_, u32, Bss>> = open_bss;
    let _: fn(&wasm_bpf::Object) -> wasm_bpf::Result<()> = attach_programs;
}
