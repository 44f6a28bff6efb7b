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

# ensure_i386_packages: what --config=i386 needs: the i386 architecture in
# dpkg, gcc's multilib, and Debian's i386 Abseil and GoogleTest.
ensure_i386_packages() {
  if ! dpkg --print-foreign-architectures | grep -qx i386; then
    echo "ensure_i386_packages: adding the i386 architecture" >&2
    local sudo_cmd=()
    if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" dpkg --add-architecture i386
    # ensure_packages runs apt-get update, since i386's are missing.
  fi
  ensure_packages g++-multilib libabsl-dev:i386 libgtest-dev:i386 \
    libgmock-dev:i386
}

# i386_binaries_run: whether this kernel executes i386 programs (some run
# 64-bit user code only: execve of an i386 binary fails with ENOEXEC).
# Needs ensure_i386_packages first.
i386_binaries_run() {
  local dir rc=0
  dir="$(mktemp -d)"
  printf 'int main(void) { return 0; }\n' >"$dir/probe.c"
  gcc -m32 "$dir/probe.c" -o "$dir/probe" 2>/dev/null && "$dir/probe" \
    2>/dev/null || rc=1
  rm -rf "$dir"
  return "$rc"
}
