#!/usr/bin/env bash
# Makes (or reuses) a Debian 13 "trixie" root where CI runs the suite on Node 24: the uWS builds
# for Node 24 need glibc >= 2.38, which this Debian 12 host lacks (docs/node-versions.md).
# Usage: scripts/trixie-root.sh [dir]   (default /var/cache/sluice-ci/trixie; needs root)
# Idempotent: a root whose stamp names the same package list is reused; any other (a run that was
# interrupted, a changed list) is unmounted, deleted and made again.
set -euo pipefail
root=${1:-/var/cache/sluice-ci/trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the suite needs inside: gcc for the I/O-fault shim and, with g++/make/python3, node-gyp for
# better-sqlite3; a PostgreSQL server (own-postgres.ts takes the newest under /usr/lib/postgresql)
# and RabbitMQ (rabbit-cluster.ts) for the tests that start their own; Chromium for the operator
# page; setpriv/unshare (util-linux), openssl, ps (procps).
packages=(ca-certificates gcc g++ make python3 libc6-dev util-linux procps openssl
  postgresql rabbitmq-server chromium fonts-dejavu-core)
stamp="$root/.sluice-root-complete"
want="trixie ${packages[*]}"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "trixie root: reusing $root"
  exit 0
fi

# Never delete over a live mount (a bind of /dev or /proc would take the host's with it).
if grep -qF " $root/" /proc/self/mounts || grep -qF " $root " /proc/self/mounts; then
  echo "trixie root: $root has mounts under it; unmount them first (umount -R $root)" >&2
  exit 1
fi
# Only a directory this script made (its marker, written before debootstrap, or its stamp) is
# ever deleted: a mistyped SLUICE_TRIXIE_ROOT must not wipe whatever is there.
owned="$root/.sluice-root"
if [ -e "$root" ] && [ -n "$(ls -A "$root")" ]; then
  if [ ! -f "$owned" ] && [ ! -f "$stamp" ]; then
    echo "trixie root: $root exists and was not made by this script; remove it or pick another" >&2
    exit 1
  fi
  echo "trixie root: $root is incomplete or stale; making it again"
  rm -rf --one-file-system "$root"
fi

if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi
started=$(date +%s)
mkdir -p "$root"
touch "$owned"
debootstrap --variant=minbase trixie "$root" "$mirror"

# Packages' maintainer scripts must start no service in the root (the host's own PostgreSQL and
# RabbitMQ hold 5432 and 5672), and PostgreSQL needs no default cluster: the tests make their own.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common"
echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
trap 'umount -l "$root/proc"' EXIT
chroot "$root" apt-get update -qq
chroot "$root" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${packages[@]}"
chroot "$root" apt-get clean
umount "$root/proc"
trap - EXIT

echo "$want" >"$stamp"
echo "trixie root: made $root in $(($(date +%s) - started)) s"
