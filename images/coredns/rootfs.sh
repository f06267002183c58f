#!/usr/bin/env bash
# coredns's root filesystem (see image.yaml). Run by images/build.mjs (helpers: images/lib.sh).
. "$IMAGES_LIB"
install -D -m 0755 "$COREDNS_BIN/coredns" "$ROOTFS/coredns"
ca_certificates
os_release
nsswitch_conf
