#!/usr/bin/env bash
# redis's root filesystem (see image.yaml). Run by images/build.mjs (helpers: images/lib.sh).
. "$IMAGES_LIB"
# redis-server is a symlink to redis-check-rdb (one binary, which reads argv[0]); both come along.
elf_install /usr/bin/redis-server /usr/bin/redis-cli
# The pod's `sh -c '<start script>'` (it appends requirepass to a copy of redis.conf): /bin/sh -> dash,
# and wget, timeout, cat, sed, rm (busybox).
start_script_tools
os_release
nsswitch_conf
