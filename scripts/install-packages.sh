#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo start servers from (they are started
# on loopback with configs of their own, never the packaged defaults): PostgreSQL for the
# databases the postgres provisioners create (and the local `dev` ones), redis-server and
# redis-tools (redis-cli) for the local `redis` provisioner, curl (SigV4 requests to the local
# S3 server), docker-registry/skopeo/umoci for images, and
# apache2-utils for htpasswd (a registry that asks for credentials).
set -euo pipefail

packages=(postgresql redis-server redis-tools curl docker-registry skopeo umoci apache2-utils)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
