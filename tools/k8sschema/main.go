// Command k8sschema turns the Kubernetes OpenAPI (swagger 2.0) document into the JSON
// schemas kubeconform reads, so that `make k8s-check` validates deploy/k8s offline.
//
// kubeconform normally downloads yannh/kubernetes-json-schema from GitHub. The same
// swagger.json ships in the module k8s.io/kubernetes, which the Go module proxy serves:
//
//	dir=$(go mod download -json k8s.io/kubernetes@v1.31.0 | jq -r .Dir)
//	go run ./tools/k8sschema -swagger "$dir/api/openapi-spec/swagger.json" -out bin/k8s-schemas
//	kubeconform -strict -schema-location 'bin/k8s-schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json' deploy/k8s/
//
// Each definition carrying x-kubernetes-group-version-kind becomes one file per
// group/version/kind, named like kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}:
// the lowercase kind, then "-" and the group's first dot-separated part (omitted for
// the core group), then "-" and the version: deployment-apps-v1.json, service-v1.json,
// horizontalpodautoscaler-autoscaling-v2.json.
//
// The schemas are what kubeconform calls standalone-strict, as openapi2jsonschema makes them:
//   - standalone: every $ref is inlined; a ref met again inside its own expansion
//     (JSONSchemaProps, which nests itself) becomes {} (anything);
//   - strict: each object schema that declares properties gets additionalProperties: false,
//     so a misspelt field is an error, the root included;
//   - format int-or-string becomes oneOf string/integer, and Quantity oneOf string/number
//     (YAML writes `cpu: 1` as a number);
//   - kind and apiVersion are pinned with an enum when a definition has a single GVK.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const refPrefix = "#/definitions/"

const quantityRef = "io.k8s.apimachinery.pkg.api.resource.Quantity"

type gvk struct {
	Group, Version, Kind string
}

func main() {
	swagger := flag.String("swagger", "", "path to the Kubernetes swagger.json (api/openapi-spec/swagger.json in module k8s.io/kubernetes)")
	out := flag.String("out", "", "directory to write the schemas into (created if missing)")
	kinds := flag.String("kinds", "", "comma-separated kinds to write (case-insensitive); empty writes every kind")
	flag.Parse()
	if *swagger == "" || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: k8sschema -swagger PATH/swagger.json -out DIR [-kinds Deployment,Service,...]")
		os.Exit(2)
	}
	n, err := run(*swagger, *out, *kinds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8sschema:", err)
		os.Exit(1)
	}
	fmt.Printf("k8sschema: wrote %d schemas to %s\n", n, *out)
}

func run(swaggerPath, outDir, kindList string) (int, error) {
	raw, err := os.ReadFile(swaggerPath)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return 0, fmt.Errorf("%s: %w", swaggerPath, err)
	}
	if len(doc.Definitions) == 0 {
		return 0, fmt.Errorf("%s: no definitions", swaggerPath)
	}

	want := map[string]bool{}
	for _, k := range strings.Split(kindList, ",") {
		if k = strings.TrimSpace(k); k != "" {
			want[strings.ToLower(k)] = true
		}
	}
	found := map[string]bool{}

	c := &converter{defs: doc.Definitions}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return 0, err
	}
	names := make([]string, 0, len(doc.Definitions))
	for name := range doc.Definitions {
		names = append(names, name)
	}
	sort.Strings(names)

	written := map[string]string{} // file name -> definition
	for _, name := range names {
		gvks, err := groupVersionKinds(doc.Definitions[name])
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		for _, g := range gvks {
			if len(want) > 0 && !want[strings.ToLower(g.Kind)] {
				continue
			}
			found[strings.ToLower(g.Kind)] = true
			file := fileName(g)
			if prev, ok := written[file]; ok {
				if prev == name {
					continue
				}
				return 0, fmt.Errorf("%s: both %s and %s map to it", file, prev, name)
			}
			schema := c.schema(map[string]any{"$ref": refPrefix + name}, nil).(map[string]any)
			if len(gvks) == 1 {
				pinKind(schema, g)
			}
			b, err := json.MarshalIndent(schema, "", "  ")
			if err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
			if err := os.WriteFile(filepath.Join(outDir, file), append(b, '\n'), 0o644); err != nil {
				return 0, err
			}
			written[file] = name
		}
	}
	var missing []string
	for k := range want {
		if !found[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return 0, fmt.Errorf("no definition for kinds %s", strings.Join(missing, ", "))
	}
	return len(written), nil
}

// groupVersionKinds reads the x-kubernetes-group-version-kind extension.
func groupVersionKinds(def map[string]any) ([]gvk, error) {
	ext, ok := def["x-kubernetes-group-version-kind"]
	if !ok {
		return nil, nil
	}
	list, ok := ext.([]any)
	if !ok {
		return nil, fmt.Errorf("x-kubernetes-group-version-kind is %T, not a list", ext)
	}
	var out []gvk
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("x-kubernetes-group-version-kind entry is %T", e)
		}
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		if v == "" || k == "" {
			return nil, fmt.Errorf("x-kubernetes-group-version-kind entry without version or kind: %v", m)
		}
		out = append(out, gvk{Group: g, Version: v, Kind: k})
	}
	return out, nil
}

// fileName mirrors kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json
// (pkg/registry/registry.go, schemaPath): for apiVersion "group.example.io/v1" the
// suffix is "-group-v1", for the core "v1" it is "-v1".
func fileName(g gvk) string {
	suffix := "-" + strings.ToLower(g.Version)
	if g.Group != "" {
		suffix = "-" + strings.ToLower(strings.Split(g.Group, ".")[0]) + suffix
	}
	return strings.ToLower(g.Kind) + suffix + ".json"
}

func apiVersion(g gvk) string {
	if g.Group == "" {
		return g.Version
	}
	return g.Group + "/" + g.Version
}

// pinKind restricts kind and apiVersion to the single GVK the schema is for.
func pinKind(schema map[string]any, g gvk) {
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return
	}
	if p, ok := props["kind"].(map[string]any); ok {
		p["enum"] = []any{g.Kind}
	}
	if p, ok := props["apiVersion"].(map[string]any); ok {
		p["enum"] = []any{apiVersion(g)}
	}
}

type converter struct {
	defs map[string]map[string]any
}

// schema returns a standalone, strict copy of the schema node s. stack holds the
// definitions being expanded around s, to cut recursion.
func (c *converter) schema(s any, stack []string) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	if ref, ok := m["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, refPrefix)
		def, exists := c.defs[name]
		if !found || !exists {
			panic(fmt.Sprintf("unresolvable $ref %q", ref))
		}
		if name == quantityRef {
			return map[string]any{
				"description": def["description"],
				"oneOf":       []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}},
			}
		}
		for _, n := range stack {
			if n == name {
				return map[string]any{} // recursive: accept anything here
			}
		}
		expanded := c.schema(def, append(stack, name)).(map[string]any)
		// Siblings of $ref (a description) are kept unless the definition has its own.
		for k, v := range m {
			if _, has := expanded[k]; !has && k != "$ref" {
				expanded[k] = v
			}
		}
		return expanded
	}
	if m["format"] == "int-or-string" {
		out := map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		if d, ok := m["description"]; ok {
			out["description"] = d
		}
		return out
	}

	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		switch k {
		case "x-kubernetes-group-version-kind":
			// Only meaningful on the root; the root gets an enum instead.
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				out[k] = v
				continue
			}
			np := make(map[string]any, len(props))
			for pk, pv := range props {
				np[pk] = c.schema(pv, stack)
			}
			out[k] = np
		case "items", "not":
			out[k] = c.schema(v, stack)
		case "additionalProperties":
			if _, isMap := v.(map[string]any); isMap {
				out[k] = c.schema(v, stack)
			} else {
				out[k] = v
			}
		case "allOf", "anyOf", "oneOf":
			list, ok := v.([]any)
			if !ok {
				out[k] = v
				continue
			}
			nl := make([]any, len(list))
			for i, e := range list {
				nl[i] = c.schema(e, stack)
			}
			out[k] = nl
		default:
			out[k] = v
		}
	}
	if _, ok := out["properties"]; ok {
		if _, ok := out["additionalProperties"]; !ok {
			out["additionalProperties"] = false
		}
	}
	return out
}
