//! Maps of a loaded object, by bytes or by type.

use std::marker::PhantomData;
use std::mem::size_of;

use crate::elf::MapInfo;
use crate::error::{Error, Result, EINVAL, ENOENT, EOPNOTSUPP};
use crate::object::Object;
use crate::sys::{MapFd, Pod};

/// Flags of an update, as the kernel's `BPF_ANY`, `BPF_NOEXIST`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapFlags(pub u64);

impl MapFlags {
    /// Create or replace.
    pub const ANY: MapFlags = MapFlags(0);
    /// Create only: an existing key is EEXIST.
    pub const NO_EXIST: MapFlags = MapFlags(1);
    /// Replace only: a missing key is ENOENT.
    pub const EXIST: MapFlags = MapFlags(2);
    /// Update under the value's bpf_spin_lock.
    pub const LOCK: MapFlags = MapFlags(4);
}

/// A map of a loaded object. Every call checks the key and value against
/// the map's sizes (from the object's BTF) before the host sees them.
#[derive(Debug)]
pub struct Map<'o> {
    info: &'o MapInfo,
    fd: MapFd,
}

impl Object {
    /// The map called `name` in the BPF source; ".rodata", ".data" and
    /// ".bss" are the maps of the global variables.
    pub fn map(&self, name: &str) -> Result<Map<'_>> {
        let info = self.map_info("map", name)?;
        let fd = self.map_fd("map", name)?;
        Ok(Map { info, fd: MapFd::new(fd, info.key_size, info.value_size, info.is_per_cpu()) })
    }
}

impl<'o> Map<'o> {
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The kernel's `enum bpf_map_type`.
    pub fn map_type(&self) -> u32 {
        self.info.map_type
    }

    pub fn key_size(&self) -> usize {
        self.info.key_size as usize
    }

    pub fn value_size(&self) -> usize {
        self.info.value_size as usize
    }

    pub fn max_entries(&self) -> u32 {
        self.info.max_entries
    }

    /// The map's fd in the runtime (meaningful only to the host ABI).
    pub fn fd(&self) -> i32 {
        self.fd.fd()
    }

    /// Refuses, before any host call, a key or value of another size than
    /// the map's (the host would read or write past it) and a per-CPU
    /// map's value.
    fn check(&self, op: &'static str, key: usize, value: Option<usize>) -> Result<()> {
        if value.is_some() && self.info.is_per_cpu() {
            let e = Error::new(op, self.name(), EOPNOTSUPP);
            return Err(e.with_detail("a per-CPU map's value holds one per possible CPU, which a guest cannot count: read it from a BPF program"));
        }
        if key != self.key_size() {
            let e = Error::new(op, self.name(), EINVAL);
            return Err(e.with_detail(format!("a key of {} bytes for a map of {}-byte keys", key, self.key_size())));
        }
        match value {
            Some(v) if v != self.value_size() => {
                let e = Error::new(op, self.name(), EINVAL);
                Err(e.with_detail(format!("a value of {} bytes for a map of {}-byte values", v, self.value_size())))
            }
            _ => Ok(()),
        }
    }

    fn result(&self, op: &'static str, r: i32) -> Result<()> {
        if r < 0 {
            return Err(Error::host(op, self.name(), r));
        }
        Ok(())
    }

    /// Copies the value of `key` into `value`; false when the key is absent.
    pub fn lookup_into(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        self.check("map lookup", key.len(), Some(value.len()))?;
        match self.fd.lookup(key, value) {
            r if r == -ENOENT => Ok(false),
            r => self.result("map lookup", r).map(|_| true),
        }
    }

    /// The value of `key`, or None when the key is absent.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut v = vec![0u8; self.value_size()];
        Ok(if self.lookup_into(key, &mut v)? { Some(v) } else { None })
    }

    /// Sets the value of `key`.
    pub fn update(&self, key: &[u8], value: &[u8], flags: MapFlags) -> Result<()> {
        self.check("map update", key.len(), Some(value.len()))?;
        self.result("map update", self.fd.update(key, value, flags.0))
    }

    /// Removes `key`; a missing key is an error (ENOENT).
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.check("map delete", key.len(), None)?;
        self.result("map delete", self.fd.delete(key))
    }

    /// The keys, in the kernel's order.
    pub fn keys(&self) -> Keys<'_, Vec<u8>> {
        Keys { map: self, cur: None, done: false, _k: PhantomData }
    }

    /// The map with keys of type `K` and values of type `V`, which must
    /// have the map's key and value sizes (`wasm-bpf gen rust` writes such
    /// types, and an `open_NAME` function that calls this).
    pub fn typed<K: Pod, V: Pod>(self) -> Result<TypedMap<'o, K, V>> {
        self.check("map", size_of::<K>(), Some(size_of::<V>()))?;
        Ok(TypedMap { map: self, _kv: PhantomData })
    }

    /// The key after `cur` (the first when None); None after the last.
    fn next_key(&self, cur: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        if self.key_size() == 0 {
            return Err(Error::new("map next key", self.name(), EINVAL).with_detail("the map has no keys"));
        }
        self.check("map next key", cur.map_or(self.key_size(), |c| c.len()), None)?;
        let mut next = vec![0u8; self.key_size()];
        match self.fd.next_key(cur, &mut next) {
            r if r == -ENOENT => Ok(None),
            r => self.result("map next key", r).map(|_| Some(next)),
        }
    }
}

/// A key type of [`Keys`]: bytes or a [`Pod`] type.
pub trait Key: Sized {
    #[doc(hidden)]
    fn from_key(bytes: Vec<u8>) -> Self;
}

impl Key for Vec<u8> {
    fn from_key(bytes: Vec<u8>) -> Self {
        bytes
    }
}

impl<T: Pod> Key for T {
    fn from_key(bytes: Vec<u8>) -> Self {
        T::from_bytes(&bytes).unwrap_or_else(T::zeroed)
    }
}

/// An iterator over a map's keys (get-next-key from the first): an error
/// is yielded once and ends the iteration. A key deleted meanwhile may make
/// the kernel start over from the first key of a hash map.
pub struct Keys<'m, K> {
    map: &'m Map<'m>,
    cur: Option<Vec<u8>>,
    done: bool,
    _k: PhantomData<K>,
}

impl<'m, K: Key> Iterator for Keys<'m, K> {
    type Item = Result<K>;

    fn next(&mut self) -> Option<Result<K>> {
        if self.done {
            return None;
        }
        match self.map.next_key(self.cur.as_deref()) {
            Ok(Some(k)) => {
                self.cur = Some(k.clone());
                Some(Ok(K::from_key(k)))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A map with keys of type `K` and values of type `V`, whose sizes were
/// checked against the map's when it was made.
#[derive(Debug)]
pub struct TypedMap<'o, K, V> {
    map: Map<'o>,
    _kv: PhantomData<(K, V)>,
}

impl<'o, K: Pod, V: Pod> TypedMap<'o, K, V> {
    /// The untyped map.
    pub fn map(&self) -> &Map<'o> {
        &self.map
    }

    /// The value of `key`, or None when the key is absent.
    pub fn lookup(&self, key: &K) -> Result<Option<V>> {
        let mut v = V::zeroed();
        Ok(if self.map.lookup_into(key.as_bytes(), v.as_bytes_mut())? { Some(v) } else { None })
    }

    /// Sets the value of `key`.
    pub fn update(&self, key: &K, value: &V, flags: MapFlags) -> Result<()> {
        self.map.update(key.as_bytes(), value.as_bytes(), flags)
    }

    /// Removes `key`; a missing key is an error (ENOENT).
    pub fn delete(&self, key: &K) -> Result<()> {
        self.map.delete(key.as_bytes())
    }

    /// The keys, in the kernel's order.
    pub fn keys(&self) -> Keys<'_, K> {
        Keys { map: &self.map, cur: None, done: false, _k: PhantomData }
    }

    /// The keys and their values; a key deleted between get-next-key and
    /// its lookup is skipped.
    pub fn iter(&self) -> impl Iterator<Item = Result<(K, V)>> + '_ {
        self.keys().filter_map(move |k| match k {
            Ok(k) => match self.lookup(&k) {
                Ok(Some(v)) => Some(Ok((k, v))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            },
            Err(e) => Some(Err(e)),
        })
    }
}
