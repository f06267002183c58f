# Real media programs for the media tests (operator/test/media): livekit-server built from the Go
# module proxy into the user cache, coturn and redis-server from Debian's apt. Included from the
# top-level Makefile (-include hack/*.mk). See hack/media/README.md.

MEDIA_HACK := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))/media

.PHONY: media-deps media-livekit media-binaries

media-deps: ## Install coturn (turnserver, turnutils_uclient) and redis-server from apt (skipped when present; needs root)
	bash $(MEDIA_HACK)/install-deps.sh

media-livekit: ## Build livekit-server v1.13.5 from the Go module proxy into the user cache (instant when cached)
	bash $(MEDIA_HACK)/build-livekit.sh

media-binaries: media-deps media-livekit ## Everything the media tests run (coturn, redis-server, livekit-server)
