#!/usr/bin/env bash
# Imports every network of the pretrained catalog and scores it through `srdistill eval`
# (PSNR/SSIM on Y, scale-pixel border cut) on the sets its authors published; the results
# are in docs/results/imported.md. Usage: bash benchmarks/imported_networks.sh [out folder]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/imported}
mkdir -p "$out"
run() {  # name, scale, sets
  local name=$1 scale=$2 sets=$3 file="$out/$1.safetensors"
  [ -f "$file" ] || .venv/bin/srdistill weights import "$name" -o "$file" --scale "$scale"
  .venv/bin/srdistill eval "$file" --scale "$scale" --sets "$sets" --out "$out/eval_$name" --overwrite
}
run IMDN_x4 4 Set5,Set14,BSD100,Urban100
run carn_m 4 Set5,Set14,BSD100,Urban100
run RFDN_AIM 4 Set5,Set14,BSD100,Urban100
run IMDN_x3 3 Set5,Set14,BSD100
run IMDN_x2 2 Set5,Set14,BSD100
