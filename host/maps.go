package host

import (
	"syscall"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/wasm-bpf/wasm-bpf/libbpf"
)

// The kernel's bpf_cmd numbers that wasm_bpf_map_operate accepts.
const (
	cmdLookup  = 1
	cmdUpdate  = 2
	cmdDelete  = 3
	cmdNextKey = 4
)

// mapFDByName is wasm_bpf_map_fd_by_name(handle, name) -> fd.
func (g *guest) mapFDByName(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	const fn = "wasm_bpf_map_fd_by_name"
	handle, namePtr := uint64(args[0].I64()), uint32(args[1].I32())
	o, ok := g.objects[handle]
	if !ok {
		return retI32(g.refuse(fn, syscall.EINVAL, "unknown handle", "handle", handle))
	}
	name, ok := g.memory(c).CString(namePtr)
	if !ok {
		return retI32(g.refuse(fn, syscall.EFAULT, "map name is not a string in guest memory", "ptr", namePtr))
	}
	// libbpf's lookup, so internal maps answer to ".rodata", ".bss" and
	// ".data" as well as to their kernel names ("bootstra.bss").
	m, err := o.obj.Map(name)
	if err != nil || m.FD() < 0 {
		return retI32(g.refuse(fn, syscall.ENOENT, "no such map", "map", name))
	}
	return retI32(int32(m.FD()))
}

// mapOperate is wasm_bpf_map_operate(fd, cmd, key, value, next_key, flags).
// Keys and values move straight between guest memory and the kernel.
func (g *guest) mapOperate(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	const fn = "wasm_bpf_map_operate"
	fd, cmd := args[0].I32(), args[1].I32()
	keyPtr, valuePtr, nextPtr := uint32(args[2].I32()), uint32(args[3].I32()), uint32(args[4].I32())
	flags := uint64(args[5].I64())

	m, ok := g.maps[fd]
	if !ok {
		return retI32(g.refuse(fn, syscall.EBADF, "fd is not a map of this guest", "fd", fd))
	}
	mem := g.memory(c)
	// ref checks a guest range of the map's key or value size; a size of 0
	// (queue and stack maps have no key) passes no pointer.
	ref := func(what string, ptr, size uint32) (unsafe.Pointer, bool) {
		if size == 0 {
			return nil, true
		}
		b, ok := mem.Slice(ptr, size)
		if !ok {
			g.refuse(fn, syscall.EFAULT, what+" range outside guest memory", "map", m.name, "ptr", ptr, "size", size)
			return nil, false
		}
		// Guest memory is wasmtime's, not Go's: the kernel may read and write it directly.
		return unsafe.Pointer(&b[0]), true
	}
	var err error
	switch cmd {
	case cmdLookup, cmdUpdate:
		key, ok1 := ref("key", keyPtr, m.keySize)
		value, ok2 := ref("value", valuePtr, m.valueSize)
		if !ok1 || !ok2 {
			return retI32(-int32(syscall.EFAULT))
		}
		if cmd == cmdLookup {
			err = libbpf.MapLookup(int(fd), key, value, flags)
		} else {
			err = libbpf.MapUpdate(int(fd), key, value, flags)
		}
	case cmdDelete:
		key, ok := ref("key", keyPtr, m.keySize)
		if !ok {
			return retI32(-int32(syscall.EFAULT))
		}
		err = libbpf.MapDelete(int(fd), key, flags)
	case cmdNextKey:
		var key unsafe.Pointer
		if keyPtr != 0 { // 0: no key, the first key comes back
			if key, ok = ref("key", keyPtr, m.keySize); !ok {
				return retI32(-int32(syscall.EFAULT))
			}
		}
		next, ok := ref("next_key", nextPtr, m.keySize)
		if !ok {
			return retI32(-int32(syscall.EFAULT))
		}
		err = libbpf.MapNextKey(int(fd), key, next)
	default:
		return retI32(g.refuse(fn, syscall.EINVAL, "unknown command", "cmd", cmd))
	}
	if err != nil {
		return retI32(errnoOf(err))
	}
	return retI32(0)
}
