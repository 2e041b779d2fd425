// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

//! __NAME__ [-p PPID]: prints every exec on the machine (or only those of
//! PPID's children), from the ring buffer of __NAME__.bpf.c.

mod bpf; // written by wasm-bpf gen rust (make)

use std::process::exit;
use std::time::Duration;

use wasm_bpf::{Object, Pod};

const OBJECT: &[u8] = include_bytes!("../__NAME__.bpf.o");

/// A NUL-terminated string of a record, up to its NUL or its end.
fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}

fn run(ppid: u32) -> wasm_bpf::Result<()> {
    // Set the .rodata filter, then load: the kernel verifies the programs.
    let mut builder = Object::builder(OBJECT)?;
    bpf::set_target_ppid(&mut builder, ppid)?;
    let obj = builder.load()?;
    bpf::attach_programs(&obj)?; // handle_exec, as its section says
    let mut events = obj.ring_buffer("events", |rec: &[u8]| {
        if let Some(e) = bpf::Event::from_bytes(rec) {
            println!("{:<7} {:<7} {:<16} {}", e.pid, e.ppid, cstr(&e.comm), cstr(&e.filename));
        }
        0
    })?;
    println!("{:<7} {:<7} {:<16} {}", "PID", "PPID", "COMM", "FILENAME");
    loop {
        events.poll(Duration::from_millis(100))?;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ppid = match args.get(1).map(String::as_str) {
        None => 0,
        Some("-p") if args.len() == 3 => args[2].parse().unwrap_or_else(|_| {
            eprintln!("{}: bad PPID {}", args[0], args[2]);
            exit(2)
        }),
        _ => {
            eprintln!("usage: {} [-p PPID]", args[0]);
            exit(2)
        }
    };
    if let Err(e) = run(ppid) {
        eprintln!("__NAME__: {}", e);
        exit(1);
    }
}
