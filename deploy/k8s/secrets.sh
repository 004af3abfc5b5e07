#!/usr/bin/env bash
# Makes the Secrets assay's Kubernetes manifests reference, as a kustomize
# directory DIR to apply with kubectl apply -k DIR (README, "Deploy"):
#
#   nats-auth            auth.conf: assay's identities (nkeys) with their
#                        grants, which the NATS nodes' nats.conf includes
#   assay-nkey-<id>      seed: the nkey seed of ingest, infer, score, judge,
#                        report and admin (assay-topology)
#   assay-intake-tokens  tokens: the intake's source=token lines
#   assay-endpoint-keys  one key per file in DIR/endpoint-keys, the files
#                        endpoints.yaml names (/var/run/assay/endpoint-keys/NAME)
#
# What exists is kept, so running it again changes no credential; add a key
# to DIR/endpoint-keys and run it again to add it. DIR/nats also holds the
# client and intake seeds, for the CLI and for production systems.
#
#   deploy/k8s/secrets.sh ASSAY_BINARY DIR [NAMESPACE]
set -euo pipefail
assay=${1:?usage: secrets.sh ASSAY_BINARY DIR [NAMESPACE]}
dir=${2:?usage: secrets.sh ASSAY_BINARY DIR [NAMESPACE]}
namespace=${3:-assay}
umask 077
mkdir -p "$dir/nats" "$dir/endpoint-keys"
chmod 700 "$dir"
# The whole configuration of a server admitting the identities; the nodes
# take only its authorization block (written last), the rest of their
# configuration being nats.conf in base/nats.
"$assay" nats-config --auth "$dir/nats" -o "$dir/nats/assay.conf"
sed -n '/^authorization:/,$p' "$dir/nats/assay.conf" > "$dir/nats/auth.conf"
if ! grep -q '^authorization:' "$dir/nats/auth.conf"; then
  echo "secrets.sh: $assay nats-config wrote no authorization block" >&2
  exit 1
fi
token() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
if [ ! -e "$dir/intake-tokens" ]; then
  echo "*=$(token)" > "$dir/intake-tokens"
fi
{
  echo "# Made by deploy/k8s/secrets.sh: kubectl apply -k $dir"
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "namespace: $namespace"
  echo "generatorOptions:"
  echo "  disableNameSuffixHash: true"
  echo "secretGenerator:"
  echo "- name: nats-auth"
  echo "  files: [auth.conf=nats/auth.conf]"
  for id in ingest infer score judge report admin; do
    echo "- name: assay-nkey-$id"
    echo "  files: [seed=nats/$id.nk]"
  done
  echo "- name: assay-intake-tokens"
  echo "  files: [tokens=intake-tokens]"
  echo "- name: assay-endpoint-keys"
  keys=$(cd "$dir/endpoint-keys" && find . -maxdepth 1 -type f -printf '%f\n' | sort)
  if [ -z "$keys" ]; then
    echo "  literals: []"
  else
    echo "  files:"
    for k in $keys; do
      echo "  - $k=endpoint-keys/$k"
    done
  fi
} > "$dir/kustomization.yaml"
echo "secrets in $dir: kubectl apply -k $dir"
