package main

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/wasm-bpf/wasm-bpf/internal/wasmobj"
	"github.com/wasm-bpf/wasm-bpf/policy"
)

// inspectVersion is the version of inspect's JSON (docs/inspect.md): it
// changes only when a field changes meaning or goes away.
const inspectVersion = 1

// inspectCommand is `wasm-bpf inspect`: what a guest's BPF objects ask of
// the kernel, read from the module without running it.
func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "list the BPF objects a guest carries, what they ask of the kernel and the capabilities it needs",
		ArgsUsage: "MODULE.wasm|OBJECT.bpf.o",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON (docs/inspect.md)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("inspect: give one module or BPF object")
			}
			path := c.Args().First()
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("inspect: %w", err)
			}
			rep, err := inspect(filepath.Base(path), data)
			if err != nil {
				return fmt.Errorf("inspect %s: %w", path, err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			rep.writeText(c.App.Writer)
			return nil
		},
	}
}

// The JSON of inspect, version 1 (docs/inspect.md).
type (
	inspectReport struct {
		Version   int             `json:"version"`
		File      string          `json:"file"`
		Objects   []inspectObject `json:"objects"`
		MapMemory uint64          `json:"mapMemory"`
		Needs     []string        `json:"needs"`
		Profile   string          `json:"profile"`
	}
	inspectObject struct {
		Where     string           `json:"where"`
		Size      int              `json:"size"`
		SHA256    string           `json:"sha256"`
		Error     string           `json:"error,omitempty"`
		Programs  []inspectProgram `json:"programs"`
		Maps      []inspectMap     `json:"maps"`
		Helpers   []inspectHelper  `json:"helpers"`
		Kfuncs    []string         `json:"kfuncs"`
		MapMemory uint64           `json:"mapMemory"`
		Needs     []string         `json:"needs"`
		Profile   string           `json:"profile"`
	}
	inspectProgram struct {
		Name         string          `json:"name"`
		Section      string          `json:"section"`
		Type         string          `json:"type"`
		AttachType   uint32          `json:"attachType"`
		Kind         string          `json:"kind"`
		Target       string          `json:"target"`
		Sleepable    bool            `json:"sleepable"`
		Instructions int             `json:"instructions"`
		Helpers      []inspectHelper `json:"helpers"`
		Kfuncs       []string        `json:"kfuncs"`
	}
	inspectHelper struct {
		ID   int32  `json:"id"`
		Name string `json:"name"`
	}
	inspectMap struct {
		Name       string      `json:"name"`
		Type       string      `json:"type"`
		KeySize    uint32      `json:"keySize"`
		ValueSize  uint32      `json:"valueSize"`
		MaxEntries uint32      `json:"maxEntries"`
		Flags      uint32      `json:"flags"`
		Memory     uint64      `json:"memory"`
		Inner      *inspectMap `json:"inner,omitempty"`
	}
)

// inspect analyses a module's BPF objects, or a BPF object itself.
func inspect(name string, data []byte) (*inspectReport, error) {
	var objs []wasmobj.Object
	if bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		objs = []wasmobj.Object{{Where: "file", Data: data}}
	} else {
		var err error
		if objs, err = wasmobj.Find(data); err != nil {
			return nil, err
		}
	}
	rep := &inspectReport{Version: inspectVersion, File: name, Objects: []inspectObject{}}
	all := &policy.Object{}
	for _, o := range objs {
		sum := sha256.Sum256(o.Data)
		rec := inspectObject{Where: o.Where, Size: len(o.Data), SHA256: hex.EncodeToString(sum[:]),
			Programs: []inspectProgram{}, Maps: []inspectMap{}, Helpers: []inspectHelper{}, Kfuncs: []string{}, Needs: []string{}}
		a, err := policy.Analyze(o.Data)
		if err != nil {
			// The host refuses what cannot be analysed; say so, and go on.
			rec.Error = err.Error()
			rec.Profile = "refused"
			rep.Objects = append(rep.Objects, rec)
			continue
		}
		for _, p := range a.Programs {
			rec.Programs = append(rec.Programs, inspectProgram{
				Name: p.Name, Section: p.Section, Type: p.TypeName(), AttachType: uint32(p.AttachType),
				Kind: p.Kind, Target: p.Target, Sleepable: p.Sleepable, Instructions: p.Instructions,
				Helpers: helpersJSON(p.Helpers), Kfuncs: nonNil(p.Kfuncs),
			})
		}
		for _, m := range a.Maps {
			rec.Maps = append(rec.Maps, mapJSON(m))
		}
		rec.Helpers, rec.Kfuncs = helpersJSON(a.Helpers), nonNil(a.Kfuncs)
		rec.MapMemory = uint64(a.MapMemory())
		rec.Needs = nonNil(policy.Needs(a))
		rec.Profile = policy.Covering(rec.Needs)
		rep.Objects = append(rep.Objects, rec)
		rep.MapMemory += rec.MapMemory
		all.Programs = append(all.Programs, a.Programs...)
		all.Maps = append(all.Maps, a.Maps...)
		all.Helpers = append(all.Helpers, a.Helpers...)
		all.Kfuncs = append(all.Kfuncs, a.Kfuncs...)
	}
	rep.Needs = nonNil(policy.Needs(all))
	rep.Profile = policy.Covering(rep.Needs)
	for _, o := range rep.Objects {
		if o.Error != "" {
			rep.Profile = "refused" // whatever is granted, the runtime refuses that object
		}
	}
	return rep, nil
}

func mapJSON(m policy.Map) inspectMap {
	j := inspectMap{Name: m.Name, Type: m.TypeName(), KeySize: m.KeySize,
		ValueSize: m.ValueSize, MaxEntries: m.MaxEntries, Flags: m.Flags, Memory: uint64(m.Memory)}
	if m.Inner != nil {
		in := mapJSON(*m.Inner)
		j.Inner = &in
	}
	return j
}

func helpersJSON(hs []policy.Helper) []inspectHelper {
	out := []inspectHelper{}
	for _, h := range hs {
		out = append(out, inspectHelper{ID: h.ID, Name: h.Name})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (r *inspectReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s: %d BPF object(s), maps %v; %s\n", r.File, len(r.Objects), policy.Bytes(r.MapMemory), needsText(r.Needs, r.Profile))
	for i, o := range r.Objects {
		fmt.Fprintf(w, "\nobject %d: %s, %d bytes, sha256 %s\n", i+1, o.Where, o.Size, o.SHA256[:16])
		if o.Error != "" {
			fmt.Fprintf(w, "  the runtime refuses it: %s\n", o.Error)
			continue
		}
		for _, p := range o.Programs {
			target := p.Target
			if target == "" {
				target = "a target given at attach time"
			}
			fmt.Fprintf(w, "  program %s: section %s, %s, attaches to %s, %d instructions\n", p.Name, p.Section, p.Kind, target, p.Instructions)
			fmt.Fprintf(w, "    helpers: %s\n", helpersText(p.Helpers))
			if len(p.Kfuncs) > 0 {
				fmt.Fprintf(w, "    kfuncs: %s\n", strings.Join(p.Kfuncs, ", "))
			}
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  MAP\tTYPE\tKEY\tVALUE\tENTRIES\tMEMORY\n")
		for _, m := range o.Maps {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%v\n", m.Name, m.Type, m.KeySize, m.ValueSize, m.MaxEntries, policy.Bytes(m.Memory))
			if in := m.Inner; in != nil {
				fmt.Fprintf(tw, "    inner\t%s\t%d\t%d\t%d\t%v\n", in.Type, in.KeySize, in.ValueSize, in.MaxEntries, policy.Bytes(in.Memory))
			}
		}
		tw.Flush()
		fmt.Fprintf(w, "  %s\n", needsText(o.Needs, o.Profile))
	}
}

func helpersText(hs []inspectHelper) string {
	if len(hs) == 0 {
		return "none"
	}
	var s []string
	for _, h := range hs {
		s = append(s, policy.Helper{ID: h.ID, Name: h.Name}.String())
	}
	return strings.Join(s, ", ")
}

func needsText(needs []string, profile string) string {
	if len(needs) == 0 {
		return "needs nothing beyond the default profile, observe"
	}
	flags := make([]string, len(needs))
	for i, n := range needs {
		flags[i] = "--allow " + n
	}
	return fmt.Sprintf("needs %s (the smallest profile that covers it: %s)", strings.Join(flags, " "), profile)
}
