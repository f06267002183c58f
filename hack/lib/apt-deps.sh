# Sourced by hack/node-deps.sh and hack/media/install-deps.sh: Debian packages a test suite needs,
# installed only when missing. Needs log() and die() from the caller, and WANT=(package:program ...).
#
# apt_missing: sets missing=(packages whose program is absent), each package once.
# apt_install LOG_NAME: installs "${missing[@]}" with apt-get (sudo when not root): `apt-get update`
#   only when apt knows no candidate for one of them; waits up to 5 min for another installer's lock;
#   keeps Debian's maintainer scripts from starting system-wide services (policy-rc.d, for this
#   install only); output to ~/.cache/meet-operator/LOG_NAME.log, shown when something fails; then
#   checks every program is there.
apt_missing() {
  local pair pkg prog
  missing=()
  for pair in "${WANT[@]}"; do
    pkg="${pair%%:*}" prog="${pair#*:}"
    if [[ ! -x "$prog" ]]; then
      [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
    fi
  done
}

apt_install() {
  local sudo="" pkg cand need_update=0 pair prog
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "installing ${missing[*]} needs root (or sudo)"
    sudo="sudo"
  fi
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} with your system's package manager"
  for pkg in "${missing[@]}"; do
    cand="$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')"
    if [[ -z "$cand" || "$cand" == "(none)" ]]; then need_update=1; fi
  done
  local wait=(-o DPkg::Lock::Timeout=300)
  APT_LOG="${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/$1.log"
  mkdir -p "$(dirname "$APT_LOG")"
  : >"$APT_LOG"
  if ((need_update)); then
    log "apt-get update (no candidate known for: ${missing[*]})"
    $sudo apt-get "${wait[@]}" update -qq >>"$APT_LOG" 2>&1 || { tail -n 20 "$APT_LOG" >&2; die "apt-get update failed, full log: $APT_LOG"; }
  fi
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && created_policy=1
  fi
  log "apt-get install ${missing[*]} (log: $APT_LOG)"
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get "${wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" >>"$APT_LOG" 2>&1; then
    ((created_policy)) && $sudo rm -f "$policy"
    tail -n 30 "$APT_LOG" >&2
    die "apt-get install ${missing[*]} failed, full log: $APT_LOG"
  fi
  ((created_policy)) && $sudo rm -f "$policy"
  for pair in "${WANT[@]}"; do
    prog="${pair#*:}"
    [[ -x "$prog" ]] || die "$prog still missing after apt-get install ${missing[*]}"
  done
  return 0
}
