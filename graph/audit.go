package graph

import (
	"context"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/mercantile/mercantile/internal/audit"
	"github.com/mercantile/mercantile/internal/auth/viewer"
)

// auditMutations records each top-level field of a mutation that succeeded without any
// error as the action "graphql:<field>", for staff and secret keys. A mutation with an
// error anywhere is not recorded: its fields may have partly run, and REST records only
// successes too.
type auditMutations struct {
	audit *audit.Service
}

var (
	_ graphql.HandlerExtension    = auditMutations{}
	_ graphql.ResponseInterceptor = auditMutations{}
)

// ExtensionName implements graphql.HandlerExtension.
func (auditMutations) ExtensionName() string { return "AuditMutations" }

// Validate implements graphql.HandlerExtension.
func (auditMutations) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor.
func (a auditMutations) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || len(resp.Errors) > 0 || !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return resp
	}
	if v, ok := viewer.FromContext(ctx); !ok || !audit.Audited(v) {
		return resp
	}
	var data map[string]json.RawMessage
	_ = json.Unmarshal(resp.Data, &data)
	details := map[string]any{}
	if oc.OperationName != "" {
		details["operation_name"] = oc.OperationName
	}
	for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Mutation"}) {
		a.audit.Record(ctx, audit.Event{
			Action:    "graphql:" + f.Name,
			SubjectID: mutationSubject(f.ArgumentMap(oc.Variables), data[f.Alias]),
			RequestID: middleware.GetReqID(ctx),
			IP:        audit.ClientIP(ctx),
			Details:   details,
		})
	}
	return resp
}

// mutationSubject is the id of the object a mutation field acted on: its id (or orderId)
// argument, else the id of the object it returned when the query selected it.
func mutationSubject(args map[string]any, result json.RawMessage) string {
	for _, name := range []string{"id", "orderId"} {
		if id, ok := args[name].(string); ok && id != "" {
			return id
		}
	}
	var returned struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(result, &returned)
	return returned.ID
}
