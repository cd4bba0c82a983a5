#!/usr/bin/env bash
# One GPU lease: train Study A and paper B's quick tables (scripts/gpu_lease.py), then time
# training steps of the study's paper-preset networks on the idle GPU.
# Run from the repository root with the training images under $SRDISTILL_DATA and the
# results folder as $1 (the device tool's $OUT). Usage: bash scripts/gpu_lease.sh OUT [deadline_s] [commit]
set -u
out=${1:?results folder}; deadline=${2:-400}
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
# The commit this tree was made from (the copy may carry no history): pass it as $3.
[ -n "${3:-}" ] && export SRDISTILL_GIT_COMMIT=$3
py=${PYTHON:-python3}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
$py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/gpu.txt"
$py scripts/gpu_lease.py --parallel "${PARALLEL:-12}" --deadline "$deadline" --pack "$out" \
  2>&1 | tee "$out/lease.log"
tar -cf "$out/logs.tar" runs/gpu_lease_logs 2>/dev/null
# Step times of the paper preset (64 features, batch 16, 96-px HR patches; T91+BSD200 here),
# one process alone on the GPU: 200 steps each, the median of the logged intervals.
common=(--preset paper -o "data.train=[T91,BSD200]" -o train.steps=200 -o train.log_every=25
  -o train.val_every=100000 -o train.ckpt_every=200 -o train.progress=false -o train.threads=4
  -o output_dir=runs/gpu_timing)
for run in "teacher:study_a/teacher.yaml" "student:study_a/student.yaml" \
  "multi_exit:study_a/multi_exit.yaml:self_distill.init_from=runs/gpu_timing/teacher_seed0" \
  "kd:study_a/kd.yaml:kd.teacher=runs/gpu_timing/teacher_seed0"; do
  IFS=: read -r name cfg extra <<<"$run"
  $py -m srdistill.cli train "src/srdistill/configs/$cfg" "${common[@]}" -o "name=${name}_seed0" \
    ${extra:+-o "$extra"} >"$out/timing_$name.log" 2>&1 || echo "timing $name failed" >>"$out/gpu.txt"
done
$py - <<'PY' | tee -a "$out/gpu.txt"
import json, statistics, pathlib
for d in sorted(pathlib.Path("runs/gpu_timing").glob("*_seed0")):
    rows = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]
    t = [r["sec_per_step"] for r in rows if "sec_per_step" in r][1:]  # first: warm-up
    print(f"paper preset {d.name}: {1000 * statistics.median(t):.1f} ms/step (median of {len(t)})")
PY
