#!/usr/bin/env bash
# Makes the Compose stack's secrets and settings (make compose-secrets runs
# it): in DIR (default deploy/compose/secrets, mode 0700) the NATS nodes'
# configuration and every identity's nkey seed (assay nats-config), intake
# tokens, reviewers' tokens and the endpoint policy; and .env beside
# compose.yaml (or $ASSAY_COMPOSE_ENV) with the images' prefix and tag. What exists is kept, so
# running it again changes no credential.
#
#   deploy/compose/secrets.sh ASSAY_BINARY [IMAGE_PREFIX] [IMAGE_TAG] [DIR]
#
# The files are 0644 in a 0700 directory: Compose mounts each as it is on
# this host, and the images run as the unprivileged user 65532.
set -euo pipefail
assay=${1:?usage: secrets.sh ASSAY_BINARY [IMAGE_PREFIX] [IMAGE_TAG] [DIR]}
prefix=${2:-}
tag=${3:-dev}
here=$(cd "$(dirname "$0")" && pwd)
dir=${4:-$here/secrets}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"
"$assay" nats-config --auth "$dir" --routes nats-1:6222,nats-2:6222,nats-3:6222 --file-mode 0644 -o "$dir/nats.conf"
token() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
if [ ! -e "$dir/intake-tokens" ]; then
  echo "*=$(token)" > "$dir/intake-tokens"
fi
if [ ! -e "$dir/reviewers" ]; then
  echo "reviewer=$(token)" > "$dir/reviewers"
fi
if [ ! -e "$dir/endpoints.yaml" ]; then
  cat > "$dir/endpoints.yaml" <<'YAML'
# The endpoint hosts the stages may call, and the secrets specs may name
# (README, "Running assay for a team"). sim:8090 is the simulated models.
allow: ["sim:8090"]
YAML
fi
chmod 644 "$dir/intake-tokens" "$dir/reviewers" "$dir/endpoints.yaml"
env=${ASSAY_COMPOSE_ENV:-$here/.env}
printf 'ASSAY_IMAGE_PREFIX=%s\nASSAY_IMAGE_TAG=%s\nASSAY_SECRETS=%s\n' "$prefix" "$tag" "$dir" > "$env"
chmod 644 "$env"
echo "secrets in $dir; images ${prefix}assay*:$tag (in $env)"
