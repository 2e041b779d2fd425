package gen

import "strings"

// names is a set of the space-separated names of s.
func names(s string) map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(s) {
		m[n] = true
	}
	return m
}

// cTag is the tag a struct or union called name gets in a header: its
// own, or kernel_name when wasi-libc defines a tag of that name (struct
// iovec, timespec, sockaddr_in, ...) with another layout, which would
// clash in a guest that includes both.
func cTag(name string) string {
	if libcTags[name] {
		return "kernel_" + name
	}
	return name
}

// cOrdinary is cTag for typedef names (sigset_t, fd_set, ...).
func cOrdinary(name string) string {
	if libcOrdinary[name] {
		return "kernel_" + name
	}
	return name
}

// cMember is cTag for members: a member named like one of libc's macros
// (struct stat's st_atime is st_atim.tv_sec) would be expanded.
func cMember(name string) string {
	if name != "" && libcOrdinary[name] {
		return "kernel_" + name
	}
	return name
}
