package rest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// operation documents one route in the OpenAPI document.
type operation struct {
	ID      string
	Tag     string
	Summary string
	// Request and Response name component schemas; empty means no body.
	Request  string
	Response string
	// Status is the success status (200 when zero).
	Status int
	// Paged lists take limit and after.
	Paged bool
	// HTML and Text mark non-JSON responses.
	HTML bool
	Text bool
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// openAPI builds the OpenAPI 3.1 document from the route table.
func (a *api) openAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range a.routes() {
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = rt.operationObject()
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Mercantile API",
			"version": "v1",
			"description": "Catalog, inventory and orders for merchants. Money is an integer count of the currency's minor unit. " +
				"Errors are RFC 9457 problem+json with a stable `code`. Lists take `limit` (1-250, default 50) and `after` (a cursor).",
		},
		"servers": []map[string]any{{"url": a.cfg.PublicBaseURL}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "A secret (sk_) or publishable (pk_) API key."},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie, "description": "A staff session; state-changing requests also need the X-CSRF-Token header."},
			},
		},
	}
}

func (rt route) operationObject() map[string]any {
	op := rt.doc
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	success := map[string]any{"description": http.StatusText(status)}
	switch {
	case op.HTML:
		success["content"] = map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}
	case op.Text:
		success["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
	case op.Response != "":
		success["content"] = jsonContent(op.Response)
	}
	responses := map[string]any{strconv.Itoa(status): success}
	problemRef := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{
			"application/problem+json": map[string]any{"schema": ref("Problem")}}}
	}
	if rt.access != public {
		responses["401"] = problemRef("Missing or invalid credentials (unauthorized).")
		responses["403"] = problemRef("Credentials valid but not allowed (forbidden).")
	}
	if op.Request != "" {
		responses["400"] = problemRef("Malformed JSON or unknown fields (invalid).")
		responses["413"] = problemRef("Body larger than MAX_BODY_BYTES (payload_too_large).")
		responses["422"] = problemRef("Well-formed but invalid fields (invalid).")
	}
	params := []map[string]any{}
	for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		responses["404"] = problemRef("No such object for this merchant (not_found).")
	}
	if op.Paged {
		params = append(params,
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 250, "default": 50}},
			map[string]any{"name": "after", "in": "query", "schema": map[string]any{"type": "string"}, "description": "The end_cursor of the previous page."})
	}
	out := map[string]any{
		"operationId": op.ID,
		"summary":     op.Summary,
		"tags":        []string{op.Tag},
		"responses":   responses,
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if op.Request != "" {
		out["requestBody"] = map[string]any{"required": true, "content": jsonContent(op.Request)}
	}
	switch rt.access {
	case public:
		out["security"] = []any{}
	default:
		out["security"] = []map[string][]string{{"bearer": {}}, {"session": {}}}
	}
	return out
}

func (a *api) openAPIJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(a.openAPI())
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func jsonContent(schema string) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": ref(schema)}}
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// object is a JSON Schema object whose listed properties are all required.
func object(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props, "required": sortedKeys(props), "additionalProperties": false}
}

// input is a JSON Schema object for a request body; required names the mandatory fields.
func input(props map[string]any, required ...string) map[string]any {
	if required == nil {
		required = []string{}
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

var (
	str         = map[string]any{"type": "string"}
	nullableStr = map[string]any{"type": []string{"string", "null"}}
	dateTime    = map[string]any{"type": "string", "format": "date-time"}
	nullableDT  = map[string]any{"type": []string{"string", "null"}, "format": "date-time"}
)

func enum(values ...string) map[string]any { return map[string]any{"type": "string", "enum": values} }

func list(item string) map[string]any {
	return object(map[string]any{
		"data":      map[string]any{"type": "array", "items": ref(item)},
		"page_info": ref("PageInfo"),
	})
}

// schemas are the component schemas; the contract test checks real responses against them.
var schemas = map[string]any{
	"Problem": object(map[string]any{
		"type": str, "title": str, "status": map[string]any{"type": "integer"}, "detail": str,
		"code": enum("invalid", "not_found", "unauthorized", "forbidden", "conflict", "insufficient_inventory",
			"idempotency_conflict", "invalid_state_transition", "rate_limited", "payload_too_large", "unavailable", "internal"),
		"errors":     map[string]any{"type": "array", "items": object(map[string]any{"field": str, "message": str})},
		"request_id": str,
	}),
	"PageInfo": object(map[string]any{"has_next_page": map[string]any{"type": "boolean"}, "end_cursor": nullableStr}),
	"Health":   object(map[string]any{"status": str}),
	"Readiness": object(map[string]any{
		"status": enum("ready", "degraded", "draining"),
		"checks": map[string]any{"type": "object", "additionalProperties": str},
	}),
	"Object": map[string]any{"type": "object"},
	"Merchant": object(map[string]any{
		"id": str, "name": str, "handle": str, "currency": str, "status": enum("onboarding", "active", "sunset"),
		"shopify_shop_domain": nullableStr, "created_at": dateTime, "updated_at": dateTime,
	}),
	"MerchantUpdate": input(map[string]any{
		"name": str, "currency": str, "shopify_shop_domain": str, "status": enum("onboarding", "active", "sunset"),
	}),
	"Login": input(map[string]any{"email": str, "password": str}, "email", "password"),
	"Session": object(map[string]any{
		"user_id": str, "merchant_id": str, "role": enum("owner", "staff", "viewer"), "csrf_token": str, "expires_at": dateTime,
	}),
	"APIKey": map[string]any{"type": "object", "additionalProperties": false,
		"required": []string{"id", "kind", "name", "prefix", "last_used_at", "revoked_at", "created_at"},
		"properties": map[string]any{
			"id": str, "kind": enum("secret", "publishable"), "name": str, "prefix": str,
			"last_used_at": nullableDT, "revoked_at": nullableDT, "created_at": dateTime,
			"secret": map[string]any{"type": "string", "description": "The whole key; only in the response that created it."},
		}},
	"APIKeyCreate": input(map[string]any{"kind": enum("secret", "publishable"), "name": str}, "kind"),
	"APIKeyList":   list("APIKey"),
	"User": object(map[string]any{
		"id": str, "email": str, "name": str, "role": enum("owner", "staff", "viewer"), "last_login_at": nullableDT, "created_at": dateTime,
	}),
	"UserCreate": input(map[string]any{"email": str, "name": str, "password": str, "role": enum("owner", "staff", "viewer")}, "email"),
	"UserList":   list("User"),
	"GraphQLRequest": input(map[string]any{
		"query": str, "operationName": str, "variables": map[string]any{"type": "object"}, "extensions": map[string]any{"type": "object"},
	}),
	"GraphQLResponse": map[string]any{"type": "object", "properties": map[string]any{
		"data": map[string]any{"type": []string{"object", "null"}}, "errors": map[string]any{"type": "array"},
	}},
}
