#!/usr/bin/env bash
# GPU check of kvqae's CLIP trainer and encoder, in a few minutes on one GPU. Run from the repository root:
#
#   bash benchmarks/gpu_check.sh            # needs CUDA: fails at once, saying why, when there is none
#
# 1. prints nvidia-smi and torch.cuda (device, capability, memory, bf16) and runs a bf16 matmul on the GPU;
# 2. generates a synthetic world (`kvqae world`), builds its KB and a small random CLIP;
# 3. `kvqae train clip` (mono, --precision bf16 on CUDA, 3 epochs): once two epoch checkpoints exist, the
#    run is killed (SIGKILL, by its `timeout -s KILL`) halfway through epoch 3; the rerun must resume from
#    the checkpoint and finish: 3 epochs, all steps, bf16 recorded in kvqae_train.json;
# 4. GPU encoding throughput: `kvqae encode questions` of the world's question images, 5 times over (img/s,
#    end to end and marginal: minus a run on the validation questions, which costs the same start-up).
#
# Environment: KVQAE_GPU_CHECK_DEVICE (cuda; "cpu" = a CPU dry run of the same steps, fp32, for tests),
# KVQAE_GPU_CHECK_ENTITIES (1000), KVQAE_GPU_CHECK_IMAGE_SIZE (64), KVQAE_GPU_CHECK_PRESET (small CLIP),
# KVQAE_GPU_CHECK_BATCH (64), KVQAE_GPU_CHECK_ENCODE_REPEAT (5), KVQAE_GPU_CHECK_DIR (work folder; default:
# a new /tmp folder), KVQAE_VENV (.venv; `make setup` builds it when it is missing).
# Exit status 0 only if every check passed; "GPU CHECK FAILED: <why>" on stderr otherwise.
set -euo pipefail

DEVICE=${KVQAE_GPU_CHECK_DEVICE:-cuda}
ENTITIES=${KVQAE_GPU_CHECK_ENTITIES:-1000}
IMAGE_SIZE=${KVQAE_GPU_CHECK_IMAGE_SIZE:-64}
PRESET=${KVQAE_GPU_CHECK_PRESET:-small}
BATCH=${KVQAE_GPU_CHECK_BATCH:-64}
REPEAT=${KVQAE_GPU_CHECK_ENCODE_REPEAT:-5}
VENV=${KVQAE_VENV:-.venv}
EPOCHS=3

fail() { echo "GPU CHECK FAILED: $*" >&2; exit 1; }
step() { echo; echo "== $(date +%T) $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

[ -f pyproject.toml ] && [ -d src/kvqae ] || fail "run from the kvqae repository root"
if [ ! -x "$VENV/bin/kvqae" ]; then
    step "no $VENV/bin/kvqae: make setup"
    timeout 900 make setup
fi
PY="$VENV/bin/python"
KVQAE="$VENV/bin/kvqae"
WORK=${KVQAE_GPU_CHECK_DIR:-$(mktemp -d /tmp/kvqae-gpu-check.XXXXXX)}
mkdir -p "$WORK"
echo "work folder: $WORK (device $DEVICE)"

# --- 1. the GPU ------------------------------------------------------------------------------------------
if [[ $DEVICE == cuda* ]]; then
    PRECISION=bf16
    step "nvidia-smi"
    command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no NVIDIA driver on this machine"
    timeout 60 nvidia-smi || fail "nvidia-smi failed"
    step "torch.cuda"
    timeout 120 "$PY" - "$DEVICE" <<'EOF' || fail "CUDA is not usable from torch (see above)"
import sys

import torch

device = sys.argv[1]
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
if not torch.cuda.is_available():
    sys.exit(f"torch.cuda.is_available() is False (a CPU build of torch? CUDA build: {torch.version.cuda}); "
             "install a CUDA build of the pinned torch")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name}, capability {p.major}.{p.minor}, {p.total_memory / 2**30:.1f} GiB, "
          f"{p.multi_processor_count} SMs")
print(f"bf16 supported: {torch.cuda.is_bf16_supported()}")
a = torch.randn(1024, 1024, device=device)
with torch.autocast("cuda", dtype=torch.bfloat16):
    c = a @ a
torch.cuda.synchronize()
assert c.dtype == torch.bfloat16 and torch.isfinite(c).all(), "bf16 matmul failed"
print("bf16 autocast matmul on", device, "ok")
EOF
else
    PRECISION=fp32
    step "KVQAE_GPU_CHECK_DEVICE=$DEVICE: dry run on $DEVICE (fp32), no GPU is checked"
fi

# --- 2. data and start model -----------------------------------------------------------------------------
step "world ($ENTITIES entities, ${IMAGE_SIZE}px), KB, start CLIP ($PRESET)"
timeout 600 "$KVQAE" world --out "$WORK/world" --entities "$ENTITIES" --image-size "$IMAGE_SIZE" \
    --no-progress --overwrite
timeout 600 "$KVQAE" kb build "$WORK/world/articles.jsonl" --out "$WORK/kb" --no-progress --overwrite
timeout 300 "$PY" -c "import sys; from kvqae.encode.small_clip import build_small_clip as b; \
b(sys.argv[1], sys.argv[2], seed=0)" "$WORK/clip-init" "$PRESET"
cat > "$WORK/train.yaml" <<EOF
mode: mono
model: $WORK/clip-init
kb: $WORK/kb
questions: $WORK/world/questions_train.jsonl
validation_questions: $WORK/world/questions_validation.jsonl
output_dir: $WORK/clip-mono
lr: 1.0e-3
warmup_steps: 10
epochs: $EPOCHS
batch_size: $BATCH
seed: 0
EOF

# --- 3. train, kill mid-epoch, resume --------------------------------------------------------------------
TRAIN=(train clip "$WORK/train.yaml" --device "$DEVICE" --precision "$PRECISION" --no-progress --overwrite)
STATE="$WORK/clip-mono.work/checkpoint/state.pt"
step "kvqae ${TRAIN[*]} (to be killed in epoch 3)"
START=$(now)
# `timeout -s KILL` is the hard limit of this run and also the kill switch: SIGALRM makes it time out at
# once, i.e. SIGKILL the training (no handler, no cleanup: like a crash or a lost machine)
timeout -s KILL 900 "$KVQAE" "${TRAIN[@]}" >"$WORK/train1.log" 2>&1 &
RUN=$!
inode() { stat -c %i "$STATE" 2>/dev/null || echo none; }
seen=none T1="" T2=""
while kill -0 "$RUN" 2>/dev/null; do
    cur=$(inode)
    if [ "$cur" != "$seen" ] && [ "$cur" != none ]; then  # atomic_dir: each epoch's checkpoint is a new file
        seen=$cur
        if [ -z "$T1" ]; then T1=$(now); echo "epoch 1 checkpoint at +$(elapsed "$START" "$T1") s"
        else T2=$(now); break; fi
    fi
    sleep 0.05
done
[ -n "$T2" ] || { cat "$WORK/train1.log"; fail "the run ended before its second checkpoint"; }
EPOCH_S=$(elapsed "$T1" "$T2")
echo "epoch 2 checkpoint at +$(elapsed "$START" "$T2") s: one epoch (+ validation) takes $EPOCH_S s"
sleep "$(awk -v e="$EPOCH_S" 'BEGIN { printf "%.2f", e / 2 }')"
kill -ALRM "$RUN" 2>/dev/null || true
KILLED=$(now)
rc=0
wait "$RUN" || rc=$?
cat "$WORK/train1.log"
[ "$rc" -eq 137 ] || [ "$rc" -eq 124 ] || fail "the first run was not killed (exit $rc): it finished first?"
[ ! -e "$WORK/clip-mono/kvqae_train.json" ] || fail "the first run had finished before the kill"
CKPT_EPOCH=$("$PY" -c "import sys, torch; \
print(torch.load(sys.argv[1], map_location='cpu', weights_only=False)['epoch'])" "$STATE")  # 0-based
echo "killed (exit $rc) $(elapsed "$T2" "$KILLED") s into epoch $((CKPT_EPOCH + 2))" \
    "; the checkpoint holds epoch $((CKPT_EPOCH + 1))"

step "kvqae ${TRAIN[*]} (resume)"
START=$(now)
timeout -s KILL 900 "$KVQAE" "${TRAIN[@]}" 2>&1 | tee "$WORK/train2.log"
echo "resumed run: $(elapsed "$START" "$(now)") s"
grep -q "resumed from the checkpoint after epoch $((CKPT_EPOCH + 1))" "$WORK/train2.log" \
    || fail "the rerun did not resume from the checkpoint"
timeout 60 "$PY" - "$WORK/clip-mono/kvqae_train.json" "$EPOCHS" "$PRECISION" "$CKPT_EPOCH" <<'EOF' \
    || fail "the resumed run's kvqae_train.json is wrong (see above)"
import json
import math
import sys

log = json.load(open(sys.argv[1]))
epochs, precision, resumed = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
hist = log["history"]
per_epoch = hist[0]["steps"]
print(f"epochs {[h['epoch'] for h in hist]}, steps {log['steps']} ({per_epoch}/epoch), precision "
      f"{log['precision']}, resumed after epoch {log['resumed_after_epoch']}")
print("losses", [round(h["loss_contrastive"], 4) for h in hist],
      "val MRR", [round(h["val_mrr"], 4) for h in hist])
assert [h["epoch"] for h in hist] == list(range(epochs)), "not every epoch ran once"
assert log["steps"] == epochs * per_epoch, "steps missing"
assert log["precision"] == precision, f"precision {log['precision']}, expected {precision}"
assert log["resumed_after_epoch"] == resumed, "resumed from another epoch"
assert all(math.isfinite(h["loss_contrastive"]) for h in hist), "non-finite loss"
EOF

# --- 4. encoding throughput ------------------------------------------------------------------------------
step "kvqae encode questions (images) on $DEVICE"
# every question image of the world, REPEAT times (ids made unique): enough images that the encoding itself,
# not the process start-up and model load, is measured
timeout 120 "$PY" - "$WORK/world" "$REPEAT" <<'EOF'
import json
import sys
from pathlib import Path

world, repeat = Path(sys.argv[1]), int(sys.argv[2])
splits = ("train", "validation", "test")
rows = [json.loads(line) for s in splits for line in open(world / f"questions_{s}.jsonl")]
with open(world / "questions_all.jsonl", "w") as out:
    for r in range(repeat):
        for row in rows:
            out.write(json.dumps({**row, "id": f"{row['id']}-r{r}"}) + "\n")
EOF
declare -A SECONDS_FOR
for name in validation all; do
    START=$(now)
    timeout 600 "$KVQAE" encode questions "$WORK/world/questions_$name.jsonl" \
        --encoder "clip:$WORK/clip-mono" --field image --out "$WORK/emb-$name" --device "$DEVICE" \
        --batch-size 256 --no-progress --overwrite
    SECONDS_FOR[$name]=$(elapsed "$START" "$(now)")
done
N_VAL=$(wc -l < "$WORK/world/questions_validation.jsonl")
N_ALL=$(wc -l < "$WORK/world/questions_all.jsonl")
awk -v nv="$N_VAL" -v na="$N_ALL" -v tv="${SECONDS_FOR[validation]}" -v ta="${SECONDS_FOR[all]}" 'BEGIN {
    printf "encode: %d images in %.1f s, %d in %.1f s (both with start-up, model load)\n", nv, tv, na, ta
    printf "encode throughput: %.0f img/s end to end (%d images)\n", na / ta, na
    if (ta > tv)
        printf "encode throughput: %.0f img/s marginal ((%d - %d) images / (%.1f - %.1f) s)\n",
            (na - nv) / (ta - tv), na, nv, ta, tv
    else print "encode throughput: marginal n/a (the larger run was not slower: start-up dominates)" }'
step "GPU CHECK PASSED ($DEVICE): bf16/fp32 training ($PRECISION), kill + resume, encoding"
