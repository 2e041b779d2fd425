//! BPF objects: load, set globals, attach, close.

use std::borrow::Cow;
use std::mem::size_of;

use crate::elf::{MapInfo, ObjectInfo};
use crate::error::{Error, Result, EBADF, EINVAL, ENODEV, ENOENT, ERANGE};
use crate::sys::{self, Pod};

/// A BPF object loaded into the kernel: its programs and maps live until
/// the `Object` is closed or dropped, or the guest ends. Maps and buffers
/// borrow it, so it cannot be closed while they are in use.
#[derive(Debug)]
pub struct Object {
    handle: u64,
    info: ObjectInfo,
}

/// An object not loaded yet: set the initial values of its `.rodata` and
/// `.data` variables, then [`load`](ObjectBuilder::load) it. (Open and
/// load are one host call, so this is the only time to set them; a
/// `.rodata` value is then a constant the verifier sees.)
#[derive(Debug)]
pub struct ObjectBuilder<'a> {
    raw: Cow<'a, [u8]>,
    info: ObjectInfo,
}

impl<'a> ObjectBuilder<'a> {
    /// Reads the object's maps and variables from its ELF and BTF (an
    /// object as `clang -g -O2 -target bpf` writes it).
    pub fn new(obj: &'a [u8]) -> Result<ObjectBuilder<'a>> {
        let info = ObjectInfo::parse(obj).map_err(|e| Error::new("load", "", EINVAL).with_detail(e))?;
        Ok(ObjectBuilder { raw: Cow::Borrowed(obj), info })
    }

    /// The object's maps, as its BTF defines them.
    pub fn maps(&self) -> &[MapInfo] {
        &self.info.maps
    }

    /// Sets the initial value of global variable `name` (in `.rodata` or
    /// `.data`); `T` must have the variable's size. `wasm-bpf gen rust`
    /// writes a typed `set_NAME` for each variable.
    pub fn set_global<T: Pod>(&mut self, name: &str, value: &T) -> Result<&mut Self> {
        let g = match self.info.globals.iter().find(|g| g.name == name) {
            Some(g) => g,
            None => {
                let mut names: Vec<&str> = self.info.globals.iter().map(|g| g.name.as_str()).collect();
                names.sort_unstable();
                return Err(Error::new("set global", name, ENOENT).with_detail(format!("the object's global variables are: {}", names.join(", "))));
            }
        };
        if size_of::<T>() != g.size {
            return Err(Error::new("set global", name, EINVAL).with_detail(format!("a value of {} bytes for a variable of {}", size_of::<T>(), g.size)));
        }
        let off = match g.file_offset {
            Some(off) => off,
            None => {
                let e = Error::new("set global", name, EINVAL);
                return Err(e.with_detail(format!("{} has no initial bytes in the object: write it through map {} after load", g.section, g.section)));
            }
        };
        let raw = self.raw.to_mut();
        match raw.get_mut(off..off + g.size) {
            Some(dst) => dst.copy_from_slice(value.as_bytes()),
            None => return Err(Error::new("set global", name, ERANGE)),
        }
        Ok(self)
    }

    /// Loads the object into the kernel: every program and map is created,
    /// CO-RE relocations are applied by the runtime's libbpf.
    pub fn load(self) -> Result<Object> {
        let handle = sys::load(&self.raw);
        if handle == 0 {
            return Err(Error::load());
        }
        Ok(Object { handle, info: self.info })
    }
}

impl Object {
    /// Loads a BPF object (as `clang -g -O2 -target bpf` writes it,
    /// usually embedded with `include_bytes!`) into the kernel.
    pub fn load(obj: &[u8]) -> Result<Object> {
        ObjectBuilder::new(obj)?.load()
    }

    /// Reads the object first, to set its globals before loading it.
    pub fn builder(obj: &[u8]) -> Result<ObjectBuilder<'_>> {
        ObjectBuilder::new(obj)
    }

    /// The object's maps, as its BTF defines them.
    pub fn maps(&self) -> &[MapInfo] {
        &self.info.maps
    }

    pub(crate) fn handle(&self) -> u64 {
        self.handle
    }

    pub(crate) fn map_info(&self, op: &'static str, name: &str) -> Result<&MapInfo> {
        match self.info.maps.iter().find(|m| m.name == name) {
            Some(m) => Ok(m),
            None => {
                let mut names: Vec<&str> = self.info.maps.iter().map(|m| m.name.as_str()).collect();
                names.sort_unstable();
                Err(Error::new(op, name, ENOENT).with_detail(format!("the object's maps are: {}", names.join(", "))))
            }
        }
    }

    /// Attaches program `prog` (its C function name) the way its ELF
    /// section says: tracepoints, raw and BTF tracepoints, uprobes with a
    /// full spec, fentry, LSM, ... Links last until the object is closed.
    pub fn attach(&self, prog: &str) -> Result<()> {
        self.attach_target(prog, None)
    }

    /// Attaches program `prog` to `target`: a network interface name for
    /// XDP and socket filter programs, a cgroup v2 directory for cgroup and
    /// sockops programs. A program may be attached more than once.
    pub fn attach_to(&self, prog: &str, target: &str) -> Result<()> {
        self.attach_target(prog, Some(target))
    }

    fn attach_target(&self, prog: &str, target: Option<&str>) -> Result<()> {
        let p = sys::cstring(prog).ok_or_else(|| Error::new("attach", prog, EINVAL).with_detail("the name holds a NUL"))?;
        let t = match target {
            Some(t) => Some(sys::cstring(t).ok_or_else(|| Error::new("attach", prog, EINVAL).with_detail("the target holds a NUL"))?),
            None => None,
        };
        let r = sys::attach(self.handle, &p, t.as_deref());
        if r < 0 {
            let e = Error::host("attach", prog, r);
            // The runtime's reasons (docs/abi.md), and where to see libbpf's.
            return Err(match (-r, target) {
                (ENOENT, None) => e.with_detail("no such program in the object, or the kernel lacks its attach point (is tracefs mounted?)"),
                (ENOENT, Some(t)) => e.with_detail(format!("no such program in the object, or no cgroup directory {}", t)),
                (EINVAL, None) => e.with_detail("a socket filter needs a target (attach_to); otherwise wasm-bpf -v says why libbpf refused"),
                (ENODEV, Some(t)) => e.with_detail(format!("no network interface {}", t)),
                _ => e.with_detail("wasm-bpf -v says why libbpf refused"),
            });
        }
        Ok(())
    }

    /// Removes the object's links, programs and maps from the kernel.
    /// Dropping the object does the same, ignoring the result.
    pub fn close(mut self) -> Result<()> {
        let h = std::mem::replace(&mut self.handle, 0);
        match sys::close(h) {
            r if r < 0 => Err(Error::host("close", "", r)),
            _ => Ok(()),
        }
    }

    pub(crate) fn map_fd(&self, op: &'static str, name: &str) -> Result<i32> {
        if self.handle == 0 {
            return Err(Error::new(op, name, EBADF));
        }
        let n = sys::cstring(name).ok_or_else(|| Error::new(op, name, EINVAL).with_detail("the name holds a NUL"))?;
        let fd = sys::map_fd(self.handle, &n);
        if fd < 0 {
            return Err(Error::host(op, name, fd));
        }
        Ok(fd)
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        if self.handle != 0 {
            sys::close(self.handle);
        }
    }
}
