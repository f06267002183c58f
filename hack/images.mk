# OCI images built from source and Debian packages, without a container daemon or registry
# (images/build.mjs: umoci, skopeo, GNU tar, apt-get download). Included from the top-level Makefile
# (-include hack/*.mk). See images/README.md. IMAGES=name... limits a target to some images.

IMAGES ?=
IMAGES_BUILD := node images/build.mjs

.PHONY: images images-verify images-lock

images: node_modules/.installed ## Build the OCI images (images/*/image.yaml) into ~/.cache/meet-operator/images; print ref, digest, size
	$(IMAGES_BUILD) $(IMAGES)

images-verify: node_modules/.installed ## Build each image twice in fresh temp dirs; fail unless every digest is the same
	$(IMAGES_BUILD) --verify-reproducible $(IMAGES)

images-lock: node_modules/.installed ## Re-resolve images/debian.lock (Debian packages of the images) from apt's current candidates
	$(IMAGES_BUILD) --lock $(IMAGES)
