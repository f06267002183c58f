# Helm chart (charts/meet-operator): helm built from the Go module proxy, lint, render.
# Included from the top-level Makefile (-include hack/*.mk). The chart's integration test is
# operator/test/integration/chart.test.ts (part of the `integration` vitest project).

HELM_HACK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CHART_DIR := charts/meet-operator
HELM = $(shell bash $(HELM_HACK)/build-helm.sh --print-dir)/helm
# helm's own config/cache/data stay out of $HOME.
HELM_HOME := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/meet-operator/helm-home
HELM_ENV = HELM_CACHE_HOME=$(HELM_HOME)/cache HELM_CONFIG_HOME=$(HELM_HOME)/config HELM_DATA_HOME=$(HELM_HOME)/data

.PHONY: helm-binary chart-lint chart-crds chart-render

helm-binary: ## Build helm from the Go module proxy into the user cache (instant when cached)
	bash $(HELM_HACK)/build-helm.sh

chart-crds: ## Copy crds/ into the chart (after `make generate`)
	cp crds/*.yaml $(CHART_DIR)/crds/

chart-lint: helm-binary ## helm lint --strict + render the chart with default and non-default values; CRD copy current
	@cmp -s crds/meet.sovereign.io_meetingclusters.yaml $(CHART_DIR)/crds/meet.sovereign.io_meetingclusters.yaml \
	  || { echo "$(CHART_DIR)/crds is stale: run make chart-crds" >&2; exit 1; }
	$(HELM_ENV) $(HELM) lint --strict $(CHART_DIR)
	$(HELM_ENV) $(HELM) lint --strict $(CHART_DIR) --set 'watchNamespaces={interieur,culture}' \
	  --set image.registry=registry.interieur.example --set image.digest=sha256:$$(printf '0%.0s' $$(seq 64))
	$(HELM_ENV) $(HELM) template meet-operator $(CHART_DIR) -n meet-system >/dev/null
	$(HELM_ENV) $(HELM) template meet-operator $(CHART_DIR) -n meet-system --set 'watchNamespaces={interieur}' --set serviceMonitor.enabled=true >/dev/null

chart-render: helm-binary ## Print the chart's objects (VALUES=file for your values)
	$(HELM_ENV) $(HELM) template meet-operator $(CHART_DIR) -n meet-system $(if $(VALUES),-f $(VALUES))
