package api

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/http"

	"gopkg.in/yaml.v3"
)

// baseOpenAPI is the part of the OpenAPI document this package serves
// itself: info, servers, security, the shared components and its own paths.
//
//go:embed openapi.yaml
var baseOpenAPI []byte

// mergeOpenAPI adds each domain's fragment to the base document: paths,
// components by kind, and tags. Defining anything twice is an error, since
// one of the two definitions would silently be lost.
func mergeOpenAPI(base []byte, domains []Domain) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("api: base OpenAPI document: %w", err)
	}
	root := doc.Content[0]
	for _, d := range domains {
		if len(bytes.TrimSpace(d.OpenAPI)) == 0 {
			continue
		}
		var frag yaml.Node
		if err := yaml.Unmarshal(d.OpenAPI, &frag); err != nil {
			return nil, fmt.Errorf("api: OpenAPI fragment of domain %s: %w", d.Name, err)
		}
		if len(frag.Content) == 0 || frag.Content[0].Kind != yaml.MappingNode {
			return nil, fmt.Errorf("api: OpenAPI fragment of domain %s is not a mapping", d.Name)
		}
		f := frag.Content[0]
		for i := 0; i < len(f.Content); i += 2 {
			key, val := f.Content[i].Value, f.Content[i+1]
			var err error
			switch key {
			case "paths":
				err = mergeMapping(mappingAt(root, "paths"), val, "path")
			case "components":
				if val.Kind != yaml.MappingNode {
					err = fmt.Errorf("components is not a mapping")
					break
				}
				for j := 0; j < len(val.Content) && err == nil; j += 2 {
					kind := val.Content[j].Value
					switch kind {
					case "schemas", "parameters", "responses", "headers":
						err = mergeMapping(mappingAt(mappingAt(root, "components"), kind), val.Content[j+1], "components."+kind)
					default:
						err = fmt.Errorf("components.%s: a fragment may only add schemas, parameters, responses and headers", kind)
					}
				}
			case "tags":
				err = mergeTags(sequenceAt(root, "tags"), val)
			default:
				err = fmt.Errorf("%s: a fragment may only have paths, components and tags", key)
			}
			if err != nil {
				return nil, fmt.Errorf("api: OpenAPI fragment of domain %s: %w", d.Name, err)
			}
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("api: encode the OpenAPI document: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("api: encode the OpenAPI document: %w", err)
	}
	return buf.Bytes(), nil
}

// mappingAt returns the mapping under key in m, adding an empty one if absent.
func mappingAt(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

func sequenceAt(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	v := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

func mergeMapping(dst, src *yaml.Node, what string) error {
	if src.Kind != yaml.MappingNode || dst.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: not a mapping", what)
	}
	have := map[string]bool{}
	for i := 0; i < len(dst.Content); i += 2 {
		have[dst.Content[i].Value] = true
	}
	for i := 0; i < len(src.Content); i += 2 {
		k := src.Content[i].Value
		if have[k] {
			return fmt.Errorf("%s %s is already defined", what, k)
		}
		have[k] = true
		dst.Content = append(dst.Content, src.Content[i], src.Content[i+1])
	}
	return nil
}

func mergeTags(dst, src *yaml.Node) error {
	if src.Kind != yaml.SequenceNode || dst.Kind != yaml.SequenceNode {
		return fmt.Errorf("tags: not a sequence")
	}
	name := func(t *yaml.Node) string {
		for i := 0; i+1 < len(t.Content); i += 2 {
			if t.Content[i].Value == "name" {
				return t.Content[i+1].Value
			}
		}
		return ""
	}
	have := map[string]bool{}
	for _, t := range dst.Content {
		have[name(t)] = true
	}
	for _, t := range src.Content {
		n := name(t)
		if n == "" || have[n] {
			return fmt.Errorf("tag %q is unnamed or already defined", n)
		}
		have[n] = true
		dst.Content = append(dst.Content, t)
	}
	return nil
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ Caller) error {
	WriteBody(w, r, http.StatusOK, "application/yaml", s.openapi)
	return nil
}
