#!/bin/sh
# Takes the Ask view's screenshots with tests/ui/screenshot-ask: the real
# window against the in-process fake Replicate, three models answering
# about two images, mid-stream and finished, light and dark, and at
# 400 px wide, under Xvfb with the settings and data kept out of the
# user's own. Copies the finished, light one over main.png.
#
# Usage: data/screenshots/take-ask.sh BUILDDIR [OUTDIR]
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -eu

builddir=$(cd "${1:?usage: $0 BUILDDIR [OUTDIR]}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
outdir=${2:-$builddir/screenshots}

env -u REPLICATE_API_TOKEN -u REPLICATE_BASE_URL \
  GSETTINGS_SCHEMA_DIR="$builddir/data" GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1 \
  xvfb-run -a -s "-screen 0 1600x1000x24" \
  dbus-run-session -- "$builddir/tests/ui/screenshot-ask" "$outdir"

cp "$outdir/ask-done-light.png" "$here/main.png"
echo "Wrote $here/main.png"
