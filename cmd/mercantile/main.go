// Command mercantile is the whole backend in one binary: the API server and background
// workers (serve), migrations (migrate) and administration (merchant, key, user).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: mercantile <command> [flags]

commands:
  serve                                   run the API server and background workers
  migrate                                 apply database migrations
  merchant create --name N --email E [--currency USD] [--password P]
                                          create a merchant, its owner and first keys (JSON)
  key create --merchant ID --kind secret|publishable [--name N]
  key revoke --merchant ID --key KEY_ID
  user create --merchant ID --email E --password P [--role owner|staff|viewer] [--name N]
  seed --merchant ID [--products 1000] [--variants 3] [--warehouses 3] [--seed 1]
                                          add a synthetic catalog for benchmarks (JSON summary)
  import --merchant ID --kind shopify_products|shopify_orders|inventory [--warehouse CODE] [--dry-run] FILE
                                          import a CSV in this process (progress on stderr, JSON summary)
  parity --merchant ID --products FILE [--orders FILE]
                                          compare a merchant's data with its Shopify exports (JSON report)

Configuration comes from the environment; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mercantile:", err)
		}
		os.Exit(1)
	}
}

// errUsage reports a command line that names no known command.
var errUsage = errors.New("unknown command; run mercantile help")

// run dispatches to a subcommand. ctx is cancelled on SIGINT or SIGTERM.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, stdout, stderr)
	case "migrate":
		return migrate(ctx, stdout)
	case "merchant":
		return subcommand(ctx, rest, stdout, map[string]command{"create": merchantCreate})
	case "key":
		return subcommand(ctx, rest, stdout, map[string]command{"create": keyCreate, "revoke": keyRevoke})
	case "user":
		return subcommand(ctx, rest, stdout, map[string]command{"create": userCreate})
	case "seed":
		return seed(ctx, rest, stdout, stderr)
	case "import":
		return importCommand(ctx, rest, stdout, stderr)
	case "parity":
		return parityCommand(ctx, rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return errUsage
}

type command func(ctx context.Context, args []string, stdout io.Writer) error

func subcommand(ctx context.Context, args []string, stdout io.Writer, commands map[string]command) error {
	if len(args) == 0 || commands[args[0]] == nil {
		return errUsage
	}
	return commands[args[0]](ctx, args[1:], stdout)
}
