// Package database owns the process's connection to its database: it turns a DATABASE_URL
// into a connection pool, a database/sql handle and the ent client on top of them, for
// PostgreSQL (pgx) or SQLite (modernc, pure Go), and applies the versioned migrations
// embedded from migrations/ with golang-migrate. It is the only package that opens
// database connections; everything else receives a *DB.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	// The modernc driver registers itself as "sqlite". golang-migrate's sqlite driver
	// imports the same package, so the name is registered exactly once; nothing here
	// registers "sqlite3", which ent would otherwise expect, because entsql.OpenDB takes
	// the dialect explicitly.
	_ "modernc.org/sqlite"

	"github.com/mercantile/mercantile/ent"
	// ent/runtime installs the schema's privacy policies, hooks and defaults (ids among
	// them). A client without it would run every query unscoped, so the one package that
	// makes clients imports it.
	_ "github.com/mercantile/mercantile/ent/runtime"
)

// DB is an open database: one connection pool shared by ent, raw SQL and (on PostgreSQL)
// pgx-native users such as the job queue.
type DB struct {
	// Dialect is dialect.Postgres or dialect.SQLite.
	Dialect string
	// SQL is the database/sql handle ent runs on.
	SQL *sql.DB
	// Client is the ent client.
	Client *ent.Client
	// Pool is the pgx pool behind SQL on PostgreSQL, and nil on SQLite.
	Pool *pgxpool.Pool

	// sqliteMigrationDSN opens the same SQLite file with foreign keys off (see Migrate).
	sqliteMigrationDSN string

	valuesMu sync.Mutex
	values   map[any]any

	// writer admits one ent transaction at a time on SQLite (see acquireWriter); nil on
	// PostgreSQL.
	writer chan struct{}
}

// defaultConnectTimeout bounds each new PostgreSQL connection when the URL sets no
// connect_timeout: without it a black-holed host would hang startup until the kernel
// gives up on TCP, minutes later.
const defaultConnectTimeout = 10 * time.Second

// sqlitePragmas are the connection settings every SQLite connection gets, foreign_keys
// aside. WAL lets readers run beside the writer; busy_timeout is per connection, so it
// must be in the DSN for every pooled connection; immediate transactions take the write
// lock at BEGIN instead of failing with SQLITE_BUSY when a reader later tries to write.
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)" +
	"&_pragma=synchronous(NORMAL)&_txlock=immediate"

// Open connects to the database named by url: postgres://… or postgresql://… for
// PostgreSQL, sqlite:PATH or file:PATH for a SQLite file (its directory is created).
// It pings the database before returning, so a bad URL fails here and not on the first
// request. Open does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	scheme, rest, found := strings.Cut(url, ":")
	if !found {
		scheme = ""
	}
	switch scheme {
	case "postgres", "postgresql":
		return openPostgres(ctx, url)
	case "sqlite", "file":
		return openSQLite(ctx, rest)
	}
	// The URL itself may carry a password, so only its scheme goes into the error.
	return nil, fmt.Errorf("database: unsupported database URL scheme %q (want postgres://, postgresql://, sqlite:PATH or file:PATH)", scheme)
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("database: invalid postgres URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		addr := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
		return nil, &unreachableError{addr: addr, err: err}
	}
	// Closing this *sql.DB leaves the pool open: Close closes both.
	db := &DB{Dialect: dialect.Postgres, SQL: stdlib.OpenDBFromPool(pool), Pool: pool}
	db.Client = ent.NewClient(ent.Driver(newEntDriver(db)))
	return db, nil
}

// unreachableError reports a PostgreSQL server that could not be connected to. pgx
// spreads the attempts for several addresses (localhost is ::1 and 127.0.0.1) over several
// lines; the message is folded into one so it reads well in a log line.
type unreachableError struct {
	addr string
	err  error
}

func (e *unreachableError) Error() string {
	return "database: cannot reach postgres at " + e.addr + ": " + strings.Join(strings.Fields(e.err.Error()), " ")
}

func (e *unreachableError) Unwrap() error { return e.err }

// openSQLite opens the SQLite file at path, which may carry extra DSN parameters after
// a "?". A leading "//" is dropped so that sqlite:///abs/path and sqlite://rel/path work
// as people write them.
func openSQLite(ctx context.Context, path string) (*DB, error) {
	path = strings.TrimPrefix(path, "//")
	path, extra, _ := strings.Cut(path, "?")
	switch path {
	case "":
		return nil, errors.New("database: sqlite URL has no file path (want sqlite:PATH)")
	case ":memory:":
		// Each pooled connection would get an empty database of its own.
		return nil, errors.New("database: in-memory SQLite is not supported; use a file, e.g. in a temporary directory")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("database: creating the sqlite directory: %w", err)
	}
	// The DSN is a SQLite URI (the "file:" prefix), where these characters of the path
	// would otherwise start the query, the fragment or an escape.
	dsn := func(foreignKeys string) string {
		d := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) +
			"?" + sqlitePragmas + "&_pragma=foreign_keys(" + foreignKeys + ")"
		if extra != "" {
			d += "&" + extra
		}
		return d
	}
	db, err := sql.Open("sqlite", dsn("1"))
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("database: cannot open sqlite database %s: %w", path, err)
	}
	d := &DB{Dialect: dialect.SQLite, SQL: db, sqliteMigrationDSN: dsn("0"), writer: make(chan struct{}, 1)}
	d.Client = ent.NewClient(ent.Driver(newEntDriver(d)))
	return d, nil
}

// Value returns the value stored on db under key, first storing create's result when
// there is none. Packages that build per-database state on top of a DB (the job queue's
// insert client) keep it here, so it is made once and lives exactly as long as db. Keys
// follow context.WithValue's rules: an unexported type of the package that owns them.
func (db *DB) Value(key any, create func() any) any {
	db.valuesMu.Lock()
	defer db.valuesMu.Unlock()
	v, ok := db.values[key]
	if !ok {
		v = create()
		if db.values == nil {
			db.values = make(map[any]any)
		}
		db.values[key] = v
	}
	return v
}

// Ping checks that the database still answers (readiness probes).
func (db *DB) Ping(ctx context.Context) error {
	return db.SQL.PingContext(ctx)
}

// Close closes the ent client, the *sql.DB under it and, on PostgreSQL, the pool.
func (db *DB) Close() error {
	err := db.Client.Close()
	if db.Pool != nil {
		db.Pool.Close()
	}
	return err
}
