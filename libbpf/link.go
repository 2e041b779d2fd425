package libbpf

// #include <bpf/libbpf.h>
import "C"

import (
	"encoding/binary"
	"fmt"
	"net"
	"syscall"
)

// Link is an attachment of a program: a libbpf bpf_link, or for socket
// filters the raw packet socket that carries the filter.
type Link struct {
	link *C.struct_bpf_link
	sock int
}

// Attach attaches p the way its ELF section says (bpf_program__attach).
func (p *Program) Attach() (*Link, error) {
	var l *C.struct_bpf_link
	var err error
	log := withLog(func() { l, err = C.bpf_program__attach(p.prog) })
	if l == nil {
		return nil, &Error{Op: fmt.Sprintf("attach %q", p.name), Err: errnoOr(err, syscall.EINVAL), Log: log}
	}
	return &Link{link: l, sock: -1}, nil
}

// AttachCgroup attaches a cgroup or sock_ops program to the cgroup v2
// directory at path.
func (p *Program) AttachCgroup(path string) (*Link, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("attach %q to cgroup %q: %w", p.name, path, err)
	}
	// The link holds its own reference to the cgroup.
	defer syscall.Close(fd)
	var l *C.struct_bpf_link
	log := withLog(func() { l, err = C.bpf_program__attach_cgroup(p.prog, C.int(fd)) })
	if l == nil {
		return nil, &Error{Op: fmt.Sprintf("attach %q to cgroup %q", p.name, path), Err: errnoOr(err, syscall.EINVAL), Log: log}
	}
	return &Link{link: l, sock: -1}, nil
}

// AttachXDP attaches an XDP program to the network interface called iface.
func (p *Program) AttachXDP(iface string) (*Link, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("attach %q to interface %q: %w", p.name, iface, syscall.ENODEV)
	}
	var l *C.struct_bpf_link
	var cerr error
	log := withLog(func() { l, cerr = C.bpf_program__attach_xdp(p.prog, C.int(ifi.Index)) })
	if l == nil {
		return nil, &Error{Op: fmt.Sprintf("attach %q to interface %q", p.name, iface), Err: errnoOr(cerr, syscall.EINVAL), Log: log}
	}
	return &Link{link: l, sock: -1}, nil
}

// soAttachBPF is SO_ATTACH_BPF, which package syscall does not name.
const soAttachBPF = 50

// AttachSocket opens a raw packet socket bound to the interface called
// iface and attaches the socket filter p to it (SO_ATTACH_BPF); the socket
// lives as long as the link.
func (p *Program) AttachSocket(iface string) (*Link, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("attach %q to interface %q: %w", p.name, iface, syscall.ENODEV)
	}
	proto := htons(syscall.ETH_P_ALL)
	sock, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return nil, fmt.Errorf("attach %q: packet socket: %w", p.name, err)
	}
	if err := syscall.Bind(sock, &syscall.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
		syscall.Close(sock)
		return nil, fmt.Errorf("attach %q: bind to %q: %w", p.name, iface, err)
	}
	if err := syscall.SetsockoptInt(sock, syscall.SOL_SOCKET, soAttachBPF, p.FD()); err != nil {
		syscall.Close(sock)
		return nil, fmt.Errorf("attach %q to socket on %q: %w", p.name, iface, err)
	}
	return &Link{sock: sock}, nil
}

// htons converts to network byte order on any host.
func htons(v uint16) uint16 { return binary.NativeEndian.Uint16([]byte{byte(v >> 8), byte(v)}) }

// MaxLinkFDs is the most file descriptors a link holds: a bpf_link of
// libbpf's may hold a perf event as well as itself.
const MaxLinkFDs = 2

// FDs is how many file descriptors the link holds, at most.
func (l *Link) FDs() int {
	if l.link == nil {
		return 1 // the socket
	}
	return MaxLinkFDs
}

// Destroy detaches the program (bpf_link__destroy, or closing the socket).
func (l *Link) Destroy() {
	if l.link != nil {
		C.bpf_link__destroy(l.link)
		l.link = nil
	}
	if l.sock >= 0 {
		syscall.Close(l.sock)
		l.sock = -1
	}
}
