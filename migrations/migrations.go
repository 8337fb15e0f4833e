// Package migrations embeds the versioned SQL migrations, one directory per dialect, so the
// binary migrates its database without files beside it. The files are generated from
// ent/schema by `make migration name=NAME` (ent/migrate/main.go) and applied by
// internal/platform/database with golang-migrate. Never edit an applied migration: add a
// new one. atlas.sum guards the directories against edits and merge mistakes; it is not
// embedded because golang-migrate has no use for it.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres and SQLite hold each dialect's migrations at their root, named
// VERSION_NAME.up.sql and VERSION_NAME.down.sql.
var (
	Postgres fs.FS = sub("postgres")
	SQLite   fs.FS = sub("sqlite")
)

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		// fs.Sub fails only for an invalid path, and these are constants.
		panic(err)
	}
	return f
}
