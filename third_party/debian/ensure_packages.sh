# Sourced by ./bazelw, .ci/run and examples/cmake_consumer/run.sh:
# ensure_packages PKG... installs from Debian's archive whichever of the
# packages is not installed (apt-get update first, only then), so a fresh
# machine needs nothing else. Quiet when everything is present. Package
# names may carry an architecture (libabsl-dev:i386).
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
      grep -q "ok installed"; then
      missing+=("$p")
    fi
  done
  ((${#missing[@]})) || return 0
  echo "ensure_packages: installing ${missing[*]}" >&2
  local sudo_cmd=()
  if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" \
    apt-get install -y -qq "${missing[@]}" >&2
}
