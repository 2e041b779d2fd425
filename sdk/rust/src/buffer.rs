//! Ring and perf buffers: records delivered to a Rust closure.

use std::time::Duration;

use crate::elf::{MAP_PERF_EVENT_ARRAY, MAP_RINGBUF};
use crate::error::{Error, Result, EINVAL};
use crate::object::Object;
use crate::sys;

/// Size of a buffer's record buffer unless set otherwise: records longer
/// than it are cut to fit. With feature "ext" every record that arrived
/// between two polls and fits in it moves in one host call.
pub const DEFAULT_BUFFER_SIZE: usize = 256 << 10;

/// A ring buffer (`BPF_MAP_TYPE_RINGBUF`) or perf buffer
/// (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`) of a loaded object, with the closure
/// each record is handed to. Made by [`Object::ring_buffer`] and
/// [`Object::perf_buffer`].
///
/// The closure gets each record's bytes, valid only during the call, and
/// returns 0 to go on or a negative number to stop the poll, which then
/// returns an error carrying it as errno (as libbpf's callbacks do).
///
/// Without feature "ext" the runtime calls the closure through the guest's
/// exported function table (`wasm_bpf_buffer_poll`): the guest must be
/// linked with `--export-table` (see the crate's documentation). With it,
/// records are moved in batches (`wasm_bpf_ext.wasm_bpf_buffer_poll_batch`)
/// and no guest function is called from outside.
pub struct Buffer<'o, F> {
    obj: &'o Object,
    name: &'o str,
    fd: i32,
    buf: Vec<u8>,
    f: F,
    /// buf[pending.0..pending.1] holds the records of the last batch that
    /// the closure's stop kept from being delivered; the next poll
    /// delivers them first, so none is lost.
    #[cfg(feature = "ext")]
    pending: (usize, usize),
}

impl Object {
    /// The ring buffer map `name`, whose records are handed to `f`.
    pub fn ring_buffer<F: FnMut(&[u8]) -> i32>(&self, name: &str, f: F) -> Result<Buffer<'_, F>> {
        self.buffer("ring buffer", MAP_RINGBUF, name, f)
    }

    /// The perf event array map `name`, whose records (from every CPU)
    /// are handed to `f`.
    pub fn perf_buffer<F: FnMut(&[u8]) -> i32>(&self, name: &str, f: F) -> Result<Buffer<'_, F>> {
        self.buffer("perf buffer", MAP_PERF_EVENT_ARRAY, name, f)
    }

    fn buffer<F>(&self, op: &'static str, map_type: u32, name: &str, f: F) -> Result<Buffer<'_, F>> {
        let info = self.map_info(op, name)?;
        if info.map_type != map_type {
            let e = Error::new(op, name, EINVAL);
            return Err(e.with_detail(format!("map {} is of type {} (enum bpf_map_type), not a {}", name, info.map_type, op)));
        }
        let fd = self.map_fd(op, name)?;
        Ok(Buffer {
            obj: self,
            name: &info.name,
            fd,
            buf: vec![0; DEFAULT_BUFFER_SIZE],
            f,
            #[cfg(feature = "ext")]
            pending: (0, 0),
        })
    }
}

/// The host's timeout: a positive duration under 1 ms still waits 1 ms.
fn timeout_ms(d: Duration) -> i32 {
    let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
    ms.min(i32::MAX as u128) as i32
}

impl<'o, F: FnMut(&[u8]) -> i32> Buffer<'o, F> {
    /// The map's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// Replaces the record buffer by one of `size` bytes (at least 8).
    pub fn set_buffer_size(&mut self, size: usize) -> Result<()> {
        if size < 8 || size > i32::MAX as usize {
            return Err(Error::new("set buffer size", self.name, EINVAL).with_detail("between 8 bytes and 2 GiB"));
        }
        #[cfg(feature = "ext")]
        if self.pending.0 < self.pending.1 {
            return Err(Error::new("set buffer size", self.name, crate::error::EBUSY).with_detail("records of the last poll are still held"));
        }
        self.buf = vec![0; size];
        Ok(())
    }

    /// Waits up to `timeout` for records, then hands every record that is
    /// ready to the closure, in order. Returns how many it was given.
    pub fn poll(&mut self, timeout: Duration) -> Result<usize> {
        self.poll_ms(timeout_ms(timeout))
    }

    /// Hands the records that are ready to the closure, without waiting.
    pub fn consume(&mut self) -> Result<usize> {
        self.poll_ms(0)
    }

    /// Waits until at least one record is ready, then hands them over.
    pub fn poll_forever(&mut self) -> Result<usize> {
        self.poll_ms(-1)
    }

    /// The error of a closure that stopped the poll with `r` < 0.
    fn stopped(&self, r: i32) -> Error {
        Error::ret("poll", self.name, r).with_detail(format!("the callback returned {}", r))
    }

    #[cfg(not(feature = "ext"))]
    fn poll_ms(&mut self, timeout_ms: i32) -> Result<usize> {
        let (mut count, mut stop) = (0usize, None);
        let f = &mut self.f;
        let mut each = |rec: &[u8]| {
            count += 1;
            let r = f(rec);
            if r < 0 {
                stop = Some(r);
            }
            r
        };
        let r = sys::buffer_poll(self.obj.handle(), self.fd, &mut self.buf, timeout_ms, &mut each);
        if let Some(s) = stop {
            return Err(self.stopped(s));
        }
        if r < 0 {
            let e = Error::host("poll", self.name, r);
            return Err(if r == -EINVAL {
                e.with_detail("is the guest's function table exported? Build with -C link-arg=--export-table (a build.rs line: see the wasm-bpf crate's docs), or use feature \"ext\"")
            } else {
                e
            });
        }
        Ok(count)
    }

    #[cfg(feature = "ext")]
    fn poll_ms(&mut self, timeout_ms: i32) -> Result<usize> {
        if self.pending.0 < self.pending.1 {
            let (start, end) = self.pending;
            return self.deliver(start, end);
        }
        let n = sys::buffer_poll_batch(self.obj.handle(), self.fd, &mut self.buf, timeout_ms);
        if n < 0 {
            return Err(Error::host("poll", self.name, n));
        }
        if n as usize > self.buf.len() {
            return Err(Error::new("poll", self.name, crate::error::EPROTO).with_detail("the runtime wrote past the buffer"));
        }
        self.deliver(0, n as usize)
    }

    /// Hands the records framed in buf[start..end] to the closure, holding
    /// back the rest when it stops.
    #[cfg(feature = "ext")]
    fn deliver(&mut self, mut start: usize, end: usize) -> Result<usize> {
        let mut count = 0;
        self.pending = (0, 0);
        while start < end {
            let (rec, used) = match next_record(&self.buf[start..end]) {
                Some(x) => x,
                None => return Err(Error::new("poll", self.name, crate::error::EPROTO).with_detail("malformed record framing")),
            };
            count += 1;
            let r = (self.f)(rec);
            start += used;
            if r < 0 {
                self.pending = (start, end);
                return Err(self.stopped(r));
            }
        }
        Ok(count)
    }
}

/// The first record of a batch of `wasm_bpf_buffer_poll_batch` (u32 size,
/// little endian; size bytes; zero padding to a multiple of 4) and the
/// bytes it takes up; None when the batch is not framed so.
#[cfg_attr(not(feature = "ext"), allow(dead_code))]
fn next_record(batch: &[u8]) -> Option<(&[u8], usize)> {
    let size = u32::from_le_bytes([*batch.first()?, *batch.get(1)?, *batch.get(2)?, *batch.get(3)?]) as usize;
    let end = size.checked_add(4)?;
    let rec = batch.get(4..end)?;
    // The host pads; a last record without padding is tolerated.
    let used = ((end + 3) & !3).min(batch.len());
    Some((rec, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        let mut batch = vec![3, 0, 0, 0, b'a', b'b', b'c', 0, 0, 0, 0, 0, 8, 0, 0, 0];
        batch.extend_from_slice(b"12345678");
        let (rec, used) = next_record(&batch).unwrap();
        assert_eq!((rec, used), (&b"abc"[..], 8));
        let (rec, used) = next_record(&batch[8..]).unwrap();
        assert_eq!((rec, used), (&b""[..], 4));
        let (rec, used) = next_record(&batch[12..]).unwrap();
        assert_eq!((rec, used), (&b"12345678"[..], 12));
        assert_eq!(next_record(&[1, 0, 0]), None);
        assert_eq!(next_record(&[5, 0, 0, 0, 1, 2, 3, 4]), None); // size beyond the batch
        assert_eq!(next_record(&[0xff, 0xff, 0xff, 0xff]), None);
        // An unpadded last record.
        assert_eq!(next_record(&[1, 0, 0, 0, 9]), Some((&[9u8][..], 5)));
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout_ms(Duration::from_millis(0)), 0);
        assert_eq!(timeout_ms(Duration::from_micros(1)), 1);
        assert_eq!(timeout_ms(Duration::from_micros(1500)), 2);
        assert_eq!(timeout_ms(Duration::from_millis(100)), 100);
        assert_eq!(timeout_ms(Duration::from_secs(u64::MAX)), i32::MAX);
    }
}
