package main

import (
	"context"
	"flag"
	"io"
	"os"
)

// parityCommand prints the parity report of a merchant against a Shopify products CSV
// and, optionally, an orders export, as JSON.
func parityCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("parity", flag.ContinueOnError)
	merchantID := fs.String("merchant", "", "merchant id")
	productsPath := fs.String("products", "", "Shopify products CSV (either header dialect)")
	ordersPath := fs.String("orders", "", "Shopify orders export CSV (optional)")
	if err := parseFlags(fs, args, "merchant", "products"); err != nil {
		return err
	}
	products, err := os.Open(*productsPath)
	if err != nil {
		return err
	}
	defer products.Close()
	var orders io.Reader
	if *ordersPath != "" {
		f, err := os.Open(*ordersPath)
		if err != nil {
			return err
		}
		defer f.Close()
		orders = f
	}
	return asMerchant(ctx, *merchantID, func(ctx context.Context, svc *services) error {
		report, err := svc.parity.Compare(ctx, products, orders)
		if err != nil {
			return describe(err)
		}
		return printJSON(stdout, report)
	})
}
