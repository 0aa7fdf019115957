#!/bin/sh
# Checks po/POTFILES.in against the source tree: every file it lists must
# exist, it must be sorted, and every source file with translatable
# strings must be listed.
#
# Usage: check-potfiles.sh SOURCE_ROOT
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -u

srcdir=${1:-.}
cd "$srcdir" || exit 2

potfiles=po/POTFILES.in
listed=$(mktemp)
trap 'rm -f "$listed"' EXIT
status=0

grep -v -e '^#' -e '^[[:space:]]*$' "$potfiles" > "$listed"

while read -r file; do
  if [ ! -f "$file" ]; then
    echo "$potfiles lists $file, which does not exist"
    status=1
  fi
done < "$listed"

if ! LC_ALL=C sort -c "$listed" 2>/dev/null; then
  echo "$potfiles is not sorted (LC_ALL=C sort)"
  status=1
fi

candidates=$(find app data -type f \( -name '*.c' -o -name '*.h' -o -name '*.ui' \
                                      -o -name '*.desktop.in.in' -o -name '*.metainfo.xml.in.in' \
                                      -o -name '*.gschema.xml' \) | LC_ALL=C sort)

for file in $candidates; do
  case $file in
    *.c|*.h)
      grep -q -E '(^|[^A-Za-z0-9_])(N|C|NC|Q)?_\(|(^|[^A-Za-z0-9_])n?gettext \(|g_dn?gettext' "$file" || continue ;;
    *.ui)
      grep -q 'translatable="yes"' "$file" || continue ;;
    *) ;;
  esac

  if ! grep -q -x -F "$file" "$listed"; then
    echo "$file has translatable strings but is missing from $potfiles"
    status=1
  fi
done

if [ $status -eq 0 ]; then
  echo "$potfiles is complete"
fi

exit $status
