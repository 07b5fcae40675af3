#!/usr/bin/env bash
# Installs the Debian packages Atoll needs (bubblewrap and runsc (gVisor) for sandboxes; Chromium, PostgreSQL,
# zsh and fish for tests) when they are missing. Needs root; without root it only reports
# what is missing.
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
# gVisor's runsc: the second isolation tier (tenants created with --isolation gvisor).
command -v runsc >/dev/null 2>&1 || missing+=(runsc)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# A real font file for the browser tests' @font-face component.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || missing+=(fonts-dejavu-core)
# PostgreSQL: the metadata store's tests also run against a private PostgreSQL cluster.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# zsh and fish: the tests load `atoll completion zsh|fish` into the real shells.
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "atoll: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
    exit 0
fi
echo "atoll: installing ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
