package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ImportJob is one CSV import. Every data record of the file ends up counted as imported,
// skipped or rejected; last_row lets a crashed job resume where it stopped.
type ImportJob struct {
	ent.Schema
}

func (ImportJob) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("imp"), tenantMixin{}, timeMixin{}}
}

func (ImportJob) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("shopify_products", "shopify_orders", "inventory").Immutable(),
		field.Enum("status").Values("queued", "running", "succeeded", "failed").Default("queued"),
		field.String("filename").Default(""),
		field.String("file_sha256").Default(""),
		field.String("storage_key").Default("").Comment("where the uploaded file is kept"),
		field.String("warehouse_code").Default(""),
		field.Bool("dry_run").Default(false).Immutable(),
		field.Int("rows_total").Default(0),
		field.Int("rows_imported").Default(0),
		field.Int("rows_skipped").Default(0),
		field.Int("rows_rejected").Default(0),
		field.Int("last_row").Default(0).Comment("the last spreadsheet row committed"),
		field.String("error").Default("").Comment("why the whole file failed"),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
	}
}

func (ImportJob) Edges() []ent.Edge {
	return []ent.Edge{edge.To("row_errors", ImportRowError.Type)}
}

func (ImportJob) Indexes() []ent.Index {
	return []ent.Index{index.Fields("merchant_id", "created_at")}
}

func (ImportJob) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

func (ImportJob) Policy() ent.Policy { return privatePolicy() }

// ImportRowError is why one row of an import was rejected.
type ImportRowError struct {
	ent.Schema
}

func (ImportRowError) Mixin() []ent.Mixin {
	return []ent.Mixin{withID("ire"), tenantMixin{}, timeMixin{}}
}

func (ImportRowError) Fields() []ent.Field {
	return []ent.Field{
		field.String("import_job_id").GoType(pulidID).Immutable(),
		field.Int("row").Immutable().Comment("as a spreadsheet shows it: the header is row 1"),
		field.String("column").Default("").Immutable(),
		field.String("message").Immutable(),
	}
}

func (ImportRowError) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("import_job", ImportJob.Type).Ref("row_errors").
			Field("import_job_id").Unique().Required().Immutable(),
	}
}

func (ImportRowError) Indexes() []ent.Index {
	return []ent.Index{index.Fields("merchant_id", "import_job_id", "row")}
}

func (ImportRowError) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

func (ImportRowError) Policy() ent.Policy { return privatePolicy() }
