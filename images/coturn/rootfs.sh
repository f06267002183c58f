#!/usr/bin/env bash
# coturn's root filesystem (see image.yaml). Run by images/build.mjs (helpers: images/lib.sh).
. "$IMAGES_LIB"
# turnserver and two test clients of the coturn package, and every library they load.
elf_install /usr/bin/turnserver /usr/bin/turnutils_uclient /usr/bin/turnutils_peer
# The pod's `sh -c '<start script>'`: /bin/sh -> dash, and wget, timeout, cat, sed, rm (busybox).
start_script_tools
# The tls-reloader sidecar (operator/src/render/turn.ts tlsReloadScript): a polling loop.
busybox_applets sleep
os_release
nsswitch_conf
