#!/bin/sh
# Retakes data/screenshots/compare-*.png: the Compare view with a running
# grid, the labelled table, the summary chart, blind mode and a narrow
# window, in light and dark styles, against the in-process fake Replicate
# under Xvfb, with the settings and data kept out of the user's own.
#
# Usage: data/screenshots/take-compare.sh BUILDDIR
# Needs xvfb-run and dbus-run-session. The screen is larger than the
# window so that the pointer, in its middle, hovers over nothing.
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -eu

builddir=$(cd "${1:?usage: $0 BUILDDIR}" && pwd)
out=$(cd "$(dirname "$0")" && pwd)

ninja -C "$builddir" tests/ui/shoot-compare
env -u REPLICATE_API_TOKEN -u REPLICATE_BASE_URL \
  GSETTINGS_SCHEMA_DIR="$builddir/data" GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1 \
  xvfb-run -a -s "-screen 0 2600x2000x24" dbus-run-session -- \
  "$builddir/tests/ui/shoot-compare" "$out"
