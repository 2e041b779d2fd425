package agent_test

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/wasm-bpf/wasm-bpf/agent"
)

// The OpenAPI document and the routes the agent serves agree: every
// endpoint is documented and every documented one is served, and the
// documented guest spec has the fields the agent reads.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	data, err := os.ReadFile("../docs/agent-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI    string                              `json:"openapi"`
		Paths      map[string]map[string]any           `json:"paths"`
		Components struct{ Schemas map[string]schema } `json:"components"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/agent-api.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	served := agent.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented endpoints:\n  %s\nserved:\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}

	checkFields(t, "Spec", doc.Components.Schemas["Spec"], reflect.TypeFor[agent.Spec]())
	checkFields(t, "Spec.limits", doc.Components.Schemas["Spec"].Properties["limits"], reflect.TypeFor[agent.Limits]())
	checkFields(t, "Status", doc.Components.Schemas["Status"], reflect.TypeFor[agent.Status]())
	checkFields(t, "LogLine", doc.Components.Schemas["LogLine"], reflect.TypeFor[agent.LogLine]())
	var states []string
	for _, s := range agent.States {
		states = append(states, string(s))
	}
	if got := doc.Components.Schemas["Status"].Properties["state"].Enum; !slices.Equal(got, states) {
		t.Errorf("documented states %v, the agent's %v", got, states)
	}
}

type schema struct {
	Properties map[string]schema `json:"properties"`
	Enum       []string          `json:"enum"`
}

func checkFields(t *testing.T, name string, s schema, typ reflect.Type) {
	t.Helper()
	var fields, props []string
	for f := range typ.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields = append(fields, tag)
	}
	for p := range s.Properties {
		props = append(props, p)
	}
	slices.Sort(fields)
	slices.Sort(props)
	if !slices.Equal(fields, props) {
		t.Errorf("schema %s documents %v; the agent's type has %v", name, props, fields)
	}
}
