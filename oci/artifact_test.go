package oci

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// module returns a minimal Wasm module with a custom section holding tag,
// so that each test's module has its own digest.
func module(tag string) []byte {
	name := "t"
	payload := append([]byte{byte(len(name))}, name...)
	payload = append(payload, tag...)
	if len(payload) > 127 {
		panic("tag too long")
	}
	return append([]byte("\x00asm\x01\x00\x00\x00\x00"), append([]byte{byte(len(payload))}, payload...)...)
}

func TestNewArtifact(t *testing.T) {
	wasm := module("artifact")
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("x", 3600))
	ann := map[string]string{AnnotationCapabilities: "a,b"}
	a, err := newArtifact(wasm, ann, created)
	if err != nil {
		t.Fatal(err)
	}
	m, layer, err := parseManifest(a.manifest, types.OCIManifestSchema1)
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != ConfigMediaType || layer.MediaType != LayerMediaType {
		t.Errorf("media types: manifest %s, config %s, layer %s", m.MediaType, m.Config.MediaType, layer.MediaType)
	}
	if layer.Digest != digestOf(wasm) || layer.Size != int64(len(wasm)) || m.Config.Digest != digestOf(a.config) {
		t.Errorf("descriptors do not match the blobs: %+v %+v", layer, m.Config)
	}
	if m.Annotations[AnnotationCapabilities] != "a,b" {
		t.Errorf("annotations %v", m.Annotations)
	}
	var c map[string]any
	if err := json.Unmarshal(a.config, &c); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"created": "2024-05-06T06:08:09Z", "architecture": "wasm", "os": "wasip1",
		"layerDigests": []any{digestOf(wasm).String()},
	}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("config %s, want %v", a.config, want)
	}
	// The same module at the same time is the same artifact.
	b, _ := newArtifact(wasm, ann, created)
	if string(b.manifest) != string(a.manifest) {
		t.Error("newArtifact is not deterministic")
	}
	if a, _ := newArtifact(wasm, nil, created); strings.Contains(string(a.manifest), "annotations") {
		t.Errorf("no annotations written as %s", a.manifest)
	}
}

func TestParseManifest(t *testing.T) {
	d := func(b string) v1.Hash { return digestOf([]byte(b)) }
	desc := func(mt, blob string) string {
		return fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`, mt, d(blob), len(blob))
	}
	manifest := func(mediaType, config string, layers ...string) string {
		mt := ""
		if mediaType != "" {
			mt = fmt.Sprintf(`"mediaType":%q,`, mediaType)
		}
		return fmt.Sprintf(`{"schemaVersion":2,%s"config":%s,"layers":[%s]}`, mt, config, strings.Join(layers, ","))
	}
	oci := string(types.OCIManifestSchema1)
	tests := []struct {
		name      string
		raw       string
		mediaType types.MediaType // the registry's Content-Type
		layer     string          // want this layer's media type, or
		err       string          // an error containing this
	}{
		{name: "wasm-oci-artifact", raw: manifest(oci, desc(ConfigMediaType, "{}"), desc(LayerMediaType, "wasm")),
			mediaType: types.OCIManifestSchema1, layer: LayerMediaType},
		// What `ecli push` writes through oci-distribution 0.9: no
		// mediaType in the body, the wasm-to-oci types, config "{}" (or
		// "" in bpf-oci).
		{name: "ecli", raw: manifest("", desc(WasmToOCIConfigMediaType, "{}"), desc(WasmToOCILayerMediaType, "wasm")),
			mediaType: types.OCIManifestSchema1, layer: WasmToOCILayerMediaType},
		{name: "ecli-empty-config", raw: manifest("", desc(WasmToOCIConfigMediaType, ""), desc(WasmToOCILayerMediaType, "wasm")),
			mediaType: "application/json", layer: WasmToOCILayerMediaType},
		// oras push REF guest.wasm:application/wasm: oras's empty config.
		{name: "oras", raw: manifest(oci, desc("application/vnd.oci.empty.v1+json", "{}"), desc(LayerMediaType, "wasm")),
			mediaType: types.OCIManifestSchema1, layer: LayerMediaType},
		{name: "extra-layer", raw: manifest(oci, desc(ConfigMediaType, "{}"), desc("text/markdown", "readme"), desc(LayerMediaType, "wasm")),
			layer: LayerMediaType},
		{name: "oras-no-media-type", raw: manifest(oci, desc("application/vnd.oci.empty.v1+json", "{}"), desc("application/vnd.oci.image.layer.v1.tar", "wasm")),
			err: "guest.wasm:application/wasm"},
		{name: "container-image", raw: manifest(oci, desc(string(types.OCIConfigJSON), "{}"), desc(string(types.OCILayer), "tar")),
			err: "is a container image"},
		{name: "two-modules", raw: manifest(oci, desc(ConfigMediaType, "{}"), desc(LayerMediaType, "a"), desc(LayerMediaType, "b")),
			err: "2 Wasm layers"},
		{name: "index-by-content-type", raw: `{"schemaVersion":2,"manifests":[]}`, mediaType: types.OCIImageIndex, err: "image index"},
		{name: "index-by-body", raw: `{"schemaVersion":2,"manifests":[]}`, mediaType: "application/json", err: "image index"},
		{name: "schema1", raw: `{"schemaVersion":1}`, err: "schemaVersion 1"},
		{name: "not-json", raw: `<html>`, err: "manifest:"},
		{name: "sha512-layer", raw: manifest(oci, desc(ConfigMediaType, "{}"), `{"mediaType":"application/wasm","digest":"sha512:`+strings.Repeat("ab", 64)+`","size":4}`),
			err: "only sha256"},
		{name: "huge-layer", raw: manifest(oci, desc(ConfigMediaType, "{}"), fmt.Sprintf(`{"mediaType":"application/wasm","digest":%q,"size":%d}`, d("x"), int64(maxModuleSize)+1)),
			err: "out of range"},
		{name: "negative-size", raw: manifest(oci, desc(ConfigMediaType, "{}"), fmt.Sprintf(`{"mediaType":"application/wasm","digest":%q,"size":-1}`, d("x"))),
			err: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, layer, err := parseManifest([]byte(tt.raw), tt.mediaType)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err == "" && string(layer.MediaType) != tt.layer:
				t.Fatalf("layer %s, want %s", layer.MediaType, tt.layer)
			}
		})
	}
}

func TestLists(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"b", "a", "b", " ", " c "}, "a,b,c"},
		{[]string{"tracepoint/sched/sched_process_exec"}, "tracepoint/sched/sched_process_exec"},
	}
	for _, tt := range tests {
		got := JoinList(tt.in)
		if got != tt.want {
			t.Errorf("JoinList(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back := JoinList(SplitList(got)); back != got {
			t.Errorf("SplitList(%q) does not round-trip: %q", got, back)
		}
	}
	if got := SplitList(" a, ,b,"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("SplitList: %q", got)
	}
}
