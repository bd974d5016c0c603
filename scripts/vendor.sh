#!/usr/bin/env bash
# Fetch the pinned front-end libraries from the npm registry into static/vendor/.
# The files are committed; run this only to change a pin, then update static/vendor/README.md
# (and the exact version in package.json).
set -euo pipefail
cd "$(dirname "$0")/.."

# package@version  destination-folder  path-in-package...
# Each path is a file or a folder; either is copied into the destination under its own name
# (so dist/images lands in <destination>/images, next to the CSS that refers to images/).
PINS=(
  "htmx.org@2.0.11 static/vendor/htmx-2.0.11 dist/htmx.min.js"
  "leaflet@1.9.4 static/vendor/leaflet-1.9.4 dist/leaflet.js dist/leaflet.css dist/images"
  "leaflet.markercluster@1.5.3 static/vendor/leaflet.markercluster-1.5.3 dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css"
  "uplot@1.6.32 static/vendor/uplot-1.6.32 dist/uPlot.iife.min.js dist/uPlot.min.css"
)

# The package's licence, whatever it is called (leaflet.markercluster ships MIT-LICENCE.txt).
copy_licence() {
  local package=$1 dest=$2 name
  for name in LICENSE LICENSE.md LICENSE.txt LICENCE LICENCE.md LICENCE.txt MIT-LICENCE.txt MIT-LICENSE.txt; do
    if [[ -f "$package/$name" ]]; then
      cp "$package/$name" "$dest/LICENSE"
      return
    fi
  done
  echo "no licence file in $package" >&2
  return 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for pin in "${PINS[@]}"; do
  read -r -a fields <<<"$pin"
  spec=${fields[0]} dest=${fields[1]} paths=("${fields[@]:2}")
  [[ $dest == static/vendor/?* ]] || { echo "refusing to write outside static/vendor/: $dest" >&2; exit 1; }
  (cd "$work" && rm -rf package && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz && rm ./*.tgz)
  rm -rf "$dest"
  mkdir -p "$dest"
  for path in "${paths[@]}"; do
    cp -R "$work/package/$path" "$dest/"
  done
  copy_licence "$work/package" "$dest"
  find "$dest" -type d -exec chmod 755 {} + -o -type f -exec chmod 644 {} +   # some tarballs mark files executable
  find "$dest" -type f \( -name '*.js' -o -name '*.css' \) | sort | xargs sha256sum
  rm -rf "$work/package"
done
