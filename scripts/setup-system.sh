#!/usr/bin/env bash
# System packages and services marsgis needs on a fresh Debian machine (run as root).
# Idempotent: installs only what is missing, starts PostgreSQL only if it is down.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

pg_version=""
if [ -d /etc/postgresql ]; then
  pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
fi

# gdal-bin: gdaldem/gdalinfo as test references; chromium + fonts: the dashboard browser tests;
# wrk: the load generator of the API benchmark (make bench);
# nodejs/npm: configurable-http-proxy for JupyterHub (installed from npm below).
pkgs=(gdal-bin libsqlite3-mod-spatialite chromium fonts-dejavu-core wrk)
command -v npm >/dev/null || pkgs+=(nodejs npm)
if [ -n "$pg_version" ]; then
  pkgs+=("postgresql-${pg_version}-postgis-3")
else
  pkgs+=(postgresql postgis)
fi
pkgs+=(${MARSGIS_EXTRA_DEBS:-})
for p in "${pkgs[@]}"; do have "$p" || need+=("$p"); done

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "marsgis set-up: missing Debian packages: ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "marsgis set-up: installing ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# JupyterHub's proxy (npm's configurable-http-proxy), on PATH.
if ! command -v configurable-http-proxy >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "marsgis set-up: configurable-http-proxy missing; run as root or npm install -g configurable-http-proxy" >&2
    exit 1
  fi
  echo "marsgis set-up: installing configurable-http-proxy from npm"
  npm install -g --no-fund --no-audit configurable-http-proxy@5 >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 (trust auth on the CI machines): start the cluster if it is down.
if [ -z "$pg_version" ] && [ -d /etc/postgresql ]; then
  pg_version=$(ls /etc/postgresql | sort -V | tail -n 1)
fi
if [ -n "$pg_version" ] && command -v pg_ctlcluster >/dev/null; then
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start || true
  fi
fi
