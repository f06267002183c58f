# Prometheus' promtool and prometheus, built from the Go module proxy (hack/build-prometheus.sh).
# Included from the top-level Makefile (-include hack/*.mk). `make test-integration` needs promtool (rules.test.ts).

PROMETHEUS_HACK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
PROMETHEUS_BIN = $(shell bash $(PROMETHEUS_HACK)/build-prometheus.sh --print-dir)
PROMTOOL = $(PROMETHEUS_BIN)/promtool

.PHONY: prometheus-binaries

prometheus-binaries: ## Build promtool + prometheus (no web UI) from the Go module proxy into the user cache (instant when cached)
	bash $(PROMETHEUS_HACK)/build-prometheus.sh
