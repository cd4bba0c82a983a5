#!/usr/bin/env bash
# Copies `srdistill reproduce` outputs (tables, figures and each run's records: config,
# run.json, status, metrics) into docs/results/reproduce/, leaving out checkpoints and
# TensorBoard files, so the links in the tables resolve inside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:-reproduce}"
dest=docs/results/reproduce
mkdir -p "$dest"
cp "$src"/*.md "$src"/*.csv "$src"/*.png "$dest"/ 2>/dev/null || true
for run in "$src"/runs/*/*/; do
    status="$run/status.json"
    [ -f "$status" ] && grep -q '"complete"' "$status" || continue
    out="$dest/${run#"$src"/}"
    mkdir -p "$out"
    for f in config.yaml run.json status.json metrics.jsonl; do
        [ -f "$run/$f" ] && cp "$run/$f" "$out/"
    done
done
echo "published to $dest"
