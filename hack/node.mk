# One real Kubernetes node (kubelet, kube-proxy, containerd + runc, CNI plugins, CoreDNS) to run beside the
# kwok fake nodes: the Go binaries built from the Go module proxy into the user cache, runc/iptables/conntrack
# (and umoci/skopeo, to build images) from Debian's apt. Included from the top-level Makefile
# (-include hack/*.mk). See hack/README.md. "Node" is the Kubernetes node here, not Node.js (NODE_BIN).

K8S_NODE_HACK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: node-deps node-build node-binaries

node-deps: ## Install runc, iptables, conntrack, umoci, skopeo from apt (skipped when present; needs root)
	bash $(K8S_NODE_HACK)/node-deps.sh

node-build: ## Build kubelet, kube-proxy, containerd, ctr, shim, CNI plugins, coredns into the user cache (instant when cached)
	bash $(K8S_NODE_HACK)/build-node.sh

node-binaries: node-deps node-build ## Everything the real node runs (apt packages + built binaries); bin dir: hack/build-node.sh --print-dir
