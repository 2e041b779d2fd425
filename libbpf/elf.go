package libbpf

import (
	"bytes"
	"debug/elf"
	"fmt"
)

// checkELF rejects what is plainly not a BPF object before libbpf parses
// it: libbpf 1.1 trusts section headers more than a hostile guest
// deserves, so offsets and sizes are checked here first.
func checkELF(buf []byte) error {
	f, err := elf.NewFile(bytes.NewReader(buf))
	if err != nil {
		return err
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_BPF || f.Type != elf.ET_REL {
		return fmt.Errorf("not a BPF relocatable object (%v %v %v)", f.Class, f.Machine, f.Type)
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		if end := s.Offset + s.FileSize; end < s.Offset || end > uint64(len(buf)) {
			return fmt.Errorf("section %q lies outside the file", s.Name)
		}
	}
	if _, err := f.Symbols(); err != nil {
		return fmt.Errorf("symbols: %w", err)
	}
	return nil
}
