# Local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok),
# built from the Kubernetes Go modules. Included from the top-level Makefile (include hack/*.mk).
# See hack/README.md.

CONTROLPLANE_DIR ?= $(CURDIR)/.controlplane
CONTROLPLANE_HACK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: k8s-binaries controlplane-up controlplane-down controlplane-clean controlplane-status controlplane-smoke controlplane-gomod

## Build kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok into the user cache (instant when cached)
k8s-binaries:
	bash $(CONTROLPLANE_HACK)/build-k8s.sh

## Start the control plane in $(CONTROLPLANE_DIR) (reuses its etcd data; NODES=4); then: . $(CONTROLPLANE_DIR)/env
controlplane-up: k8s-binaries
	bash $(CONTROLPLANE_HACK)/controlplane-up.sh $(CONTROLPLANE_DIR)

## Stop the control plane processes (keeps data and logs)
controlplane-down:
	bash $(CONTROLPLANE_HACK)/controlplane-down.sh $(CONTROLPLANE_DIR)

## Stop the control plane and delete $(CONTROLPLANE_DIR)
controlplane-clean:
	bash $(CONTROLPLANE_HACK)/controlplane-down.sh --clean $(CONTROLPLANE_DIR)

## Show which control plane processes run, and the nodes
controlplane-status:
	@bash $(CONTROLPLANE_HACK)/controlplane-down.sh --status $(CONTROLPLANE_DIR) || true
	@if bash $(CONTROLPLANE_HACK)/controlplane-down.sh --check $(CONTROLPLANE_DIR); then \
	  . $(CONTROLPLANE_DIR)/env && echo "KUBECONFIG=$$KUBECONFIG APISERVER_URL=$$APISERVER_URL" && \
	  "$$K8S_BIN_DIR/kubectl" get nodes -o wide; fi

## Smoke test the running control plane (nodes, scheduling, kwok, garbage collection, audit log)
controlplane-smoke:
	bash $(CONTROLPLANE_HACK)/controlplane-smoke.sh $(CONTROLPLANE_DIR)

## Regenerate hack/{controlplane,etcd,kwok}/go.mod from the upstream go.mod files (K8S_VERSION=v1.36.3)
controlplane-gomod:
	bash $(CONTROLPLANE_HACK)/controlplane/gen-gomod.sh $(K8S_VERSION)
