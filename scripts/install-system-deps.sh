#!/usr/bin/env bash
# Installs the real servers the test suite runs on loopback, when missing:
# Prometheus 2.x and Alertmanager (end-to-end rule tests), Chromium (what a
# person sees). The Firestore emulator jar comes with the machine image
# (google-cloud-cli-firestore-emulator); without it the Firestore tests skip
# and say so.
set -euo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/bin/prometheus ] || need+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
