#!/bin/sh
# Create the secret files docker-compose.yml mounts (default: ./secrets next to it). Each is
# random, made once and never overwritten, so a rerun keeps a deployment's passwords. The URLs
# embed the passwords of the postgres and rabbitmq services, so every pair agrees.
#
#   sh deploy/compose-secrets.sh [DIR]
#
# The directory is 0700 (other host users cannot reach the files); the files are 0644 because
# Compose bind-mounts them as they are and each container reads them as its own user (node,
# postgres, rabbitmq, grafana). Keep DIR out of version control and out of image builds.
set -eu
dir=${1:-secrets}
mkdir -p "$dir"
chmod 700 "$dir"

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# secret NAME CONTENT: write DIR/NAME unless it already exists.
secret() {
  if [ ! -s "$dir/$1" ]; then
    printf '%s\n' "$2" >"$dir/$1"
    echo "created $dir/$1"
  fi
  chmod 644 "$dir/$1"
}

secret postgres-password "$(random_hex 24)"
secret database-url "postgres://sluice:$(cat "$dir/postgres-password")@postgres:5432/sluice"
secret rabbitmq-password "$(random_hex 24)"
secret rabbitmq.conf "default_user = sluice
default_pass = $(cat "$dir/rabbitmq-password")"
secret amqp-url "amqp://sluice:$(cat "$dir/rabbitmq-password")@rabbitmq:5672"
secret admin-token "$(random_hex 24)"
secret secret-key "$(random_hex 32)"
secret grafana-admin-password "$(random_hex 16)"
