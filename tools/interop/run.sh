#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Interop check: builds Squint in _build-interop and drives the real
# `squint` CLI (models, ask, compare, export, kill -9 and resume) against
# tools/interop/replicate_sim.py, an independent Replicate API simulator
# written from docs/replicate-protocol.md alone. Needs no network. Prints
# one PASS/FAIL line per check and a summary; exits 1 if any check failed.
#   [INTEROP_SEED=N] [INTEROP_KEEP=1] tools/interop/run.sh [BUILDDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
builddir=${1:-_build-interop}

if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" >/dev/null
fi
if ! ninja -C "$builddir" >"$builddir/interop-build.log" 2>&1; then
  cat "$builddir/interop-build.log" >&2
  echo "interop: the build failed" >&2
  exit 2
fi

# Debian's python3 (standard library only)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
exec "$python" tools/interop/check.py "$builddir/app/squint" "$builddir/data"
