# cert-manager's controllers as a host binary (cert-manager-controller) + its CRDs, built from the Go module proxy
# (hack/build-cert-manager.sh, wrapper module hack/cert-manager/). Included from the top-level Makefile (-include hack/*.mk).

CERT_MANAGER_HACK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CERT_MANAGER_BIN = $(shell bash $(CERT_MANAGER_HACK)/build-cert-manager.sh --print-dir)
CERT_MANAGER_CONTROLLER = $(CERT_MANAGER_BIN)/cert-manager-controller
CERT_MANAGER_CRDS = $(CERT_MANAGER_BIN)/../crds

.PHONY: cert-manager-binaries

cert-manager-binaries: ## Build cert-manager-controller (certificates, CA/self-signed issuers) + copy its CRDs into the user cache (instant when cached)
	bash $(CERT_MANAGER_HACK)/build-cert-manager.sh
