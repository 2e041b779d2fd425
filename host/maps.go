package host

import (
	"syscall"

	"github.com/bytecodealliance/wasmtime-go/v39"
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
