package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of a guest artifact.
const (
	// ConfigMediaType and LayerMediaType are those of the Wasm OCI artifact
	// layout: what Push writes.
	ConfigMediaType = "application/vnd.wasm.config.v0+json"
	LayerMediaType  = "application/wasm"

	// WasmToOCIConfigMediaType and WasmToOCILayerMediaType are wasm-to-oci's,
	// which eunomia-bpf's `ecli push` writes (oci-distribution's WASM_*
	// constants). Pull reads them.
	WasmToOCIConfigMediaType = "application/vnd.wasm.config.v1+json"
	WasmToOCILayerMediaType  = "application/vnd.wasm.content.layer.v1+wasm"
)

// Annotations of a guest's manifest that say what its BPF objects ask of the
// kernel. Each value is a list in the form [JoinList] writes: sorted,
// without duplicates, separated by commas. The words are those of
// `wasm-bpf inspect`.
const (
	// AnnotationPrefix starts every key this runtime defines; push sets
	// them from the module and nothing else.
	AnnotationPrefix = "io.wasm-bpf."
	// AnnotationPrograms lists the BPF programs: SECTION/NAME for each.
	AnnotationPrograms = AnnotationPrefix + "programs"
	// AnnotationHelpers lists the BPF helper functions the programs call.
	AnnotationHelpers = AnnotationPrefix + "helpers"
	// AnnotationCapabilities lists what the guest needs to be granted.
	AnnotationCapabilities = AnnotationPrefix + "capabilities"
)

// JoinList writes a list annotation value: sorted, without duplicates or
// empty items, separated by commas.
func JoinList(items []string) string {
	var out []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

// SplitList reads a list annotation value.
func SplitList(v string) []string {
	var out []string
	for _, it := range strings.Split(v, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// Limits on what a registry may hand us: a manifest or config is a few
// hundred bytes, a guest a few MiB.
const (
	maxManifestSize = 4 << 20
	maxConfigSize   = 1 << 20
	maxModuleSize   = 256 << 20
)

// wasmConfig is the config blob of the Wasm OCI artifact layout.
type wasmConfig struct {
	Created      time.Time `json:"created"`
	Author       string    `json:"author,omitempty"`
	Architecture string    `json:"architecture"`
	// OS is wasip1 for a core module (a component would be wasip2).
	OS string `json:"os"`
	// LayerDigests repeats the layers' digests so that two artifacts'
	// configs (and so their ids) differ when their modules do.
	LayerDigests []string `json:"layerDigests"`
}

func digestOf(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// artifact is a guest as Push writes it.
type artifact struct {
	config, manifest []byte
}

func newArtifact(wasm []byte, annotations map[string]string, created time.Time) (artifact, error) {
	layer := v1.Descriptor{MediaType: LayerMediaType, Size: int64(len(wasm)), Digest: digestOf(wasm)}
	config, err := json.Marshal(wasmConfig{
		Created:      created.UTC(),
		Architecture: "wasm",
		OS:           "wasip1",
		LayerDigests: []string{layer.Digest.String()},
	})
	if err != nil {
		return artifact{}, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: ConfigMediaType, Size: int64(len(config)), Digest: digestOf(config)},
		Layers:        []v1.Descriptor{layer},
		Annotations:   annotations,
	}
	if len(m.Annotations) == 0 {
		m.Annotations = nil
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return artifact{}, err
	}
	return artifact{config: config, manifest: manifest}, nil
}

// parseManifest reads an image manifest of a guest and returns it with the
// descriptor of its module, or says why it is not a guest.
func parseManifest(raw []byte, mediaType types.MediaType) (*v1.Manifest, v1.Descriptor, error) {
	var doc struct {
		v1.Manifest
		Manifests json.RawMessage `json:"manifests"` // only an index has it
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	m := doc.Manifest
	// The registry's Content-Type (mediaType) is only trusted to say
	// "index": some registries serve manifests they do not know as
	// application/json.
	if mediaType.IsIndex() || m.MediaType.IsIndex() || doc.Manifests != nil {
		return nil, v1.Descriptor{}, errors.New("is an image index, not a guest: a guest is one manifest with one Wasm layer")
	}
	if m.SchemaVersion != 2 {
		return nil, v1.Descriptor{}, fmt.Errorf("manifest schemaVersion %d, want 2", m.SchemaVersion)
	}
	var wasm []v1.Descriptor
	var others []string
	for _, l := range m.Layers {
		switch l.MediaType {
		case LayerMediaType, WasmToOCILayerMediaType:
			wasm = append(wasm, l)
		default:
			others = append(others, string(l.MediaType))
		}
	}
	switch {
	case len(wasm) == 0 && m.Config.MediaType.IsConfig():
		return nil, v1.Descriptor{}, fmt.Errorf("is a container image (config %s), not a Wasm guest: push a guest with `wasm-bpf push MODULE.wasm REF`", m.Config.MediaType)
	case len(wasm) == 0:
		return nil, v1.Descriptor{}, fmt.Errorf("has no Wasm layer (media type %s or %s; its layers are %v): with oras, give the media type: oras push REF guest.wasm:%s", LayerMediaType, WasmToOCILayerMediaType, others, LayerMediaType)
	case len(wasm) > 1:
		return nil, v1.Descriptor{}, fmt.Errorf("has %d Wasm layers; a guest has one", len(wasm))
	}
	l := wasm[0]
	if err := checkDescriptor(l, maxModuleSize); err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("Wasm layer: %w", err)
	}
	if err := checkDescriptor(m.Config, maxConfigSize); err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("config: %w", err)
	}
	return &m, l, nil
}

// checkDescriptor refuses what the store cannot hold or would not fetch.
func checkDescriptor(d v1.Descriptor, max int64) error {
	if err := checkDigest(d.Digest); err != nil {
		return err
	}
	if d.Size < 0 || d.Size > max {
		return fmt.Errorf("size %d out of range (at most %d bytes)", d.Size, max)
	}
	return nil
}

// checkDigest refuses a digest the store cannot name a file after.
func checkDigest(h v1.Hash) error {
	if h.Algorithm != "sha256" || len(h.Hex) != 64 || strings.Trim(h.Hex, "0123456789abcdef") != "" {
		return fmt.Errorf("digest %q: only sha256 digests are supported", h)
	}
	return nil
}
