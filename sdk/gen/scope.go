package gen

import (
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// scope is a name space of a generated Go or Rust file: each name is
// claimed once, by what it names (a type, a variable, a map, ...).
type scope map[string]any

// claim reserves a name for owner: the first of name and alts that is
// free (or already owner's), else name with a number.
func (s scope) claim(owner any, name string, alts ...string) string {
	for _, n := range append([]string{name}, alts...) {
		if o, ok := s[n]; !ok || o == owner {
			s[n] = owner
			return n
		}
	}
	for i := 2; ; i++ {
		n := fmt.Sprintf("%s%d", name, i)
		if _, ok := s[n]; !ok {
			s[n] = owner
			return n
		}
	}
}

// typeName claims the Go or Rust name of a named BTF type: GoName of its
// C name, or with its kind appended when another type took that (struct
// foo_bar and struct fooBar, struct x and __x, an enum and a struct of
// one name).
func (s scope) typeName(t btf.Type) string {
	base := GoName(t.TypeName())
	kind := "Struct"
	switch t.(type) {
	case *btf.Union:
		kind = "Union"
	case *btf.Enum:
		kind = "Enum"
	case *btf.Typedef:
		kind = "T"
	}
	return s.claim(t, base, base+kind)
}
