#!/usr/bin/env bash
# pause's root filesystem: /pause only (see image.yaml). Run by images/build.mjs (helpers: images/lib.sh).
. "$IMAGES_LIB"
# Compiled in the scratch dir from a copy named pause.c, so no build path ends up in the binary.
cp "$KUBERNETES_SRC/build/pause/linux/pause.c" "$WORK/pause.c"
(cd "$WORK" && gcc -Os -Wall -Werror -static -DVERSION="v${PAUSE_VERSION}-${KUBERNETES_VERSION}" -o pause pause.c)
install -m 0755 "$WORK/pause" "$ROOTFS/pause"
