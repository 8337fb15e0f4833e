package rest

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strconv"
)

// docsTemplate renders the OpenAPI document as one self-contained page: no script or
// stylesheet from elsewhere, so it works offline and behind strict networks.
var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{margin-bottom:0}code,pre{font:13px ui-monospace,monospace;background:#f4f4f6;border-radius:4px}
pre{padding:.75rem;overflow:auto}code{padding:0 .25rem}
.op{border:1px solid #ddd;border-radius:6px;margin:.75rem 0;padding:.5rem .75rem}
.m{display:inline-block;min-width:4.5rem;font-weight:600}.GET{color:#0a7}.POST{color:#06c}.PATCH{color:#a60}.DELETE{color:#c22}
.auth{color:#666;font-size:13px}table{border-collapse:collapse}td{padding:.15rem .6rem;border-bottom:1px solid #eee}
</style></head><body>
<h1>{{.Title}}</h1><p>{{.Description}}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> · GraphQL: <a href="/playground">/playground</a></p>
{{range .Tags}}<h2 id="tag-{{.Name}}">{{.Name}}</h2>
{{range .Ops}}<div class="op" id="op-{{.ID}}"><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code>
<div>{{.Summary}}</div><div class="auth">{{.Auth}}{{if .Request}} · body: <a href="#schema-{{.Request}}">{{.Request}}</a>{{end}}{{if .Response}} · returns {{.Status}} <a href="#schema-{{.Response}}">{{.Response}}</a>{{else}} · returns {{.Status}}{{end}}</div></div>
{{end}}{{end}}
<h2 id="problems">Errors</h2>
<p>Every error is <code>application/problem+json</code>: <code>{type, title, status, detail, code, errors: [{field, message}], request_id}</code>. Switch on <code>code</code>:</p>
<table>{{range .Problems}}<tr id="problem-{{.}}"><td><code>{{.}}</code></td></tr>{{end}}</table>
<h2 id="schemas">Schemas</h2>
{{range .Schemas}}<h3 id="schema-{{.Name}}">{{.Name}}</h3><pre>{{.JSON}}</pre>{{end}}
</body></html>`))

type docsOp struct {
	ID, Method, Path, Summary, Auth, Request, Response, Status string
}

type docsTag struct {
	Name string
	Ops  []docsOp
}

type docsSchema struct {
	Name, JSON string
}

func (a *api) docsPage(w http.ResponseWriter, r *http.Request) {
	var tags []*docsTag
	byName := map[string]*docsTag{}
	for _, rt := range a.routes() {
		t := byName[rt.doc.Tag]
		if t == nil {
			t = &docsTag{Name: rt.doc.Tag}
			byName[rt.doc.Tag] = t
			tags = append(tags, t)
		}
		status := rt.doc.Status
		if status == 0 {
			status = http.StatusOK
		}
		t.Ops = append(t.Ops, docsOp{
			ID: rt.doc.ID, Method: rt.method, Path: docPath(rt.path), Summary: rt.doc.Summary,
			Auth: accessText[rt.access], Request: rt.doc.Request, Response: rt.doc.Response,
			Status: strconv.Itoa(status),
		})
	}
	var ss []docsSchema
	for _, name := range sortedKeys(schemas) {
		b, _ := json.MarshalIndent(schemas[name], "", "  ")
		ss = append(ss, docsSchema{Name: name, JSON: string(b)})
	}
	problems := schemas["Problem"].(map[string]any)["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]string)
	sorted := append([]string(nil), problems...)
	sort.Strings(sorted)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := docsTemplate.Execute(w, map[string]any{
		"Title":       "Mercantile API v1",
		"Description": a.openAPI()["info"].(map[string]any)["description"],
		"Tags":        tags,
		"Problems":    sorted,
		"Schemas":     ss,
	}); err != nil {
		a.log.ErrorContext(r.Context(), "rendering docs", "err", err)
	}
}

var accessText = map[access]string{
	public:     "no credentials",
	storefront: "secret key, publishable key or staff session",
	private:    "secret key or staff session",
}
