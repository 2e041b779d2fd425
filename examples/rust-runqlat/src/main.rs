// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

//! rust-runqlat [INTERVAL [COUNT]]: every INTERVAL seconds (default 1),
//! prints the log2 histogram of run-queue latency that the BPF side of
//! ../runqlat keeps in its hists map, then clears it; stops after COUNT
//! intervals (default: never).

mod bpf; // written by wasm-bpf gen rust

use std::process::exit;
use std::thread::sleep;
use std::time::Duration;

use wasm_bpf::{MapFlags, Object};

const OBJECT: &[u8] = include_bytes!("../runqlat.bpf.o");

fn usage(prog: &str) -> ! {
    eprintln!("Usage: {} [INTERVAL [COUNT]]", prog);
    exit(1);
}

/// bcc's print_log2_hist.
fn print_log2_hist(vals: &[u32], val_type: &str) {
    let idx_max = match vals.iter().rposition(|&v| v > 0) {
        Some(i) => i,
        None => return,
    };
    let val_max = vals.iter().copied().max().unwrap_or(0);
    println!("{:5}{:<19} : count    distribution", "", val_type);
    for (i, &v) in vals.iter().enumerate().take(idx_max + 1) {
        let (mut low, high) = ((1u64 << (i + 1)) >> 1, (1u64 << (i + 1)) - 1);
        if low == high {
            low -= 1;
        }
        let stars = if val_max > 0 { (u64::from(v) * 40 / u64::from(val_max)) as usize } else { 0 };
        println!("{:>10} -> {:<10} : {:<8} |{}|", low, high, v, "*".repeat(stars));
    }
}

fn run(interval: u64, mut count: i64) -> wasm_bpf::Result<()> {
    let obj = Object::load(OBJECT)?;
    bpf::attach_programs(&obj)?; // the three tp_btf hooks
    // Written by wasm-bpf gen rust: typed views of the hists and .bss maps.
    let hists = bpf::open_hists(&obj)?;
    let bss = bpf::open_bss(&obj)?;
    println!("Tracing run queue latency... Hit Ctrl-C to end.");
    while count != 0 {
        sleep(Duration::from_secs(interval));
        // hists is an array of one histogram; summing over every key would
        // serve as well for a map of one histogram per key.
        let mut total = bpf::Hist::default();
        for k in hists.keys() {
            if let Some(h) = hists.lookup(&k?)? {
                for (t, v) in total.slots.iter_mut().zip(h.slots.iter()) {
                    *t += v;
                }
            }
        }
        let globals = bss.lookup(&0)?.unwrap_or_default();
        println!();
        print_log2_hist(&total.slots, "usecs");
        println!("total samples: {}", globals.total_samples);
        for k in hists.keys() {
            hists.update(&k?, &bpf::Hist::default(), MapFlags::ANY)?;
        }
        count -= 1;
    }
    Ok(())
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let prog = argv.first().map_or("rust-runqlat", |s| s.as_str());
    if argv.len() > 3 {
        usage(prog);
    }
    let interval = match argv.get(1).map(|a| a.parse::<u64>()) {
        None => 1,
        Some(Ok(n)) if n > 0 => n,
        _ => usage(prog),
    };
    let count = match argv.get(2).map(|a| a.parse::<i64>()) {
        None => -1,
        Some(Ok(n)) if n > 0 => n,
        _ => usage(prog),
    };
    if let Err(e) = run(interval, count) {
        eprintln!("rust-runqlat: {}", e);
        exit(1);
    }
}
