package rest

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unknownFieldPath finds where in body the unknown field name sits for a value of type
// t, as a path a client can act on ("variants[0].cost"); encoding/json names only the
// field. It returns name itself when it cannot tell.
func unknownFieldPath(body []byte, t reflect.Type, name string) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return name
	}
	if p := findUnknown(v, t, "", name); p != "" {
		return p
	}
	return name
}

// findUnknown walks v beside t and returns the path of the first key called name that
// t has no field for.
func findUnknown(v any, t reflect.Type, path, name string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "" // decodes itself: its keys are not ours to judge
	}
	switch val := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			at := k
			if path != "" {
				at = path + "." + k
			}
			var field reflect.Type
			switch t.Kind() {
			case reflect.Map:
				field = t.Elem()
			case reflect.Struct:
				f, ok := jsonField(t, k)
				if !ok {
					if k == name {
						return at
					}
					continue
				}
				field = f
			default:
				return ""
			}
			if p := findUnknown(val[k], field, at, name); p != "" {
				return p
			}
		}
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return ""
		}
		for i, x := range val {
			if p := findUnknown(x, t.Elem(), path+"["+strconv.Itoa(i)+"]", name); p != "" {
				return p
			}
		}
	}
	return ""
}

// jsonField returns the type of t's field that encoding/json decodes key into: the
// tagged or Go name, exact first, then case-insensitively, as encoding/json matches.
func jsonField(t reflect.Type, key string) (reflect.Type, bool) {
	var folded reflect.Type
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			inner := ft
			if inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				if got, ok := jsonField(inner, key); ok {
					return got, true
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return ft, true
		}
		if folded == nil && strings.EqualFold(name, key) {
			folded = ft
		}
	}
	return folded, folded != nil
}
