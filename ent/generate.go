// Package ent is the generated data layer: do not edit files here except ent/schema,
// ent/template and the generator entc.go.
package ent

//go:generate go run -mod=mod entc.go
