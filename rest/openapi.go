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
	// Params are the query parameters besides limit and after.
	Params []param
	// HTML and Text mark non-JSON responses; Binary marks a stored file's bytes.
	HTML   bool
	Text   bool
	Binary bool
	// CSV marks a text/csv file response.
	CSV bool
	// Upload marks a request body of raw file bytes. Such routes bound their bodies
	// themselves, so MAX_BODY_BYTES does not apply to them.
	Upload bool
	// OptionalBody marks a Request the client may leave out entirely.
	OptionalBody bool
	// Multipart marks a Request sent as multipart/form-data (a file upload), bounded by
	// MAX_IMPORT_BYTES instead of MAX_BODY_BYTES.
	Multipart bool
	// Idempotent routes honour the Idempotency-Key header.
	Idempotent bool
	// Conflict says when the route answers 409, with the codes.
	Conflict string
	// NotFound says when a route without path parameters answers 404.
	NotFound string
	// BadRequest replaces what a 400 means for the route.
	BadRequest string
	// BadGateway says when the route answers 502, an upstream service having failed.
	BadGateway string
	// Unauthorized says when a public route answers 401 (a webhook's signature).
	Unauthorized string
}

// param is a query parameter.
type param struct {
	Name        string
	Description string
	Required    bool
	// Schema defaults to a string.
	Schema map[string]any
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// catchAllParam is how the document names chi's catch-all segment ("/media/*"): OpenAPI
// has no such syntax, so it becomes one path parameter whose value may contain slashes.
const catchAllParam = "key"

// docPath is the OpenAPI path of a chi route pattern.
func docPath(pattern string) string {
	return strings.Replace(pattern, "*", "{"+catchAllParam+"}", 1)
}

// openAPI builds the OpenAPI 3.1 document from the route table.
func (a *api) openAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range a.routes() {
		path := docPath(rt.path)
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(rt.method)] = rt.operationObject()
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Mercantile API",
			"version": "v1",
			"description": "Catalog, inventory and orders for merchants. Money is an integer count of the currency's minor unit. " +
				"Errors are RFC 9457 problem+json with a stable `code`. Lists take `limit` (1-250, default 50) and `after` (a cursor). " +
				"Requests are rate limited per credential (publishable keys per key and client IP, requests without credentials per client IP): " +
				"answers carry RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset, and a refusal is 429 `rate_limited` with Retry-After. " +
				"GraphQL operations are charged their query cost.",
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
	case op.Binary:
		success["content"] = map[string]any{"*/*": map[string]any{"schema": binary}}
	case op.CSV:
		success["content"] = map[string]any{"text/csv": map[string]any{"schema": map[string]any{"type": "string"}}}
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
	if rateLimited(rt.path) {
		tooMany := problemRef("Over the rate limit (rate_limited): of the credential (a publishable key: per client IP), " +
			"or of the client IP without one. Retry after Retry-After seconds.")
		if rt.path == "/graphql" {
			tooMany = map[string]any{"description": "The operation costs more query points than the credential's budget holds now: " +
				"it did not run. The error has extensions.code rate_limited and extensions.retryAfter (seconds).",
				"content": jsonContent("GraphQLResponse")}
		}
		tooMany["headers"] = rateLimitHeaders(true)
		responses["429"] = tooMany
	}
	if op.Request != "" {
		responses["400"] = problemRef("Malformed JSON or unknown fields (invalid).")
		responses["413"] = problemRef("Body larger than MAX_BODY_BYTES (payload_too_large).")
		responses["422"] = problemRef("Well-formed but invalid fields (invalid).")
	}
	if op.Upload {
		responses["400"] = problemRef("The body does not have the signed length (invalid).")
		responses["403"] = problemRef("The URL's signature does not match or it expired (forbidden).")
		responses["413"] = problemRef("Larger than the signed size or MAX_IMAGE_BYTES (payload_too_large).")
		responses["415"] = problemRef("Content-Type differs from the signed one (invalid).")
	}
	params := []map[string]any{}
	for _, m := range pathParam.FindAllStringSubmatch(docPath(rt.path), -1) {
		p := map[string]any{"name": m[1], "in": "path", "required": true, "schema": str}
		if strings.Contains(rt.path, "*") && m[1] == catchAllParam {
			p["description"] = "The object key, slashes included."
		}
		params = append(params, p)
		responses["404"] = problemRef("No such object for this merchant (not_found).")
	}
	if op.Paged {
		params = append(params,
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 250, "default": 50}},
			map[string]any{"name": "after", "in": "query", "schema": map[string]any{"type": "string"}, "description": "The end_cursor of the previous page."})
	}
	if op.Idempotent {
		params = append(params, map[string]any{"name": idempotencyHeader, "in": "header", "required": false,
			"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": 255},
			"description": "Makes a retry safe: the same key with the same path and body within 24 hours returns the first response " +
				"(with Idempotent-Replayed: true) instead of running again. 5xx responses are not kept."})
		success["headers"] = map[string]any{replayedHeader: map[string]any{
			"description": "true when this is the recorded response to an earlier request with the same Idempotency-Key.",
			"schema":      map[string]any{"type": "string", "enum": []string{"true"}}}}
	}
	if rateLimited(rt.path) {
		headers, _ := success["headers"].(map[string]any)
		if headers == nil {
			headers = map[string]any{}
		}
		for name, h := range rateLimitHeaders(false) {
			headers[name] = h
		}
		success["headers"] = headers
	}
	if op.NotFound != "" {
		responses["404"] = problemRef(op.NotFound)
	}
	if op.BadRequest != "" {
		responses["400"] = problemRef(op.BadRequest)
	}
	if op.BadGateway != "" {
		responses["502"] = problemRef(op.BadGateway)
	}
	if op.Unauthorized != "" {
		responses["401"] = problemRef(op.Unauthorized)
	}
	conflicts := []string{}
	if op.Conflict != "" {
		conflicts = append(conflicts, op.Conflict)
	}
	if op.Idempotent {
		conflicts = append(conflicts, "The Idempotency-Key was used with another path or body, or its first request is still running (idempotency_conflict).")
	}
	if len(conflicts) > 0 {
		responses["409"] = problemRef(strings.Join(conflicts, " "))
	}
	for _, qp := range op.Params {
		schema := qp.Schema
		if schema == nil {
			schema = str
		}
		params = append(params, map[string]any{"name": qp.Name, "in": "query", "required": qp.Required, "schema": schema, "description": qp.Description})
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
	if op.Multipart {
		responses["400"] = problemRef("Not multipart/form-data, or an unknown field (invalid).")
		responses["413"] = problemRef("Body larger than MAX_IMPORT_BYTES (payload_too_large).")
	}
	switch {
	case op.Multipart:
		out["requestBody"] = map[string]any{"required": true, "content": map[string]any{"multipart/form-data": map[string]any{"schema": ref(op.Request)}}}
	case op.Request != "":
		out["requestBody"] = map[string]any{"required": !op.OptionalBody, "content": jsonContent(op.Request)}
	case op.Upload:
		out["requestBody"] = map[string]any{"required": true, "description": "The file's bytes, sent with the Content-Type and headers the upload named.",
			"content": map[string]any{"*/*": map[string]any{"schema": binary}}}
	}
	switch rt.access {
	case public:
		out["security"] = []any{}
	default:
		out["security"] = []map[string][]string{{"bearer": {}}, {"session": {}}}
	}
	return out
}

// rateLimitHeaders documents the RateLimit-* headers (sent while rate limits are on)
// and, for a refusal, Retry-After.
func rateLimitHeaders(refused bool) map[string]any {
	integer := func(desc string) map[string]any {
		return map[string]any{"description": desc, "schema": map[string]any{"type": "integer", "minimum": 0}}
	}
	h := map[string]any{
		"RateLimit-Limit":     integer("What the budget holds when full: requests, or GraphQL query cost points."),
		"RateLimit-Remaining": integer("What can still be spent at once."),
		"RateLimit-Reset":     integer("Seconds until the budget is full again."),
	}
	if refused {
		h["Retry-After"] = integer("Seconds to wait before sending the request again.")
	}
	return h
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
	integer     = map[string]any{"type": "integer"}
	nullableInt = map[string]any{"type": []string{"integer", "null"}}
	stringList  = map[string]any{"type": "array", "items": str}
	// binary is a file's bytes (OpenAPI 3.1 spells it with contentMediaType).
	binary = map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}
)

// importProps are an import job's fields.
var importProps = map[string]any{
	"id": str, "kind": enum("shopify_products", "shopify_orders", "inventory"),
	"status": enum("queued", "running", "succeeded", "failed"), "filename": str, "file_sha256": str,
	"warehouse_code": str, "dry_run": map[string]any{"type": "boolean"},
	"rows_total": integer, "rows_imported": integer, "rows_skipped": integer, "rows_rejected": integer,
	"last_row":   map[string]any{"type": "integer", "description": "The last spreadsheet row committed (the header is row 1)."},
	"error":      map[string]any{"type": "string", "description": "Why the whole file failed; empty otherwise."},
	"started_at": nullableDT, "finished_at": nullableDT, "created_at": dateTime, "updated_at": dateTime,
}

// importDetail is an import job with a page of its row errors; errors_next_after is
// present only when more errors follow.
func importDetail() map[string]any {
	props := map[string]any{
		"errors": map[string]any{"type": "array", "items": object(map[string]any{
			"row": integer, "column": str, "message": str})},
		"errors_count": integer,
	}
	for k, v := range importProps {
		props[k] = v
	}
	detail := object(props)
	props["errors_next_after"] = map[string]any{"type": "integer", "description": "Pass it as errors_after for the next page of errors."}
	return detail
}

// emailKind and emailStatus are the outbox's enums.
var (
	emailKind   = enum("order_confirmation", "payment_failed", "shipment_sent", "order_cancelled", "refund_issued")
	emailStatus = enum("queued", "sent", "logged", "failed")
)

func enum(values ...string) map[string]any { return map[string]any{"type": "string", "enum": values} }

func arrayOf(item string) map[string]any { return map[string]any{"type": "array", "items": ref(item)} }

func list(item string) map[string]any {
	return object(map[string]any{
		"data":      map[string]any{"type": "array", "items": ref(item)},
		"page_info": ref("PageInfo"),
	})
}

// variantInput is the body of a variant to create or change.
var variantInput = map[string]any{
	"sku": str, "option_values": map[string]any{"type": "object", "additionalProperties": str},
	"price": integer, "compare_at_price": integer, "barcode": str, "weight_grams": integer,
	"image_id": map[string]any{"type": []string{"string", "null"},
		"description": "One of the product's images (a new product has none yet); null on an update unlinks the variant's image."},
}

// paymentProps are an order's payment: how it is paid and how far.
var paymentProps = map[string]any{
	"provider": enum("manual", "stripe"),
	"status":   enum("pending", "requires_action", "processing", "succeeded", "failed", "canceled"),
	"client_secret": map[string]any{"type": []string{"string", "null"},
		"description": "The Stripe PaymentIntent's client secret, for Stripe.js to confirm the payment; null for manual payments, once the payment " +
			"succeeded or was cancelled, and when Stripe could not be reached at placement (POST /api/v1/orders/{id}/payment-intent then creates it)."},
}

// addressProps are a postal address's fields; empty ones are left out.
var addressProps = map[string]any{
	"name": str, "company": str, "line1": str, "line2": str, "city": str, "region": str,
	"postal_code": str, "country": map[string]any{"type": "string", "description": "ISO 3166-1 alpha-2, e.g. US."}, "phone": str,
}

// nullableAddress is an address, or null when none was given.
var nullableAddress = map[string]any{"type": []string{"object", "null"}, "properties": addressProps, "additionalProperties": false}

var warehouseInput = map[string]any{
	"code": map[string]any{"type": "string", "description": "1 to 64 letters, digits, dots, dashes or underscores; unique per merchant."},
	"name": str, "address": ref("Address"),
	"priority": map[string]any{"type": "integer", "minimum": 0, "description": "Lower ships first (1 before 2); ties by code. Default 100."},
	"active":   map[string]any{"type": "boolean", "description": "Inactive warehouses are not allocated new orders."},
}

var (
	quantity = map[string]any{"type": "integer", "minimum": 1}
	stock    = map[string]any{"type": "integer", "minimum": 0}
)

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
		"shopify_connected": map[string]any{"type": "boolean",
			"description": "Stock changes are pushed to the shop: domain and access token set, app not uninstalled."},
	}),
	"MerchantUpdate": input(map[string]any{
		"name": str, "currency": str, "shopify_shop_domain": str, "status": enum("onboarding", "active", "sunset"),
		"shopify_access_token": map[string]any{"type": "string", "writeOnly": true,
			"description": "The Admin API access token stock is pushed with; never returned. Setting one reconnects an uninstalled shop; empty clears it."},
	}),
	"ParityCount":      object(map[string]any{"source": integer, "ours": integer}),
	"ParityDifference": object(map[string]any{"sku": str, "source": integer, "ours": integer}),
	"ParityMonth": object(map[string]any{
		"month": str, "currency": str, "source_count": integer, "our_count": integer, "source_total": integer, "our_total": integer,
	}),
	"Parity": object(map[string]any{
		"clean":         map[string]any{"type": "boolean", "description": "Nothing below differs; the merchant may move to sunset."},
		"products_file": str, "orders_file": str,
		"products": ref("ParityCount"), "variants": ref("ParityCount"),
		"missing_skus": map[string]any{"type": "array", "items": str,
			"description": "Source variants not found here: the SKU, or handle and option values for rows without one."},
		"extra_skus":        stringList,
		"price_differences": arrayOf("ParityDifference"), "stock_differences": arrayOf("ParityDifference"),
		"orders":   map[string]any{"oneOf": []any{ref("ParityCount"), map[string]any{"type": "null"}}},
		"months":   arrayOf("ParityMonth"),
		"problems": stringList,
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
	"Product": object(map[string]any{
		"id": str, "title": str, "handle": str, "description_html": str, "vendor": str, "product_type": str,
		"tags": stringList, "status": enum("active", "draft", "archived"),
		"options": arrayOf("Option"), "variants": arrayOf("Variant"), "images": arrayOf("Image"),
		"created_at": dateTime, "updated_at": dateTime,
	}),
	"Option": object(map[string]any{"name": str, "values": stringList}),
	"Variant": object(map[string]any{
		"id": str, "product_id": str, "sku": str, "title": str,
		"option_values":    map[string]any{"type": "object", "additionalProperties": str, "description": "Option name to value, e.g. {\"Size\": \"M\"}."},
		"price":            map[string]any{"type": "integer", "description": "In the currency's minor unit (1999 = 19.99)."},
		"compare_at_price": nullableInt, "currency": str, "barcode": str, "weight_grams": integer, "position": integer,
		"available":  map[string]any{"type": "integer", "description": "On hand less reserved, over every warehouse."},
		"image_id":   map[string]any{"type": []string{"string", "null"}, "description": "The product image shown for this variant; null when none is."},
		"created_at": dateTime, "updated_at": dateTime,
	}),
	"Image": object(map[string]any{
		"id": str, "url": str, "position": integer, "alt": str,
		"status": map[string]any{"type": "string", "enum": []string{"pending", "uploaded"}, "description": "pending until the upload has been received."},
	}),
	"ProductCreate": input(map[string]any{
		"title": str, "handle": str, "description_html": str, "vendor": str, "product_type": str, "tags": stringList,
		"status": enum("active", "draft", "archived"), "options": arrayOf("Option"), "variants": arrayOf("VariantCreate"),
	}, "title", "variants"),
	"ProductUpdate": input(map[string]any{
		"title": str, "handle": str, "description_html": str, "vendor": str, "product_type": str, "tags": stringList,
		"status": enum("active", "draft", "archived"), "options": arrayOf("Option"),
	}),
	"VariantCreate": input(variantInput, "sku", "price"),
	"VariantUpdate": input(variantInput),
	"ProductList":   list("Product"),
	"ImageCreate": input(map[string]any{
		"filename": str, "content_type": enum("image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"), "alt": str,
		"size_bytes": map[string]any{"type": "integer", "minimum": 0, "description": "When given, the upload must be exactly this long; at most MAX_IMAGE_BYTES."},
	}, "filename", "content_type"),
	"ImageUpload": object(map[string]any{"image": ref("Image"), "upload": ref("Upload")}),
	"Upload": object(map[string]any{
		"method": enum("PUT"), "url": str,
		"headers":    map[string]any{"type": "object", "additionalProperties": str, "description": "Send these with the request, unchanged."},
		"expires_at": dateTime,
	}),
	"Address": map[string]any{"type": "object", "properties": addressProps, "required": []string{}, "additionalProperties": false},
	"Warehouse": object(map[string]any{
		"id": str, "code": str, "name": str, "address": nullableAddress, "priority": integer, "active": map[string]any{"type": "boolean"},
		"created_at": dateTime, "updated_at": dateTime,
	}),
	"WarehouseCreate": input(warehouseInput, "code", "name"),
	"WarehouseUpdate": input(warehouseInput),
	"WarehouseList":   list("Warehouse"),
	"Inventory": object(map[string]any{
		"sku": str, "on_hand": integer, "reserved": integer,
		"available": map[string]any{"type": "integer", "description": "on_hand less reserved: what can still be sold."},
		"levels":    arrayOf("InventoryLevel"),
	}),
	"InventoryLevel": object(map[string]any{"warehouse_code": str, "on_hand": integer, "reserved": integer, "available": integer}),
	"InventorySet": input(map[string]any{
		"sku": str, "warehouse_code": str, "on_hand": stock, "reason": map[string]any{"type": "string", "description": "Kept in the ledger."},
	}, "sku", "warehouse_code", "on_hand"),
	"InventoryAdjust": input(map[string]any{
		"sku": str, "warehouse_code": str, "delta": map[string]any{"type": "integer", "description": "Non-zero; negative removes stock."},
		"reason": map[string]any{"type": "string", "description": "Why stock changed; kept in the ledger."},
	}, "sku", "warehouse_code", "delta", "reason"),
	"InventoryTransfer": input(map[string]any{
		"sku": str, "from_warehouse_code": str, "to_warehouse_code": str, "quantity": quantity, "reason": str,
	}, "sku", "from_warehouse_code", "to_warehouse_code", "quantity"),
	"Movement": object(map[string]any{
		"id": str, "sku": str, "warehouse_id": str, "order_id": nullableStr,
		"on_hand_delta": integer, "reserved_delta": integer, "on_hand_after": integer, "reserved_after": integer,
		"reason": enum("set", "adjust", "reserve", "release", "commit", "transfer_in", "transfer_out", "import", "shopify_sync", "return"),
		"note":   str, "actor": map[string]any{"type": "string", "description": `"user:usr_...", "key:key_..." or "system".`},
		"created_at": dateTime,
	}),
	"MovementList": list("Movement"),
	"Order": object(map[string]any{
		"id": str, "number": integer, "name": map[string]any{"type": "string", "description": `The display name, "#1001".`},
		"status":             enum("open", "closed", "cancelled"),
		"financial_status":   enum("pending", "paid", "partially_refunded", "refunded", "voided"),
		"fulfillment_status": enum("unfulfilled", "partial", "fulfilled"),
		"email":              str, "currency": str,
		"subtotal": integer, "shipping_total": integer, "tax_total": integer,
		"total":           map[string]any{"type": "integer", "description": "subtotal + shipping_total + tax_total, in the currency's minor unit."},
		"amount_refunded": integer, "shipping_address": nullableAddress, "note": str,
		"line_items": arrayOf("OrderLineItem"), "shipments": arrayOf("Shipment"), "refunds": arrayOf("Refund"),
		"payment":                map[string]any{"type": []string{"object", "null"}, "properties": paymentProps, "required": sortedKeys(paymentProps), "additionalProperties": false},
		"cancel_reason":          str,
		"reservation_expires_at": map[string]any{"type": []string{"string", "null"}, "format": "date-time", "description": "When an unpaid order is cancelled and its stock released."},
		"paid_at":                nullableDT, "cancelled_at": nullableDT, "closed_at": nullableDT,
		"created_at": dateTime, "updated_at": dateTime,
	}),
	"OrderLineItem": object(map[string]any{
		"id": str, "sku": str, "title": str, "variant_title": str, "quantity": integer,
		"unit_price": map[string]any{"type": "integer", "description": "The catalog price when the order was placed."}, "total": integer,
	}),
	"Shipment": object(map[string]any{
		"id": str, "warehouse_code": str, "status": enum("pending", "shipped", "delivered", "cancelled"),
		"carrier": str, "tracking_number": str, "shipped_at": nullableDT, "delivered_at": nullableDT,
		"line_items": map[string]any{"type": "array", "items": object(map[string]any{"sku": str, "quantity": integer})},
	}),
	"OrderCreate": input(map[string]any{
		"email": str, "currency": map[string]any{"type": "string", "description": "When given, the merchant's currency."},
		"shipping_address": map[string]any{"type": "object", "properties": addressProps, "additionalProperties": false,
			"required": []string{"name", "line1", "city", "postal_code", "country"}},
		"line_items": map[string]any{"type": "array", "minItems": 1, "description": "A SKU may appear in one line only.",
			"items": input(map[string]any{"sku": str, "quantity": quantity}, "sku", "quantity")},
		"note": str,
	}, "email", "shipping_address", "line_items"),
	"OrderList": list("Order"),
	"Refund": object(map[string]any{
		"id": str, "amount": integer, "currency": str, "reason": str, "failure_message": str, "created_at": dateTime,
		"status": map[string]any{"type": "string", "enum": []string{"pending", "succeeded", "failed", "canceled"},
			"description": "A Stripe refund counts toward amount_refunded and financial_status once it succeeded. While pending (sent to Stripe, " +
				"or its outcome not yet known) its amount is held: it cannot be refunded again. failed frees it."},
	}),
	"StripeEvent":    map[string]any{"type": "object", "description": "A Stripe event exactly as Stripe sent it: the signature covers the raw bytes."},
	"ShopifyWebhook": map[string]any{"type": "object", "description": "A Shopify webhook body exactly as Shopify sent it: the HMAC covers the raw bytes."},
	"ShopifyWebhookReceipt": object(map[string]any{
		"received": map[string]any{"type": "boolean"},
		"outcome": map[string]any{"type": "string", "enum": []string{"queued", "duplicate", "ignored"},
			"description": "queued: recorded and being applied; duplicate: this webhook id was received before; ignored: recorded, but of an " +
				"unhandled topic or after app/uninstalled."},
	}),
	"WebhookReceipt": object(map[string]any{
		"received": map[string]any{"type": "boolean"},
		"outcome": map[string]any{"type": "string", "enum": []string{"processed", "ignored", "duplicate", "unrouted"},
			"description": "processed: applied; ignored: recorded, but stale, of an unhandled type or for no known order; duplicate: applied before; " +
				"unrouted: names no known merchant."},
	}),
	"OrderCancel": input(map[string]any{"reason": str}),
	"RefundCreate": input(map[string]any{
		"amount": map[string]any{"type": "integer", "minimum": 1, "description": "Default: everything paid and not yet refunded."}, "reason": str,
	}),
	"ShipmentShip": input(map[string]any{"carrier": str, "tracking_number": str}, "carrier"),
	"Email": object(map[string]any{
		"id": str, "kind": emailKind, "status": emailStatus, "order_id": nullableStr, "shipment_id": nullableStr,
		"to_address": str, "subject": str, "text_body": str, "html_body": str,
		"attempts":            map[string]any{"type": "integer", "description": "Sending attempts made so far."},
		"last_error":          map[string]any{"type": "string", "description": "Why the last attempt failed (SendGrid's reason); empty once sent."},
		"provider_message_id": map[string]any{"type": "string", "description": "SendGrid's X-Message-Id, once sent."},
		"sent_at":             map[string]any{"type": []string{"string", "null"}, "format": "date-time", "description": "When it was sent or logged."},
		"created_at":          dateTime, "updated_at": dateTime,
	}),
	"EmailList": list("Email"),
	"AuditEvent": object(map[string]any{
		"id":         str,
		"actor":      map[string]any{"type": "string", "description": "Who acted: user:<user id> (a staff session) or key:<key id> (a secret key)."},
		"action":     map[string]any{"type": "string", "description": "The REST operation id (createProduct), or graphql:<mutation field> (graphql:updateProduct)."},
		"subject_id": map[string]any{"type": "string", "description": "The object acted on: the path's id, else the created object's; empty when neither."},
		"request_id": map[string]any{"type": "string", "description": "The X-Request-Id of the request."},
		"ip":         map[string]any{"type": "string", "description": "The client's address (the one a trusted proxy names, behind one)."},
		"details": map[string]any{"type": "object", "description": "REST: status, method and path of the request. GraphQL: the operation name.",
			"additionalProperties": true},
		"created_at": dateTime,
	}),
	"AuditEventList": list("AuditEvent"),
	"ImportCreate": input(map[string]any{
		"kind":           enum("shopify_products", "shopify_orders", "inventory"),
		"file":           binary,
		"warehouse_code": map[string]any{"type": "string", "description": "Where stock columns go; default the merchant's first warehouse by priority (created if none)."},
		"dry_run":        map[string]any{"type": "boolean", "description": "Validate and count without writing."},
	}, "kind", "file"),
	"Import":       object(importProps),
	"ImportDetail": importDetail(),
	"ImportList":   list("Import"),
	"GraphQLRequest": input(map[string]any{
		"query": str, "operationName": str, "variables": map[string]any{"type": "object"}, "extensions": map[string]any{"type": "object"},
	}),
	"GraphQLResponse": map[string]any{"type": "object", "properties": map[string]any{
		"data": map[string]any{"type": []string{"object", "null"}}, "errors": map[string]any{"type": "array"},
	}},
}
