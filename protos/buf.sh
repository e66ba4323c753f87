#!/usr/bin/env bash
# buf lint and buf breaking for protos/. buf takes no include path and protos/ imports google/api/annotations.proto
# from a package (see googleapis-path), so both run on images that protoc builds with that path; google/ is not linted.
#   bash protos/buf.sh lint
#   bash protos/buf.sh breaking <git ref>      e.g. origin/main: no breaking change against that commit's protos/
#   bash protos/buf.sh image <file>            the image alone (clients/web generates its code from it)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
googleapis=$(bash "$here/googleapis-path")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

image() { # <protos folder> <output image>
  local files
  files=$(cd "$1" && find . -name '*.proto' -not -path './node_modules/*' | sed 's|^\./||' | sort)
  # shellcheck disable=SC2086 # one argument per file
  (cd "$1" && protoc -I . -I "$googleapis" --include_imports --include_source_info -o "$2" $files)
}

case "${1:-}" in
  lint)
    image "$here" "$work/current.binpb"
    buf lint "$work/current.binpb" --config "$here/buf.yaml" --exclude-path google
    ;;
  breaking)
    ref=${2:?usage: buf.sh breaking <git ref>}
    image "$here" "$work/current.binpb"
    mkdir "$work/against"
    prefix=$(git -C "$here" rev-parse --show-prefix)
    git -C "$here/$(git -C "$here" rev-parse --show-cdup)" archive --format=tar "$ref:$prefix" | tar -x -C "$work/against"
    image "$work/against" "$work/against.binpb"
    buf breaking "$work/current.binpb" --against "$work/against.binpb" --config "$here/buf.yaml" --exclude-path google
    ;;
  image)
    out=${2:?usage: buf.sh image <file>}
    image "$here" "$work/current.binpb"
    cp "$work/current.binpb" "$out"
    ;;
  *)
    echo "usage: protos/buf.sh lint | breaking <git ref> | image <file>" >&2
    exit 2
    ;;
esac
