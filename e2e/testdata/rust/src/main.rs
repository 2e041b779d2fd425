// SPDX-License-Identifier: GPL-2.0

//! The Rust guest of the e2e tests (e2e/rust_test.go), on the wasm-bpf
//! crate of sdk/rust, built with and without its feature "ext":
//!
//! - `guest events ring|perf STOPCOMM [STOP_EVERY]`: as events.c, reports
//!   every exec ("event <pid> <ppid> <comm>") through events.bpf.o's ring or
//!   perf buffer until one of STOPCOMM; with STOP_EVERY the callback stops
//!   the poll at every STOP_EVERY-th record (no record may be lost or
//!   repeated for that).
//! - `guest maps PID NEWKEY DELKEY`: as maps.c, on the types `wasm-bpf gen
//!   rust` wrote for maps.bpf.o.
//! - `guest cases`: the SDK's refusals and errors ("case <name> <value>",
//!   "msg <name> <error>"), on rustsdk.bpf.o; then, after a line on stdin,
//!   what its program wrote at an exec.
//!
//! The test passes the objects' paths in WBR_*_OBJ at build time and
//! writes maps_bpf.rs and rustsdk_bpf.rs with gen rust.

mod maps_bpf;
mod rustsdk_bpf;

use std::cell::Cell;
use std::fmt::Display;
use std::io::BufRead;
use std::process::exit;
use std::time::Duration;

use wasm_bpf::{MapFlags, Object};

const EVENTS: &[u8] = include_bytes!(env!("WBR_EVENTS_OBJ"));
const MAPS: &[u8] = include_bytes!(env!("WBR_MAPS_OBJ"));
const RUSTSDK: &[u8] = include_bytes!(env!("WBR_RUSTSDK_OBJ"));
const REJECT: &[u8] = include_bytes!(env!("WBR_REJECT_OBJ"));

fn die(msg: impl Display) -> ! {
    eprintln!("guest error: {}", msg);
    exit(1);
}

/// A NUL-terminated string, up to its NUL or its end.
fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let r = match args.get(1).map(String::as_str) {
        Some("events") if args.len() == 4 || args.len() == 5 => events(&args[2], &args[3], args.get(4)),
        Some("maps") if args.len() == 5 => maps(&args[2], &args[3], &args[4]),
        Some("cases") if args.len() == 2 => cases(),
        _ => die("usage: guest events ring|perf STOPCOMM [STOP_EVERY] | maps PID NEWKEY DELKEY | cases"),
    };
    if let Err(e) = r {
        die(e);
    }
}

fn events(mode: &str, stop: &str, stop_every: Option<&String>) -> wasm_bpf::Result<()> {
    let perf = match mode {
        "ring" => false,
        "perf" => true,
        _ => die(format!("unknown mode {}", mode)),
    };
    let stop_every: u64 = stop_every.map_or(0, |s| s.parse().unwrap_or_else(|_| die("bad STOP_EVERY")));
    let obj = Object::load(EVENTS)?;
    let (seen, done) = (Cell::new(0u64), Cell::new(false));
    let on_record = |rec: &[u8]| -> i32 {
        if rec.len() < 24 {
            println!("short {}", rec.len());
            return 0;
        }
        let pid = u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
        let ppid = u32::from_le_bytes([rec[4], rec[5], rec[6], rec[7]]);
        let comm = cstr(&rec[8..24]);
        println!("event {} {} {}", pid, ppid, comm);
        seen.set(seen.get() + 1);
        if comm == stop {
            done.set(true);
        }
        if stop_every > 0 && seen.get() % stop_every == 0 {
            return -wasm_bpf::EAGAIN;
        }
        0
    };
    let mut buf = if perf { obj.perf_buffer("pb", on_record)? } else { obj.ring_buffer("rb", on_record)? };
    obj.attach(if perf { "handle_exec_pb" } else { "handle_exec_rb" })?;
    // The first poll creates the consumer: a perf buffer drops what is
    // written before its per-CPU rings exist.
    buf.consume()?;
    println!("ready");
    let mut stops = 0;
    while !done.get() {
        match buf.poll(Duration::from_millis(100)) {
            Ok(_) => {}
            Err(e) if stop_every > 0 && e.errno() == wasm_bpf::EAGAIN => stops += 1,
            Err(e) => return Err(e),
        }
    }
    drop(buf);
    println!("done {}", seen.get());
    println!("stops {}", stops);
    println!("close {}", code(obj.close()));
    Ok(())
}

/// 0 for Ok, the negated errno for an error, as the C guests print.
fn code<T>(r: wasm_bpf::Result<T>) -> i32 {
    r.map_or_else(|e| -e.errno(), |_| 0)
}

fn comm_key(s: &str) -> maps_bpf::CommKey {
    let mut k = maps_bpf::CommKey::default();
    let n = s.len().min(k.comm.len() - 1);
    k.comm[..n].copy_from_slice(&s.as_bytes()[..n]);
    k
}

fn maps(pid: &str, newkey: &str, delkey: &str) -> wasm_bpf::Result<()> {
    let pid: u32 = pid.parse().unwrap_or_else(|_| die("bad PID"));
    let obj = Object::load(MAPS)?;
    let filter = maps_bpf::open_filter_pid(&obj)?;
    let counts = maps_bpf::open_exec_counts(&obj)?;
    filter.update(&0, &pid, MapFlags::ANY)?;
    let check = filter.lookup(&0);
    println!("filter {} {}", code(check.clone()), check?.unwrap_or(0));
    maps_bpf::attach_programs(&obj)?;
    println!("ready");
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
        die("stdin closed before the dump line");
    }
    // First by keys and lookups, then with iter.
    for k in counts.keys() {
        let k = k?;
        match counts.lookup(&k)? {
            Some(v) => println!("count {} {}", cstr(&k.comm), v),
            None => println!("lookup_error {} -2", cstr(&k.comm)),
        }
    }
    println!("end first");
    println!("update {}", code(counts.update(&comm_key(newkey), &42, MapFlags::ANY)));
    let v = counts.lookup(&comm_key(newkey));
    println!("lookup {} {}", code(v.clone()), v?.unwrap_or(0));
    println!("delete {}", code(counts.delete(&comm_key(delkey))));
    println!("lookup_deleted {}", if counts.lookup(&comm_key(delkey))?.is_none() { -wasm_bpf::ENOENT } else { 0 });
    for kv in counts.iter() {
        let (k, v) = kv?;
        println!("count {} {}", cstr(&k.comm), v);
    }
    println!("end after");
    println!("close {}", code(obj.close()));
    Ok(())
}

/// Prints "case NAME VALUE" (0 or -errno) and, for an error, "msg NAME
/// ERROR".
fn case<T>(name: &str, r: wasm_bpf::Result<T>) -> Option<T> {
    match r {
        Ok(v) => {
            println!("case {} 0", name);
            Some(v)
        }
        Err(e) => {
            println!("case {} {}", name, -e.errno());
            println!("msg {} {}", name, e);
            None
        }
    }
}

fn cases() -> wasm_bpf::Result<()> {
    // Objects the crate refuses before the runtime sees them, and one the
    // kernel's verifier refuses.
    case("load_empty", Object::load(&[]));
    case("load_garbage", Object::load(b"garbage, not an ELF object"));
    case("load_truncated", Object::load(&EVENTS[..EVENTS.len() / 2]));
    case("load_verifier_reject", Object::load(REJECT));

    // Globals, set before load.
    let mut b = Object::builder(RUSTSDK)?;
    case("set_unknown", b.set_global("nosuch", &0u64));
    case("set_wrong_size", b.set_global("wbr_ro", &0u32));
    case("set_bss", b.set_global("wbr_bss", &0u64));
    case("set_ro", rustsdk_bpf::set_wbr_ro(&mut b, 12345));
    let obj = b.load()?;

    // Maps and buffers that are not there or not of their kind.
    case("map_unknown", obj.map("nosuch"));
    case("ring_on_hash", obj.ring_buffer("wbr_hash", |_: &[u8]| 0));
    case("perf_on_ring", obj.perf_buffer("wbr_rb", |_: &[u8]| 0));
    if let Some(mut rb) = case("ring", obj.ring_buffer("wbr_rb", |_: &[u8]| 0)) {
        case("buffer_size_4", rb.set_buffer_size(4));
        case("consume", rb.consume());
    }

    // Keys and values of the wrong size, refused before the call.
    let hash = obj.map("wbr_hash")?;
    case("key_short", hash.lookup(&[1, 2, 3]));
    case("value_short", hash.update(&[0; 4], &[0; 4], MapFlags::ANY));
    case("delete_key_long", hash.delete(&[0; 5]));
    case("typed_wrong", obj.map("wbr_hash")?.typed::<u64, u64>());
    case("percpu_lookup", obj.map("wbr_pcpu")?.lookup(&[0; 4]));
    case("percpu_typed", obj.map("wbr_pcpu")?.typed::<u32, u64>());

    // The kernel's answers, surfaced.
    let h = rustsdk_bpf::open_wbr_hash(&obj)?;
    println!("case lookup_missing {}", if h.lookup(&7)?.is_none() { "none" } else { "some" });
    case("update", h.update(&7, &42, MapFlags::ANY));
    case("update_noexist", h.update(&7, &43, MapFlags::NO_EXIST));
    case("update_exist_missing", h.update(&8, &1, MapFlags::EXIST));
    println!("case lookup_present {}", h.lookup(&7)?.unwrap_or(0));
    println!("case keys {}", h.keys().count());
    case("delete", h.delete(&7));
    case("delete_missing", h.delete(&7));
    println!("case keys_empty {}", h.keys().count());
    case("bytes_update", hash.update(&9u32.to_le_bytes(), &99u64.to_le_bytes(), MapFlags::ANY));
    println!("case bytes_lookup {}", hash.lookup(&9u32.to_le_bytes())?.map_or(0, |v| u64::from_le_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]])));

    // Programs.
    case("attach_unknown", obj.attach("nosuch"));
    case("attach_socket_no_target", obj.attach("wbr_sock"));
    case("attach_socket_no_iface", obj.attach_to("wbr_sock", "wbrnosuch0"));
    case("attach_name_nul", obj.attach("wbr\0prog"));

    // The globals' maps: the value set before load, the initial .data.
    println!("case rodata_value {}", rustsdk_bpf::open_rodata(&obj)?.lookup(&0)?.unwrap_or_default().wbr_ro);
    println!("case data_value {}", rustsdk_bpf::open_data(&obj)?.lookup(&0)?.unwrap_or_default().wbr_data);
    case("attach_prog", rustsdk_bpf::attach_programs(&obj));
    println!("cases done");

    // The test execs a process, then writes a line: the program has copied
    // the .rodata value (a constant to the verifier) plus .data into .bss.
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap_or(0);
    println!("case bss_after_exec {}", rustsdk_bpf::open_bss(&obj)?.lookup(&0)?.unwrap_or_default().wbr_bss);
    println!("close {}", code(obj.close()));
    Ok(())
}
