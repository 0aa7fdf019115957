#!/bin/sh
# Retakes data/screenshots/main.png: the main window in its first-run state,
# light style, under Xvfb, with the settings and the keyring kept out of the
# user's own.
#
# Usage: data/screenshots/take-main.sh BUILDDIR
# Needs xvfb-run, dbus-run-session, xwininfo and ImageMagick's import.
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -eu

builddir=$(cd "${1:?usage: $0 BUILDDIR}" && pwd)
out=$(cd "$(dirname "$0")" && pwd)/main.png
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/shoot.sh" <<SCRIPT
#!/bin/sh
"$builddir/app/squint" &
pid=\$!
sleep 3
id=\$(xwininfo -root -children | awk '/"Squint"/ { print \$1; exit }')
import -window "\$id" "$out"
kill \$pid
SCRIPT
chmod +x "$tmp/shoot.sh"

env -u REPLICATE_API_TOKEN \
  GSETTINGS_SCHEMA_DIR="$builddir/data" GSETTINGS_BACKEND=memory NO_AT_BRIDGE=1 \
  SECRET_BACKEND=file SECRET_FILE_TEST_PATH="$tmp/keyring" SECRET_FILE_TEST_PASSWORD=screenshot \
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$tmp/shoot.sh"

echo "Wrote $out"
