#!/usr/bin/env bash
# Builds assay's images from static binaries already built on the host
# (make images builds them): one image per binary, tagged
# PREFIX<binary>:VERSION, from deploy/docker/Dockerfile. Nothing is pulled:
# every image starts from scratch.
#
#   deploy/docker/images.sh BIN_DIR [PREFIX] [VERSION] [REVISION]
#
# BIN_DIR holds assay and assay-{ingest,infer,score,judge,report}, built
# with CGO_ENABLED=0. PREFIX is a registry path ending in "/" (default
# none: local images), VERSION the tag (default dev).
set -euo pipefail
bin=${1:?usage: images.sh BIN_DIR [PREFIX] [VERSION] [REVISION]}
prefix=${2:-}
version=${3:-dev}
revision=${4:-unknown}
here=$(cd "$(dirname "$0")" && pwd)
binaries=(assay assay-ingest assay-infer assay-score assay-judge assay-report)
for b in "${binaries[@]}"; do
  if [ ! -x "$bin/$b" ]; then
    echo "images.sh: $bin/$b is missing: build it first (make images does)" >&2
    exit 2
  fi
done
certs=/etc/ssl/certs/ca-certificates.crt
if [ ! -r "$certs" ]; then
  echo "images.sh: $certs is missing: install Debian's ca-certificates, which the images carry for https endpoints" >&2
  exit 2
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$here/passwd" "$here/group" "$certs" "$ctx/"
for b in "${binaries[@]}"; do cp "$bin/$b" "$ctx/"; done
mkdir -p "$ctx/dirs/tmp" "$ctx/dirs/data"
chmod 1777 "$ctx/dirs/tmp"
chmod 0700 "$ctx/dirs/data"
tar -C "$ctx/dirs" --numeric-owner --owner=65532 --group=65532 -cf "$ctx/dirs.tar" tmp data
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for b in "${binaries[@]}"; do
  # The classic builder: this engine has no BuildKit, and needs none.
  DOCKER_BUILDKIT=0 docker build --quiet --target "$b" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg CREATED="$created" \
    -t "$prefix$b:$version" "$ctx" >/dev/null
  echo "$prefix$b:$version"
done
