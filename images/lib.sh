# Helpers for images/<name>/rootfs.sh, sourced by each of them. images/build.mjs runs a recipe as
#   bash images/<name>/rootfs.sh ROOTFS
# with umask 022, cwd = the repository, and this environment:
#   ROOTFS     the root filesystem to fill (= $1); build.mjs turns it into the image's one layer
#   SYSROOT    the Debian packages of this image (images/debian.lock), unpacked with dpkg-deb -x:
#              copy from it, never write to it
#   WORK       a scratch directory, deleted after the build
#   REPO       the repository root;  IMAGE_DIR  images/<name>;  IMAGES_LIB  this file
#   MULTIARCH  x86_64-linux-gnu (Debian's library directory name for the architecture)
#   SOURCE_DATE_EPOCH, and every variable of the recipe's image.yaml `vars:`
# What a recipe does NOT do (build.mjs does it once for all images): /etc/passwd and /etc/group
# (image.yaml `users:`), owners and special modes (`paths:`), the Debian package records
# (/var/lib/dpkg/status.d, copyright files), timestamps, the layer, the image config.
set -euo pipefail
shopt -s inherit_errexit

die() { printf 'rootfs.sh (%s): ERROR: %s\n' "${IMAGE_NAME:-?}" "$*" >&2; exit 1; }
: "${ROOTFS:?}" "${SYSROOT:?}" "${WORK:?}" "${MULTIARCH:?}"

# deb_install PATH...: copies each PATH (absolute, as installed by Debian) from the image's Debian
# packages into ROOTFS. A symlink is copied as a symlink, together with what it points to (the whole
# chain); a directory is copied with its contents. build.mjs later finds which package each copied
# file came from (so debian.lock lists exactly the packages the image holds files of).
deb_install() {
  local p
  for p in "$@"; do _deb_copy "$p" 0; done
}

_deb_copy() {
  local p=$1 depth=$2 src="$SYSROOT$1" target
  ((depth < 40)) || die "too many levels of symbolic links at $p"
  [[ "$p" == /* ]] || die "deb_install wants absolute paths, got '$p'"
  if [[ ! -e "$src" && ! -L "$src" ]]; then
    die "$p is in none of this image's Debian packages (images/debian.lock); name its package in image.yaml debs: and run 'make images-lock'"
  fi
  [[ -e "$ROOTFS$p" || -L "$ROOTFS$p" ]] && return 0
  mkdir -p "$ROOTFS$(dirname "$p")"
  if [[ -L "$src" ]]; then
    cp -P "$src" "$ROOTFS$p"
    target=$(readlink "$src")
    [[ "$target" == /* ]] || target="$(dirname "$p")/$target"
    _deb_copy "$(realpath -m -s "$target")" $((depth + 1))
  elif [[ -d "$src" ]]; then
    mkdir -p "$ROOTFS$p"
    cp -a "$src/." "$ROOTFS$p/"
  else
    cp -p "$src" "$ROOTFS$p"
  fi
}

# deb_used PACKAGE...: records that the image holds something derived from PACKAGE that is not a
# verbatim copy of one of its files (e.g. the CA bundle built from ca-certificates).
deb_used() {
  local p
  for p in "$@"; do
    [[ -f "$SYSROOT/.debs/$p" ]] || die "deb_used $p: not one of this image's Debian packages (images/debian.lock); name it in image.yaml debs: and run 'make images-lock'"
    echo "$p" >>"$WORK/.deb-used"
  done
}

# elf_install PATH...: deb_install PATH, then every shared library it loads (see elf_libs).
elf_install() {
  deb_install "$@"
  elf_libs "$@"
}

# elf_libs PATH...: for the ELF files ROOTFS/PATH (wherever they came from: a .deb, the npm registry,
# a compiler), copies their program interpreter and the whole closure of their DT_NEEDED libraries
# from the Debian packages, searching like ld.so does in a Debian image without /etc/ld.so.cache:
# DT_RUNPATH/DT_RPATH, then /lib/MULTIARCH, /usr/lib/MULTIARCH, /lib, /usr/lib. (Libraries a program
# dlopen()s by name are not in DT_NEEDED: a recipe lists those itself.) Static binaries need nothing.
declare -gA _ELF_SEEN=()
elf_libs() {
  local p f interp need dir found runpath
  for p in "$@"; do
    f=$(_rootfs_resolve "$p")
    [[ -n "${_ELF_SEEN[$f]:-}" ]] && continue
    _ELF_SEEN[$f]=1
    [[ "$(head -c 4 "$ROOTFS$f" | od -An -c | tr -d ' ')" == '177ELF' ]] || die "$p is not an ELF file"
    interp=$(readelf -lW "$ROOTFS$f" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]$/\1/p')
    [[ -z "$interp" ]] || deb_install "$interp"
    runpath=$(readelf -dW "$ROOTFS$f" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]$/\2/p')
    runpath=${runpath//\$ORIGIN/$(dirname "$f")}
    runpath=${runpath//\$\{ORIGIN\}/$(dirname "$f")}
    for need in $(readelf -dW "$ROOTFS$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
      found=""
      for dir in ${runpath//:/ } "/lib/$MULTIARCH" "/usr/lib/$MULTIARCH" /lib /usr/lib; do
        if [[ -e "$ROOTFS$dir/$need" ]]; then found="$dir/$need"; break; fi
        if [[ -e "$SYSROOT$dir/$need" ]]; then deb_install "$dir/$need"; found="$dir/$need"; break; fi
      done
      [[ -n "$found" ]] || die "$need (needed by $f) is in none of this image's Debian packages (images/debian.lock); name its package in image.yaml debs: and run 'make images-lock'"
      elf_libs "$found"
    done
  done
}

# _rootfs_resolve PATH: PATH with its symlinks resolved inside ROOTFS (not on the build machine).
_rootfs_resolve() {
  local p=$1 t n=0
  while [[ -L "$ROOTFS$p" ]]; do
    ((++n < 40)) || die "too many levels of symbolic links at $1"
    t=$(readlink "$ROOTFS$p")
    [[ "$t" == /* ]] || t="$(dirname "$p")/$t"
    p=$(realpath -m -s "$t")
  done
  [[ -f "$ROOTFS$p" ]] || die "$1 does not exist in the image"
  echo "$p"
}

# ca_certificates: /etc/ssl/certs/ca-certificates.crt, the bundle update-ca-certificates would write
# from Debian's ca-certificates (every certificate it ships, in file name order; Go programs and
# OpenSSL look there).
ca_certificates() {
  local dir="$SYSROOT/usr/share/ca-certificates"
  [[ -d "$dir" ]] || die "ca_certificates: ca-certificates is not one of this image's Debian packages"
  mkdir -p "$ROOTFS/etc/ssl/certs"
  find "$dir" -name '*.crt' -type f -print0 | LC_ALL=C sort -z | xargs -0 cat >"$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  [[ -s "$ROOTFS/etc/ssl/certs/ca-certificates.crt" ]] || die "ca_certificates: no certificate found in ca-certificates"
  deb_used ca-certificates
}

# os_release: /etc/os-release (-> /usr/lib/os-release) from Debian's base-files, so scanners know
# which distribution's advisories apply to the packages listed in /var/lib/dpkg/status.d.
os_release() {
  deb_install /etc/os-release
}

# nsswitch_conf: /etc/nsswitch.conf saying "files, then DNS" for host names (glibc and Go both read it;
# without it glibc asks DNS before /etc/hosts), as Debian's default file does.
nsswitch_conf() {
  mkdir -p "$ROOTFS/etc"
  cat >"$ROOTFS/etc/nsswitch.conf" <<'CONF'
passwd:         files
group:          files
shadow:         files
hosts:          files dns
networks:       files
protocols:      files
services:       files
ethers:         files
rpc:            files
CONF
}

# busybox_applets NAME...: the commands NAME (symlinks in /usr/bin) as applets of Debian's busybox, one
# binary: what the pods' start scripts (operator/src/render/start-script.ts: wget for the metadata
# service under timeout, cat, sed, rm to compose a configuration file) call besides the shell's
# builtins. (Bookworm's busybox wget dies of a segmentation fault on its own -T option, static or not:
# the scripts use `timeout 5 wget`.)
busybox_applets() {
  local a
  elf_install /bin/busybox
  mkdir -p "$ROOTFS/usr/bin"
  for a in "$@"; do
    # Not grep -q: it exits at the first match, busybox may then die of SIGPIPE, and pipefail turns
    # that into "no applet" (seen in CI once).
    "$SYSROOT/bin/busybox" --list | grep -x "$a" >/dev/null || die "busybox has no applet '$a'"
    [[ ! -e "$ROOTFS/usr/bin/$a" ]] || die "/usr/bin/$a is already in the image"
    ln -s /bin/busybox "$ROOTFS/usr/bin/$a"
  done
}

# start_script_tools: /bin/sh (Debian's dash, with the libraries it loads) and the busybox applets the
# start scripts use: the image can run the pod's `sh -c '<script>'`.
start_script_tools() {
  elf_install /bin/sh
  busybox_applets wget timeout cat sed rm
}
