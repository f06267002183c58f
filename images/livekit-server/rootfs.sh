#!/usr/bin/env bash
# livekit-server's root filesystem (see image.yaml). Run by images/build.mjs (helpers: images/lib.sh).
. "$IMAGES_LIB"
install -D -m 0755 "$LIVEKIT_BIN/livekit-server" "$ROOTFS/livekit-server"
# Behind 1:1 NAT the pod runs `sh -c '<start script>'` that reads the node's public IP from the metadata
# service (wget) before exec'ing /livekit-server, as upstream's Alpine-based image allows: /bin/sh ->
# dash, and wget, timeout, cat, sed, rm (busybox).
start_script_tools
ca_certificates
os_release
nsswitch_conf
