# Mercantile developer and CI entry points. `make help` lists the targets.
#
# Pinned tools are installed with `go install` into bin/tools (git-ignored, outside the
# Docker context); bump a version here and the next `make tools` replaces the binary.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go

# staticcheck 2026.2.2 (module version v0.8.2): built with and for Go 1.26.
STATICCHECK_VERSION := v0.8.2
# stripe-mock serves Stripe's API to the payment tests (internal/payments/stripetest). Its
# -version says "master" when built by go install: the module version is read from the binary.
STRIPE_MOCK_VERSION := v0.203.0

TOOLBIN     := $(CURDIR)/bin/tools
STATICCHECK := $(TOOLBIN)/staticcheck
STRIPE_MOCK := $(TOOLBIN)/stripe-mock

# Tests run against the real services; values already in the environment win.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0
export TEST_DATABASE_URL TEST_REDIS_URL

# Two cores: two test binaries at a time.
TEST_PARALLEL ?= 2
TEST_TIMEOUT  ?= 15m
TEST_FLAGS    ?= -race -count=1 -p $(TEST_PARALLEL) -timeout $(TEST_TIMEOUT)

BIN := bin/mercantile

.PHONY: help run test vet staticcheck lint generate check-generate migration build docker tools fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

run: ## start the server on the embedded default (SQLite under ./var, no configuration)
	$(GO) run ./cmd/mercantile serve

test: lint ## vet, staticcheck, then every test with -race against PostgreSQL and Redis
	CGO_ENABLED=1 $(GO) test $(TEST_FLAGS) ./...

# Minimizing a new input may take a minute by default, during which a worker runs no
# new inputs; the CSV fixtures are large, so fuzzing stalled on minimization.
FUZZTIME ?= 60s
fuzz: ## run each CSV fuzz target for FUZZTIME (60s), seeded with the Shopify fixtures
	$(GO) test -run '^$$' -fuzz '^FuzzProductRows$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s ./internal/imports
	$(GO) test -run '^$$' -fuzz '^FuzzProductCSV$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s ./internal/imports
	$(GO) test -run '^$$' -fuzz '^FuzzOrderReader$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 1s ./internal/shopifycsv

lint: vet staticcheck ## go vet and staticcheck (golangci-lint users: see .golangci.yml)

vet: ## go vet ./...
	$(GO) vet ./...

staticcheck: tools ## pinned staticcheck over ./... (findings in generated files are dropped)
	bash tools/staticcheck.sh "$(STATICCHECK)" ./...

generate: ## go generate ./...: entc in ./ent, then gqlgen in ./graph
	$(GO) generate ./...

check-generate: ## regenerate and fail if generated code drifted from what is committed
	bash tools/check-generate.sh $(GO) generate ./...

migration: ## new versioned migration from the ent schema: make migration name=add_foo
	@if [ -z "$(name)" ]; then echo 'usage: make migration name=<migration_name>' >&2; exit 2; fi
	$(GO) run -mod=mod ./ent/migrate/main.go $(name)

build: ## static binary at bin/mercantile
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN) ./cmd/mercantile

docker: ## container image mercantile (see Dockerfile)
	docker build -t mercantile .

.PHONY: bench
bench: ## load-test the catalog API on a seeded scratch database (PostgreSQL, Redis); writes bench/RESULTS.md
	bash bench/run $(BENCH_FLAGS)

.PHONY: bench-orders
bench-orders: ## load-test inventory lookups and order placement, and check the overselling race (PostgreSQL); adds a section to bench/RESULTS.md
	bash bench/run -suite orders $(BENCH_FLAGS)

tools: ## install the pinned Go tools into bin/tools
	@if ! "$(STATICCHECK)" -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION:v%=%))'; then \
		echo 'go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)'; \
		GOBIN='$(TOOLBIN)' $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
	fi
	@"$(STATICCHECK)" -version
	@if ! $(GO) version -m "$(STRIPE_MOCK)" 2>/dev/null | grep -qE '^\s+mod\s+github.com/stripe/stripe-mock\s+$(STRIPE_MOCK_VERSION)\s'; then \
		echo 'go install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)'; \
		GOBIN='$(TOOLBIN)' $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION); \
	fi
	@echo "stripe-mock $(STRIPE_MOCK_VERSION)"
