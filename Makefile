# meet-operator. `make dev` and `make test` are the two commands of the README.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Node.js >= 22.19 (the machine's, or node@24 from the npm registry, cached outside the repo).
NODE_BIN := $(shell hack/ensure-node.sh)
ifeq ($(NODE_BIN),)
$(error could not find or install Node.js >= 22.19; see hack/ensure-node.sh)
endif
export PATH := $(NODE_BIN):$(PATH)

EXAMPLE ?= examples/interieur-outscale-cloudgouv.yaml
CLI := node dist/cli/bin.js
SOURCES := $(shell find operator/src -name '*.ts' -not -name '*.test.ts')

-include hack/*.mk

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## Install npm dependencies (npm ci)

dist/.built: node_modules/.installed tsconfig.json $(SOURCES)
	npx tsc -p tsconfig.json
	@touch $@

.PHONY: build
build: dist/.built ## Compile TypeScript to dist/

.PHONY: typecheck
typecheck: node_modules/.installed ## Type-check sources and tests
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p tsconfig.test.json --noEmit

.PHONY: generate
generate: build ## Regenerate crds/ from operator/src/api/schema.ts
	$(CLI) crds --out crds

.PHONY: render
render: build ## Print every object for EXAMPLE (default: $(EXAMPLE))
	$(CLI) render -f $(EXAMPLE)

.PHONY: validate
validate: build ## Validate EXAMPLE
	$(CLI) validate -f $(EXAMPLE)

.PHONY: audit
audit: build ## Sovereignty audit of EXAMPLE
	$(CLI) audit -f $(EXAMPLE)

.PHONY: test-unit
test-unit: node_modules/.installed ## Unit tests (pure code, no server)
	npx vitest run --project unit

.PHONY: test
test: typecheck test-unit ## The whole test suite
	@echo "make test: all suites passed"

.PHONY: bench
bench: build ## Benchmarks (print figures)
	node bench/render.mjs

.PHONY: clean
clean: ## Remove build output
	rm -rf dist
