#!/usr/bin/env bash
# The real VirtualBox 7.2 userland (VBoxManage, VBoxSVC, vboxwebsrv, the driverless Qt frontend) in a
# Debian sid chroot, for the VirtualBox driver's end-to-end tests. No kernel module: VMs cannot start
# through VBoxManage/VBoxHeadless (that failure is one of the things the tests check), but every
# configuration call is real. Root only (debootstrap, chroot, mount).
#
#   scripts/vbox-chroot.sh setup [--hold PID]
#                                     build once (about a minute), then only mount; prints KEY=VALUE lines:
#                                     VBOX_CHROOT_DIR, VBOX_CHROOT_ROOT, VBOX_MANAGE, VBOX_WEBSRV, VBOX_CHROOT_RUN.
#                                     --hold PID records PID as a user of the mounts (test runs in parallel)
#   scripts/vbox-chroot.sh release PID
#                                     PID is done; the last live holder out runs teardown
#   scripts/vbox-chroot.sh bind DIR   make host DIR visible inside the chroot at the same path
#   scripts/vbox-chroot.sh unbind DIR
#   scripts/vbox-chroot.sh run CMD... run CMD inside the chroot (PATH starts with /usr/lib/virtualbox)
#   scripts/vbox-chroot.sh teardown   stop what runs inside the chroot and unmount it (the files stay cached)
#   scripts/vbox-chroot.sh path       print the chroot directory (built or not)
#   scripts/vbox-chroot.sh update-lock
#                                     re-resolve scripts/vbox-chroot-packages.lock from sid, show what changed
#
# The chroot holds exactly the packages and versions of scripts/vbox-chroot-packages.lock (an input,
# committed, part of the cache key): sid moves daily, and a test that passed must not start failing
# because VirtualBox moved under it. Only update-lock asks sid for newer versions.
#
# Cache: ${MACHINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/machine}/vbox-chroot-<hash of build_rootfs>,
# holding rootfs/ (the chroot) and bin/ (host-side wrappers: bin/VBoxManage runs the chroot's real
# /usr/lib/virtualbox/VBoxManage, bypassing Debian's /usr/bin wrapper and its stdout banner).
# Environment: MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

CACHE=${MACHINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/machine}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

PACKAGES_LOCK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/vbox-chroot-packages.lock

log() { echo "vbox-chroot: $*" >&2; }
die() { echo "vbox-chroot: $*" >&2; exit "${2:-1}"; }

# The recipe. Its text (declare -f) names the cache directory, so any change to it builds a new chroot.
# $3: the lock ("name version" lines) to install exactly, or empty for the newest sid has.
build_rootfs() {
  local r=$1 debs=$2 lock=$3 t0=$SECONDS
  local pkgs="virtualbox xorriso virtualbox-qt xvfb xauth"
  # every package of the lock at its version (debootstrap's base moves up or down to it)
  [ -n "$lock" ] && pkgs=$(awk '{printf "%s=%s ", $1, $2}' <<<"$lock")
  if [ ! -x "$r/usr/bin/apt-get" ]; then
    # Two stages, so that dpkg runs with force-unsafe-io: no fsync per file (a test chroot, rebuilt
    # from scratch if it ever breaks), which halves the time on a busy disk.
    unmount_all "$r"
    rm -rf "$r"
    mkdir -p "$r"
    debootstrap --foreign --variant=minbase --components=main,contrib --cache-dir="$debs" sid "$r" "$MIRROR" >&2
    log "debootstrap, first stage: $((SECONDS - t0)) s"
    mkdir -p "$r/etc/dpkg/dpkg.cfg.d"
    echo force-unsafe-io >"$r/etc/dpkg/dpkg.cfg.d/unsafe-io"
    chroot "$r" /debootstrap/debootstrap --second-stage >&2
    log "debootstrap, second stage: $((SECONDS - t0)) s"
  fi
  mount_dev "$r"
  echo "deb $MIRROR sid main contrib" >"$r/etc/apt/sources.list"
  # deb.debian.org may serve a frozen sid snapshot whose Release is past Valid-Until.
  echo 'Acquire::Check-Valid-Until "false";' >"$r/etc/apt/apt.conf.d/99no-check-valid-until"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod +x "$r/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
  # virtualbox depends on virtualbox-dkms | virtualbox-source | virtualbox-modules: satisfy it with an
  # empty package instead of dkms and a compiler (~900 MB).
  local d
  d=$(mktemp -d)
  mkdir -p "$d/DEBIAN"
  printf '%s\n' 'Package: virtualbox-modules-none' 'Version: 1.0' 'Architecture: all' \
    'Maintainer: machine tests <tests@localhost>' 'Provides: virtualbox-modules' \
    'Description: satisfies the kernel-module dependency of virtualbox (no module)' >"$d/DEBIAN/control"
  dpkg-deb --build --root-owner-group "$d" "$r/tmp/virtualbox-modules-none.deb" >/dev/null
  rm -rf "$d"
  mkdir -p "$r/var/cache/apt/archives"
  mountpoint -q "$r/var/cache/apt/archives" || mount --bind "$debs" "$r/var/cache/apt/archives"
  local rc=0
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get update -qq -o Acquire::Languages=none && apt-get install -y -qq --no-install-recommends --allow-downgrades /tmp/virtualbox-modules-none.deb $pkgs" \
    >"$r/tmp/apt-install.log" 2>&1 || rc=$?
  umount "$r/var/cache/apt/archives"
  if [ $rc != 0 ]; then
    local gone
    gone=$(sed -n "s/^E: Version '\(.*\)' for '\(.*\)' was not found.*/\2 \1/p" "$r/tmp/apt-install.log" | head -n1)
    [ -n "$gone" ] && { log "scripts/vbox-chroot-packages.lock pins $gone, which the archive no longer has: run bash scripts/vbox-chroot.sh update-lock"; return 1; }
    cat "$r/tmp/apt-install.log" >&2
    return 1
  fi
  if [ -n "$lock" ] && ! diff <(installed "$r") <(echo "$lock") >"$r/tmp/lock.diff"; then
    cat "$r/tmp/lock.diff" >&2
    log "the chroot's packages differ from scripts/vbox-chroot-packages.lock (above): run bash scripts/vbox-chroot.sh update-lock"
    return 1
  fi
  log "VirtualBox installed: $((SECONDS - t0)) s"
  chroot "$r" /usr/lib/virtualbox/VBoxManage --version >/dev/null
}

# What the chroot has installed, as the lock lists it (the local module stand-in is not in sid).
installed() {
  # shellcheck disable=SC2016 # dpkg-query expands the ${...} fields itself
  chroot "$1" dpkg-query -W -f '${Package} ${Version}\n' | grep -v '^virtualbox-modules-none ' | LC_ALL=C sort
}

LOCKED=$(grep -v -e '^#' -e '^$' "$PACKAGES_LOCK" 2>/dev/null || true)
HASH=$( { declare -f build_rootfs installed; echo "$MIRROR"; echo "$LOCKED"; } | sha256sum | cut -c1-12)
DIR=$CACHE/vbox-chroot-$HASH
ROOT=$DIR/rootfs

need_root() { [ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mount); this user is $(id -un)" 2; }

mount_dev() {
  local r=$1
  mountpoint -q "$r/proc" || mount -t proc proc "$r/proc"
  mountpoint -q "$r/sys" || mount -t sysfs sysfs "$r/sys"
  # A private /dev: the chroot never sees host devices (no /dev/vboxdrv), and rm -rf cannot reach them.
  if ! mountpoint -q "$r/dev"; then
    mount -t tmpfs -o mode=755,size=16m vboxdev "$r/dev"
    local n
    for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
      # shellcheck disable=SC2086
      set -- $n
      mknod -m 666 "$r/dev/$1" c "$2" "$3"
    done
    mkdir -p "$r/dev/pts" "$r/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
    ln -s pts/ptmx "$r/dev/ptmx"
    mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
    ln -s /proc/self/fd "$r/dev/fd"
    ln -s /proc/self/fd/0 "$r/dev/stdin"
    ln -s /proc/self/fd/1 "$r/dev/stdout"
    ln -s /proc/self/fd/2 "$r/dev/stderr"
  fi
}

# Every mount point at or under $1, deepest first.
mounts_under() {
  awk -v p="$1" '{ gsub(/\\040/, " ", $2); if ($2 == p || index($2, p "/") == 1) print $2 }' /proc/self/mounts | sort -r
}

unmount_all() {
  local m
  while IFS= read -r m; do
    [ -n "$m" ] && { umount "$m" 2>/dev/null || umount -l "$m"; }
  done < <(mounts_under "$1")
}

write_wrappers() {
  mkdir -p "$DIR/bin"
  cat >"$DIR/bin/run" <<EOF
#!/bin/sh
# Run a command inside the VirtualBox chroot as root, in the same directory when it exists there.
R='$ROOT'
cwd=\$(pwd); [ -d "\$R\$cwd" ] || cwd=/
exec chroot "\$R" /usr/bin/env -i PATH=/usr/lib/virtualbox:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root USER=root LOGNAME=root \\
  LANG=C.UTF-8 TMPDIR=/tmp \${DISPLAY:+DISPLAY=\$DISPLAY} \${XDG_RUNTIME_DIR:+XDG_RUNTIME_DIR=\$XDG_RUNTIME_DIR} \\
  /bin/sh -c 'cd "\$0" && exec "\$@"' "\$cwd" "\$@"
EOF
  local b
  for b in VBoxManage vboxwebsrv VBoxHeadless VirtualBoxVM; do
    printf '#!/bin/sh\nexec "%s/bin/run" /usr/lib/virtualbox/%s "$@"\n' "$DIR" "$b" >"$DIR/bin/$b"
  done
  chmod 755 "$DIR/bin/"*
}

cmd_setup() {
  need_root
  mkdir -p "$CACHE"
  exec 9>"$CACHE/vbox-chroot.lock"
  flock 9
  if [ ! -f "$DIR/.ready" ]; then
    local t0=$SECONDS partial=$DIR.partial debs=$CACHE/vbox-chroot-debs
    command -v debootstrap >/dev/null || { log "installing debootstrap"; apt-get update -qq >&2; apt-get install -y -qq debootstrap >&2; }
    mkdir -p "$debs" "$partial/rootfs"
    log "building the VirtualBox chroot in $DIR (once; the .deb files are cached in $debs)"
    [ -n "$LOCKED" ] || die "$PACKAGES_LOCK is missing or empty: run bash scripts/vbox-chroot.sh update-lock"
    # In the background so that set -e holds inside (an if or || around a function switches it off).
    build_rootfs "$partial/rootfs" "$debs" "$LOCKED" &
    if ! wait $!; then
      unmount_all "$partial/rootfs"
      die "building the chroot failed (a re-run resumes from $partial)"
    fi
    unmount_all "$partial/rootfs"
    rm -rf "$DIR"
    mv "$partial" "$DIR"
    touch "$DIR/.ready"
    log "built in $((SECONDS - t0)) s"
    # Chroots of older recipes are dead weight (about 1 GB each): remove those nobody has mounted.
    local old
    for old in "$CACHE"/vbox-chroot-*/; do
      old=${old%/}
      case "$old" in "$DIR" | "$debs") continue ;; esac
      if [ -z "$(mounts_under "$old")" ]; then rm -rf "$old" && log "removed the chroot of an older recipe: $old"; fi
    done
  fi
  mount_dev "$ROOT"
  write_wrappers
  [ -n "${HOLD:-}" ] && echo "$HOLD" >>"$DIR/.holders"
  echo "VBOX_CHROOT_DIR=$DIR"
  echo "VBOX_CHROOT_ROOT=$ROOT"
  echo "VBOX_MANAGE=$DIR/bin/VBoxManage"
  echo "VBOX_WEBSRV=$DIR/bin/vboxwebsrv"
  echo "VBOX_CHROOT_RUN=$DIR/bin/run"
}

cmd_bind() {
  need_root
  local d
  d=$(realpath -m "$1")
  [ -f "$DIR/.ready" ] || die "not set up: run $0 setup"
  [ -d "$d" ] || die "$d is not a directory"
  mkdir -p "$ROOT$d"
  mountpoint -q "$ROOT$d" || mount --bind "$d" "$ROOT$d"
}

cmd_unbind() {
  need_root
  local d
  d=$(realpath -m "$1")
  unmount_all "$ROOT$d"
  rmdir "$ROOT$d" 2>/dev/null || true
}

# Stop what runs in a chroot (started through its wrappers: VBoxSVC, vboxwebsrv, VMs) and unmount it.
teardown_one() {
  local root=$1 p pids=()
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids+=("${p#/proc/}")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
      local alive=0
      for p in "${pids[@]}"; do [ -d "/proc/$p" ] && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    kill -9 "${pids[@]}" 2>/dev/null || true
  fi
  unmount_all "$root"
  log "unmounted $root"
}

# A chroot of the newest sid has (in a scratch directory, removed after), its package list as the lock.
cmd_update_lock() {
  need_root
  mkdir -p "$CACHE"
  local debs=$CACHE/vbox-chroot-debs new
  SCRATCH=$(mktemp -d "$CACHE/vbox-chroot-update.XXXXXX")
  mkdir -p "$debs"
  trap 'unmount_all "$SCRATCH"; rm -rf "$SCRATCH"' EXIT
  log "building a chroot of today's sid in $SCRATCH to read its packages"
  build_rootfs "$SCRATCH/rootfs" "$debs" "" &
  wait $! || die "building the chroot failed"
  new=$(installed "$SCRATCH/rootfs")
  {
    echo "# The exact sid packages of the VirtualBox test chroot (name version): an input of"
    echo "# scripts/vbox-chroot.sh and of its cache key. Re-resolve: bash scripts/vbox-chroot.sh update-lock"
    echo "$new"
  } >"$PACKAGES_LOCK.new"
  echo "scripts/vbox-chroot-packages.lock:" >&2
  LC_ALL=C join -a1 -a2 -e - -o 0,1.2,2.2 <(echo "$LOCKED") <(echo "$new") |
    awk '$2 != $3 {print "  " $1 ": " ($2 == "-" ? "(new)" : $2) " -> " ($3 == "-" ? "(removed)" : $3); n++}
      END {if (!n) print "  nothing changed"}' >&2
  mv "$PACKAGES_LOCK.new" "$PACKAGES_LOCK"
}

# Every chroot of the cache, this recipe's and older ones, so none stays mounted.
cmd_teardown() {
  need_root
  local d
  for d in "$CACHE"/vbox-chroot-*/rootfs "$CACHE"/vbox-chroot-*.partial/rootfs; do
    [ -d "$d" ] && [ -n "$(mounts_under "$d")" ] && teardown_one "$d"
  done
  return 0
}

# Holders whose process is still alive, one per line.
live_holders() {
  local p
  [ -f "$DIR/.holders" ] || return 0
  while IFS= read -r p; do [ -n "$p" ] && [ -d "/proc/$p" ] && echo "$p"; done <"$DIR/.holders" | sort -u
}

cmd_release() {
  need_root
  mkdir -p "$CACHE"
  exec 9>"$CACHE/vbox-chroot.lock"
  flock 9
  [ -f "$DIR/.holders" ] || exit 0
  local rest
  rest=$(live_holders | grep -vx "$1" || true)
  printf '%s' "${rest:+$rest
}" >"$DIR/.holders"
  [ -z "$rest" ] && cmd_teardown
  exit 0
}

case "${1:-setup}" in
  setup)
    [ "${2:-}" = --hold ] && HOLD=${3:?pid}
    cmd_setup ;;
  release) cmd_release "${2:?pid}" ;;
  bind) cmd_bind "${2:?directory}" ;;
  unbind) cmd_unbind "${2:?directory}" ;;
  run) shift; [ -f "$DIR/.ready" ] || die "not set up: run $0 setup"; exec "$DIR/bin/run" "$@" ;;
  teardown) cmd_teardown ;;
  path) echo "$DIR" ;;
  update-lock) cmd_update_lock ;;
  *) die "usage: $0 setup [--hold PID]|release PID|bind DIR|unbind DIR|run CMD...|teardown|path|update-lock" ;;
esac
