#!/usr/bin/env bash
# Fetch the pinned front-end libraries from the npm registry into static/vendor/.
# The files are committed; run this only to change a pin, then update static/vendor/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# package@version  file-in-package  destination-folder
PINS=(
  "htmx.org@2.0.11 dist/htmx.min.js static/vendor/htmx-2.0.11"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for pin in "${PINS[@]}"; do
  read -r spec file dest <<<"$pin"
  (cd "$work" && rm -rf package && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz && rm ./*.tgz)
  mkdir -p "$dest"
  cp "$work/package/$file" "$dest/"
  cp "$work/package/LICENSE" "$dest/LICENSE" 2>/dev/null || true
  sha256sum "$dest/$(basename "$file")"
  rm -rf "$work/package"
done
