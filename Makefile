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
RESULTS := .test-results
# Each suite also writes a JSON report, summed into the closing "N passed, N failed" line.
REPORT = --reporter=default --reporter=json --outputFile.json=$(RESULTS)/$(1).json

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
generate: build ## Regenerate crds/ (and the chart's copy) from operator/src/api/schema.ts
	$(CLI) crds --out crds
	$(CLI) crds --out charts/meet-operator/crds

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
	npx vitest run --project unit $(call REPORT,unit)

.PHONY: test-integration
# Enough kwok nodes for several ministries at once: SFU pods bind host ports, one per node.
test-integration: export NODES := 16
test-integration: build helm-binary prometheus-binaries ## Integration tests on a real local control plane (built by hack/, cached)
	npx vitest run --project integration $(call REPORT,integration)

.PHONY: test-media
test-media: node_modules/.installed media-binaries ## Media tests: real livekit-server, coturn, redis-server (root)
	npx vitest run --project media $(call REPORT,media)

.PHONY: test-e2e
test-e2e: build media-binaries ## End-to-end: the operator scales SFU pods backed by real livekit-server processes (root)
	npx vitest run --project e2e $(call REPORT,e2e)

.PHONY: test-node
test-node: build node-binaries images media-binaries helm-binary prometheus-binaries cert-manager-binaries ## Real node: kubelet + containerd here, the operator from its image, stacks as real containers, a browser (root)
	npx vitest run --project node $(call REPORT,node)

.PHONY: test
test: typecheck ## The whole test suite (unit + integration + media + e2e + node), with one closing count
	rm -rf $(RESULTS)
	$(MAKE) --no-print-directory test-unit test-integration test-media test-e2e test-node
	@node hack/test-summary.mjs $(RESULTS)/*.json

KUBECTL = $(shell bash hack/build-k8s.sh --print-dir)/kubectl

.PHONY: dev
# One real node (this machine, kubelet + containerd) beside two tainted kwok nodes; a generic example
# (the Outscale ones read the node's public IP from Outscale's metadata service).
dev: export NODES := 2
dev: export REAL_NODE := 1
dev: DEV_EXAMPLE ?= examples/sports-generic-minimal.yaml
dev: build node-binaries images helm-binary controlplane-up ## Control plane + a real node + the operator (Helm, own image) + DEV_EXAMPLE as real containers; prints a join
	bash hack/dev-up.sh $(CONTROLPLANE_DIR) $(DEV_EXAMPLE)
	@. $(CONTROLPLANE_DIR)/env; echo "export KUBECONFIG=$$KUBECONFIG    # kubectl get mc -A; operator logs: kubectl -n meet-operator-system logs deploy/meet-operator"; \
	echo "stop everything (and put the host back as it was): make controlplane-down"

.PHONY: bench bench-scaling bench-reconcile
bench: build ## Benchmarks that take seconds (print figures): render, scaling policy, STT pool decision
	node bench/render.mjs
	node bench/scaling.mjs
	node bench/stt.mjs

bench-scaling: build ## The participants autoscaler vs a CPU HPA on a scripted day of meetings
	node bench/scaling.mjs

bench-reconcile: build ## Converging 1/10/100 clusters vs bare SSA and kubectl; RSS at 1000 (~10 min, own control plane)
	node bench/reconcile.mjs

.PHONY: clean
clean: ## Remove build output
	rm -rf dist
