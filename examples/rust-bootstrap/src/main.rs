// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

//! rust-bootstrap traces process starts and exits (libbpf-bootstrap's
//! bootstrap, in Rust, on the kernel half of ../bootstrap), printing what
//! the C bootstrap prints. With -d MS it reports only exits of processes
//! that lived at least MS milliseconds: the BPF side filters on its
//! .rodata constant min_duration_ns, set in the object before load.

mod bpf; // written by wasm-bpf gen rust

use std::io::Write;
use std::process::exit;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasm_bpf::{Object, Pod};

const OBJECT: &[u8] = include_bytes!("../bootstrap.bpf.o");

fn usage(prog: &str) {
    eprintln!(
        "Usage: {} [-v] [-d MS]\n\
         BPF bootstrap demo application.\n\
         \n\
         It traces process start and exits and shows associated\n\
         information (filename, process duration, PID and PPID, etc).\n\
         \n  -d MS  Minimum process duration (ms) to report\n  -v     Verbose debug output",
        prog
    );
}

struct Args {
    verbose: bool,
    min_duration_ms: u64,
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let prog = argv.first().map_or("rust-bootstrap", |s| s.as_str());
    let mut args = Args { verbose: false, min_duration_ms: 0 };
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        match a {
            "-v" => args.verbose = true,
            "-h" => {
                usage(prog);
                exit(0);
            }
            _ if a.starts_with("-d") => {
                // -d MS or -dMS, as getopt takes them.
                let ms = if a.len() > 2 {
                    a[2..].to_string()
                } else {
                    i += 1;
                    argv.get(i).cloned().unwrap_or_default()
                };
                match ms.parse::<u64>() {
                    Ok(n) if n > 0 && n <= u64::MAX / 1_000_000 => args.min_duration_ms = n,
                    _ => {
                        eprintln!("Invalid duration: {}", ms);
                        usage(prog);
                        exit(1);
                    }
                }
            }
            _ => {
                eprintln!("Unexpected argument: {}", a);
                usage(prog);
                exit(1);
            }
        }
        i += 1;
    }
    args
}

/// The time of day, HH:MM:SS, in UTC (WASI has no time zone database).
fn time_of_day() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A NUL-terminated string of a record, up to its NUL or its end.
fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}

fn handle_event(data: &[u8]) -> i32 {
    let e = match bpf::Event::from_bytes(data) {
        Some(e) => e,
        None => {
            eprintln!("short record: {} bytes, expected {}", data.len(), std::mem::size_of::<bpf::Event>());
            return 0;
        }
    };
    let ts = time_of_day();
    let (comm, out) = (cstr(&e.comm), std::io::stdout());
    let mut out = out.lock();
    let r = if e.exit_event != 0 {
        write!(out, "{:<8} {:<5} {:<16} {:<7} {:<7} [{}]", ts, "EXIT", comm, e.pid, e.ppid, e.exit_code)
            .and_then(|_| if e.duration_ns != 0 { write!(out, " ({}ms)", e.duration_ns / 1_000_000) } else { Ok(()) })
            .and_then(|_| writeln!(out))
    } else {
        writeln!(out, "{:<8} {:<5} {:<16} {:<7} {:<7} {}", ts, "EXEC", comm, e.pid, e.ppid, cstr(&e.filename))
    };
    // Rust's stdout is line-buffered: each event is out as it is printed.
    if r.is_err() {
        return -wasm_bpf::EIO;
    }
    0
}

fn run(args: &Args) -> wasm_bpf::Result<()> {
    // Load & verify BPF programs, with the minimum duration in .rodata.
    let mut builder = Object::builder(OBJECT)?;
    bpf::set_min_duration_ns(&mut builder, args.min_duration_ms * 1_000_000)?;
    let obj = builder.load()?;
    // Attach tracepoints: handle_exec and handle_exit, as their sections say.
    bpf::attach_programs(&obj)?;
    let mut rb = obj.ring_buffer("rb", handle_event)?;
    if args.verbose {
        eprintln!("loaded, attached; polling ring buffer {}", rb.name());
    }
    println!("{:<8} {:<5} {:<16} {:<7} {:<7} {}", "TIME", "EVENT", "COMM", "PID", "PPID", "FILENAME/EXIT CODE");
    loop {
        match rb.poll(Duration::from_millis(100)) {
            Ok(_) => {}
            Err(e) if e.errno() == wasm_bpf::EINTR => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn main() {
    let args = parse_args();
    if let Err(e) = run(&args) {
        eprintln!("rust-bootstrap: {}", e);
        exit(1);
    }
}
