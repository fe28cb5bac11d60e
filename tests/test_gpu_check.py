"""`benchmarks/gpu_check.sh`: the parts a CPU machine can check (syntax, failing loudly without CUDA and,
marked slow, the whole script as a CPU dry run on a small world)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
VENV = Path(sys.executable).parent.parent  # the venv running the tests: its bin/ holds kvqae


def _run(tmp_path: Path, timeout: int, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "KVQAE_VENV": str(VENV), "KVQAE_GPU_CHECK_DIR": str(tmp_path / "work"), **env}
    if "KVQAE_GPU_CHECK_DEVICE" not in env:  # default: cuda
        full_env.pop("KVQAE_GPU_CHECK_DEVICE", None)
    return subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def test_gpu_check_script_parses():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text


def _no_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the script would run for real")


def test_gpu_check_fails_loudly_when_torch_has_no_cuda(tmp_path):
    _no_cuda()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\necho 'fake nvidia-smi'\n")
    (fake / "nvidia-smi").chmod(0o755)
    res = _run(tmp_path, 120, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "fake nvidia-smi" in res.stdout
    assert "torch.cuda.is_available() is False" in res.stderr
    assert "GPU CHECK FAILED: CUDA is not usable from torch" in res.stderr
    assert not (tmp_path / "work" / "world").exists()  # stopped before any work


def test_gpu_check_fails_loudly_when_nvidia_smi_fails(tmp_path):
    _no_cuda()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    (fake / "nvidia-smi").chmod(0o755)
    res = _run(tmp_path, 60, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}")
    assert res.returncode == 1 and "GPU CHECK FAILED: nvidia-smi failed" in res.stderr
    if shutil.which("nvidia-smi") is None:  # and with no nvidia-smi at all
        res = _run(tmp_path, 60)
        assert res.returncode == 1 and "GPU CHECK FAILED: nvidia-smi not found" in res.stderr


@pytest.mark.slow
def test_gpu_check_cpu_dry_run_trains_kills_resumes_and_encodes(tmp_path):
    # minutes on a shared 2-core machine: eight processes each load torch and transformers
    res = _run(
        tmp_path,
        1500,
        KVQAE_GPU_CHECK_DEVICE="cpu",
        KVQAE_GPU_CHECK_ENTITIES="120",
        KVQAE_GPU_CHECK_IMAGE_SIZE="32",
        KVQAE_GPU_CHECK_PRESET="tiny",
        KVQAE_GPU_CHECK_BATCH="8",
        KVQAE_GPU_CHECK_ENCODE_REPEAT="2",
    )
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    assert "killed (exit 137)" in out and "resumed from the checkpoint after epoch 2" in out
    assert "precision fp32, resumed after epoch 1" in out and "encode throughput:" in out
    assert "GPU CHECK PASSED (cpu)" in out
