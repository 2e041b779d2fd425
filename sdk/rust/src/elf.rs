//! What the crate reads from the BPF object it loads: each map's type and
//! key and value sizes (from the BTF of section .maps), and where each
//! global variable's initial value lies in the file (the data sections and
//! the symbol table). The host ABI cannot tell a guest a map's sizes, and
//! the host reads and writes exactly that many bytes at the pointers a
//! map call gives it: knowing them lets every call be checked first.
//!
//! Only what that needs is read: ELF64 little-endian section headers and
//! symbols, and the BTF type kinds a map definition or a variable can
//! reach. Every read is bounds-checked; a malformed object is an error,
//! never a panic.

use std::convert::TryInto;

/// Kernel map types the crate treats specially (enum bpf_map_type).
pub(crate) const MAP_ARRAY: u32 = 2;
pub(crate) const MAP_PERF_EVENT_ARRAY: u32 = 4;
pub(crate) const MAP_RINGBUF: u32 = 27;
const PER_CPU_MAPS: [u32; 4] = [5, 6, 10, 21]; // percpu hash, percpu array, lru percpu hash, percpu cgroup storage

const EM_BPF: u16 = 247;
const SHT_SYMTAB: u32 = 2;
const SHT_NOBITS: u32 = 8;

// BTF kinds.
const BTF_INT: u8 = 1;
const BTF_PTR: u8 = 2;
const BTF_ARRAY: u8 = 3;
const BTF_STRUCT: u8 = 4;
const BTF_UNION: u8 = 5;
const BTF_ENUM: u8 = 6;
const BTF_FWD: u8 = 7;
const BTF_TYPEDEF: u8 = 8;
const BTF_VOLATILE: u8 = 9;
const BTF_CONST: u8 = 10;
const BTF_RESTRICT: u8 = 11;
const BTF_FUNC: u8 = 12;
const BTF_FUNC_PROTO: u8 = 13;
const BTF_VAR: u8 = 14;
const BTF_DATASEC: u8 = 15;
const BTF_FLOAT: u8 = 16;
const BTF_DECL_TAG: u8 = 17;
const BTF_TYPE_TAG: u8 = 18;
const BTF_ENUM64: u8 = 19;

/// A map of the object, as its BTF defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    /// The name in the source; ".rodata", ".data", ".bss" (and ".data.foo",
    /// ...) for the maps of global variables.
    pub name: String,
    /// The kernel's `enum bpf_map_type`.
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

impl MapInfo {
    /// Whether the map keeps a value per possible CPU.
    pub fn is_per_cpu(&self) -> bool {
        PER_CPU_MAPS.contains(&self.map_type)
    }
}

/// A global variable of a data section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GlobalInfo {
    pub name: String,
    pub section: String,
    /// Offset of its initial value in the file; None in .bss, which has
    /// no bytes in the file.
    pub file_offset: Option<usize>,
    pub size: usize,
}

/// What the crate knows of an object.
#[derive(Debug, Default, Clone)]
pub(crate) struct ObjectInfo {
    pub maps: Vec<MapInfo>,
    pub globals: Vec<GlobalInfo>,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

/// The NUL-terminated string at `off` of a string table.
fn str_at(table: &[u8], off: usize) -> Option<&str> {
    let rest = table.get(off..)?;
    let end = rest.iter().position(|&c| c == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

struct Section<'a> {
    name: &'a str,
    kind: u32,
    link: u32,
    size: usize,
    offset: usize,
    /// The section's bytes; empty for SHT_NOBITS.
    data: &'a [u8],
}

fn sections(raw: &[u8]) -> Result<Vec<Section<'_>>, String> {
    if raw.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    if raw.get(4) != Some(&2) || raw.get(5) != Some(&1) {
        return Err("not a little-endian ELF64 file".into());
    }
    let bad = || "truncated or malformed ELF header".to_string();
    if u16_at(raw, 0x12).ok_or_else(bad)? != EM_BPF {
        return Err("not a BPF object (ELF machine is not EM_BPF): compile with clang -target bpf".into());
    }
    let shoff = u64_at(raw, 0x28).ok_or_else(bad)? as usize;
    let shentsize = u16_at(raw, 0x3a).ok_or_else(bad)? as usize;
    let shnum = u16_at(raw, 0x3c).ok_or_else(bad)? as usize;
    let shstrndx = u16_at(raw, 0x3e).ok_or_else(bad)? as usize;
    if shentsize != 64 {
        return Err(bad());
    }
    let mut raw_secs = Vec::with_capacity(shnum);
    for i in 0..shnum {
        let h = shoff.checked_add(i * 64).ok_or_else(bad)?;
        let hdr = raw.get(h..h.checked_add(64).ok_or_else(bad)?).ok_or_else(|| format!("section header {} lies outside the file", i))?;
        let (name, kind) = (u32_at(hdr, 0).unwrap_or(0), u32_at(hdr, 4).unwrap_or(0));
        let (offset, size) = (u64_at(hdr, 24).unwrap_or(0) as usize, u64_at(hdr, 32).unwrap_or(0) as usize);
        let link = u32_at(hdr, 40).unwrap_or(0);
        let data: &[u8] = if kind == SHT_NOBITS || kind == 0 {
            &[]
        } else {
            offset.checked_add(size).and_then(|end| raw.get(offset..end)).ok_or_else(|| format!("section {} lies outside the file", i))?
        };
        raw_secs.push((name as usize, kind, link, size, offset, data));
    }
    let shstr = raw_secs.get(shstrndx).map(|s| s.5).ok_or_else(bad)?;
    Ok(raw_secs
        .into_iter()
        .map(|(name, kind, link, size, offset, data)| Section { name: str_at(shstr, name).unwrap_or(""), kind, link, size, offset, data })
        .collect())
}

/// One BTF type: its kind, name, size-or-type word, and where its trailing
/// data starts in the type section.
#[derive(Clone, Copy)]
struct Type {
    kind: u8,
    name: u32,
    size_or_type: u32,
    vlen: usize,
    extra: usize,
}

struct Btf<'a> {
    types: Vec<Type>, // types[0] is void
    data: &'a [u8],   // the type section
    strs: &'a [u8],
}

impl<'a> Btf<'a> {
    fn parse(b: &'a [u8]) -> Result<Btf<'a>, String> {
        let bad = |what: &str| format!("malformed .BTF section: {}", what);
        if u16_at(b, 0) != Some(0xeb9f) {
            return Err(bad("bad magic"));
        }
        let hdr_len = u32_at(b, 4).ok_or_else(|| bad("short header"))? as usize;
        let field = |off| u32_at(b, off).map(|v| v as usize).ok_or_else(|| bad("short header"));
        let (type_off, type_len, str_off, str_len) = (field(8)?, field(12)?, field(16)?, field(20)?);
        let slice = |off: usize, len: usize| {
            hdr_len.checked_add(off).and_then(|s| Some((s, s.checked_add(len)?))).and_then(|(s, e)| b.get(s..e))
        };
        let data = slice(type_off, type_len).ok_or_else(|| bad("type section outside it"))?;
        let strs = slice(str_off, str_len).ok_or_else(|| bad("string section outside it"))?;
        let mut types = vec![Type { kind: 0, name: 0, size_or_type: 0, vlen: 0, extra: 0 }];
        let mut off = 0;
        while off < data.len() {
            let (name, info, st) = match (u32_at(data, off), u32_at(data, off + 4), u32_at(data, off + 8)) {
                (Some(a), Some(b), Some(c)) => (a, b, c),
                _ => return Err(bad("truncated type")),
            };
            let kind = ((info >> 24) & 0x1f) as u8;
            let vlen = (info & 0xffff) as usize;
            let extra = off + 12;
            let trailing = match kind {
                BTF_INT | BTF_VAR | BTF_DECL_TAG => 4,
                BTF_ARRAY => 12,
                BTF_STRUCT | BTF_UNION | BTF_DATASEC | BTF_ENUM64 => 12 * vlen,
                BTF_ENUM | BTF_FUNC_PROTO => 8 * vlen,
                BTF_PTR | BTF_FWD | BTF_TYPEDEF | BTF_VOLATILE | BTF_CONST | BTF_RESTRICT | BTF_FUNC | BTF_FLOAT | BTF_TYPE_TAG => 0,
                k => return Err(bad(&format!("unknown type kind {}", k))),
            };
            off = extra + trailing;
            if off > data.len() {
                return Err(bad("truncated type"));
            }
            types.push(Type { kind, name, size_or_type: st, vlen, extra });
        }
        Ok(Btf { types, data, strs })
    }

    fn get(&self, id: u32) -> Option<Type> {
        self.types.get(id as usize).copied()
    }

    fn name(&self, t: Type) -> &'a str {
        str_at(self.strs, t.name as usize).unwrap_or("")
    }

    /// The u32 `i` of a type's trailing data.
    fn word(&self, t: Type, i: usize) -> Option<u32> {
        u32_at(self.data, t.extra + 4 * i)
    }

    /// Skips typedefs and qualifiers.
    fn resolve(&self, mut id: u32) -> Option<Type> {
        for _ in 0..32 {
            let t = self.get(id)?;
            match t.kind {
                BTF_TYPEDEF | BTF_VOLATILE | BTF_CONST | BTF_RESTRICT | BTF_TYPE_TAG => id = t.size_or_type,
                _ => return Some(t),
            }
        }
        None // a loop, or absurdly deep
    }

    fn size_of(&self, id: u32) -> Option<u64> {
        self.size_of_depth(id, 0)
    }

    fn size_of_depth(&self, id: u32, depth: u32) -> Option<u64> {
        if depth > 32 {
            return None;
        }
        let t = self.get(id)?;
        match t.kind {
            BTF_INT | BTF_STRUCT | BTF_UNION | BTF_ENUM | BTF_ENUM64 | BTF_FLOAT | BTF_DATASEC => Some(t.size_or_type as u64),
            BTF_PTR => Some(8),
            BTF_TYPEDEF | BTF_VOLATILE | BTF_CONST | BTF_RESTRICT | BTF_TYPE_TAG | BTF_VAR => self.size_of_depth(t.size_or_type, depth + 1),
            BTF_ARRAY => {
                let elem = self.word(t, 0)?;
                let n = self.word(t, 2)? as u64;
                n.checked_mul(self.size_of_depth(elem, depth + 1)?)
            }
            _ => None,
        }
    }

    /// The (name, type, offset) entries of a struct, union or datasec.
    fn members(&self, t: Type) -> impl Iterator<Item = (&'a str, u32, u32)> + '_ {
        (0..t.vlen).filter_map(move |i| {
            let (a, b, c) = (self.word(t, 3 * i)?, self.word(t, 3 * i + 1)?, self.word(t, 3 * i + 2)?);
            Some(match t.kind {
                // btf_var_secinfo: type, offset, size
                BTF_DATASEC => ("", a, b),
                // btf_member: name_off, type, offset (bits)
                _ => (str_at(self.strs, a as usize).unwrap_or(""), b, c),
            })
        })
    }
}

/// A map definition member `__uint(name, n)`: a pointer to an array of n.
fn uint_member(btf: &Btf<'_>, id: u32) -> Option<u32> {
    let p = btf.resolve(id)?;
    if p.kind != BTF_PTR {
        return None;
    }
    let a = btf.resolve(p.size_or_type)?;
    if a.kind != BTF_ARRAY {
        return None;
    }
    btf.word(a, 2)
}

/// A map definition member `__type(name, T)`: a pointer to T; its size.
fn type_member(btf: &Btf<'_>, id: u32) -> Option<u32> {
    let p = btf.resolve(id)?;
    if p.kind != BTF_PTR {
        return None;
    }
    btf.size_of(p.size_or_type).and_then(|s| s.try_into().ok())
}

fn is_data_section(name: &str) -> bool {
    [".rodata", ".data", ".bss"].iter().any(|p| name == *p || name.starts_with(&format!("{}.", p)))
}

impl ObjectInfo {
    /// Reads the maps and globals of an ELF BPF object. An object without
    /// BTF has neither (libbpf 1.x needs BTF for maps anyway).
    pub(crate) fn parse(raw: &[u8]) -> Result<ObjectInfo, String> {
        let secs = sections(raw)?;
        let btf_sec = match secs.iter().find(|s| s.name == ".BTF") {
            Some(s) => s,
            None => return Ok(ObjectInfo::default()),
        };
        let btf = Btf::parse(btf_sec.data)?;
        let mut info = ObjectInfo::default();

        // Symbols give the variables' offsets: clang leaves the BTF ones 0
        // until a linker (libbpf, bpftool gen object) fills them in.
        let symtab = secs.iter().find(|s| s.kind == SHT_SYMTAB);
        let strtab = symtab.and_then(|s| secs.get(s.link as usize)).map(|s| s.data).unwrap_or(&[]);
        let symbol_value = |name: &str, shndx: usize| -> Option<u64> {
            let syms = symtab?.data;
            (0..syms.len() / 24).find_map(|i| {
                let s = &syms[i * 24..i * 24 + 24];
                let ok = u16_at(s, 6)? as usize == shndx && str_at(strtab, u32_at(s, 0)? as usize)? == name;
                if ok {
                    u64_at(s, 8)
                } else {
                    None
                }
            })
        };

        for t in btf.types.iter().copied().filter(|t| t.kind == BTF_DATASEC) {
            let sec_name = btf.name(t);
            if sec_name == ".maps" {
                for (_, var_id, _) in btf.members(t) {
                    let var = btf.get(var_id).filter(|v| v.kind == BTF_VAR).ok_or("a .maps entry is not a variable")?;
                    let name = btf.name(var).to_string();
                    let def = btf.resolve(var.size_or_type).filter(|d| d.kind == BTF_STRUCT).ok_or_else(|| format!("map {}: its definition is not a struct", name))?;
                    let mut m = MapInfo { name, map_type: 0, key_size: 0, value_size: 0, max_entries: 0 };
                    for (field, ty, _) in btf.members(def) {
                        let v = match field {
                            "type" | "key_size" | "value_size" | "max_entries" => uint_member(&btf, ty),
                            "key" | "value" => type_member(&btf, ty),
                            "values" => Some(4), // map-in-map and prog arrays: fds
                            _ => continue,
                        };
                        let v = v.ok_or_else(|| format!("map {}: member {} is not as libbpf's __uint/__type write it", m.name, field))?;
                        match field {
                            "type" => m.map_type = v,
                            "key_size" | "key" => m.key_size = v,
                            "value_size" | "value" | "values" => m.value_size = v,
                            _ => m.max_entries = v,
                        }
                    }
                    info.maps.push(m);
                }
                continue;
            }
            if !is_data_section(sec_name) {
                continue; // license, .kconfig, .ksyms, ...
            }
            let (shndx, sec) = match secs.iter().enumerate().find(|(_, s)| s.name == sec_name) {
                Some(x) => x,
                None => continue, // described but absent: libbpf makes no map
            };
            info.maps.push(MapInfo { name: sec_name.to_string(), map_type: MAP_ARRAY, key_size: 4, value_size: sec.size as u32, max_entries: 1 });
            for (_, var_id, btf_off) in btf.members(t) {
                let var = match btf.get(var_id) {
                    Some(v) if v.kind == BTF_VAR => v,
                    _ => continue,
                };
                let name = btf.name(var);
                let size = btf.size_of(var_id).ok_or_else(|| format!("variable {}: no size in BTF", name))? as usize;
                let off = symbol_value(name, shndx).map_or(btf_off as usize, |v| v as usize);
                if off.checked_add(size).map_or(true, |end| end > sec.size) {
                    return Err(format!("variable {} lies outside section {}", name, sec_name));
                }
                let file_offset = if sec.kind == SHT_NOBITS { None } else { Some(sec.offset + off) };
                info.globals.push(GlobalInfo { name: name.to_string(), section: sec_name.to_string(), file_offset, size });
            }
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_elf() {
        assert_eq!(ObjectInfo::parse(b"").unwrap_err(), "not an ELF file");
        assert_eq!(ObjectInfo::parse(b"garbage garbage").unwrap_err(), "not an ELF file");
        let mut hdr = vec![0u8; 64];
        hdr[..4].copy_from_slice(b"\x7fELF");
        hdr[4] = 2;
        hdr[5] = 1;
        hdr[0x12] = 62; // EM_X86_64
        assert!(ObjectInfo::parse(&hdr).unwrap_err().contains("not a BPF object"));
        hdr[0x12] = 247;
        hdr[0x3a] = 64;
        hdr[0x3c] = 3; // three section headers, past the end
        hdr[0x28] = 64;
        assert!(ObjectInfo::parse(&hdr).unwrap_err().contains("outside the file"));
    }

    /// The objects the Go test that runs cargo test names.
    fn test_objects() -> Vec<(String, Vec<u8>)> {
        std::env::var("WASM_BPF_TEST_OBJECTS")
            .map(|l| l.split(':').map(|p| (p.to_string(), std::fs::read(p).unwrap())).collect())
            .unwrap_or_default()
    }

    /// Prints what the crate reads from each object, for the Go test to
    /// compare with cilium/ebpf's reading (e2e TestRustSDKUnit); the
    /// prefix finds the lines in cargo test's output, where the harness
    /// may print before them on the same line.
    #[test]
    fn objects() {
        for (path, raw) in test_objects() {
            let info = ObjectInfo::parse(&raw).unwrap();
            for m in &info.maps {
                println!("sdkinfo map {} {} {} {} {} {}", path, m.name, m.map_type, m.key_size, m.value_size, m.max_entries);
            }
            for g in &info.globals {
                println!("sdkinfo global {} {} {} {} {}", path, g.name, g.section, g.file_offset.map_or(-1, |o| o as i64), g.size);
            }
        }
    }

    /// Prefixes and corruptions of real objects are refused or parsed,
    /// never a panic or a hang.
    #[test]
    fn damaged_objects() {
        for (_, raw) in test_objects() {
            for n in (0..raw.len()).filter(|n| *n < 1024 || n % 61 == 0) {
                let _ = ObjectInfo::parse(&raw[..n]);
            }
            let mut copy = raw.clone();
            for i in (0..raw.len()).step_by(31) {
                for flip in [0x01, 0x80, 0xff] {
                    copy[i] ^= flip;
                    let _ = ObjectInfo::parse(&copy);
                    copy[i] = raw[i];
                }
            }
        }
    }
}
