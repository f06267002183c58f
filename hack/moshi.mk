# Kyutai's STT server (moshi-server, CPU build) from crates.io (hack/build-moshi.sh). Included from the
# top-level Makefile (-include hack/*.mk). Not a dependency of `make test` yet (issue 16: no test runs it).

MOSHI_HACK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: moshi-binaries

moshi-binaries: ## Build moshi-server (Kyutai STT, CPU) from crates.io into the user cache (~6 min cold on 2 cores; instant when cached)
	bash $(MOSHI_HACK)/build-moshi.sh
