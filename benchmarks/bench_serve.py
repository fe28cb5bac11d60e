"""Load test of `kvqae serve`: 1,000 POST /api/ask at concurrency 16 against a real uvicorn on 127.0.0.1.

Starts `kvqae serve BUNDLE` as a subprocess (the command users run), waits for /health, then:
1. baseline: the same questions answered in this process by `Answerer.ask` (no HTTP), one at a time;
2. served, one request at a time (latency without queueing);
3. served, `--requests` requests at `--concurrency` (bounded in count and in `--max-seconds`).
It reports errors (goal 0), q/s, p50/p95 client latency, the p50 of every server-side stage
(`timings_ms`), and checks that the served answers equal `kvqae ask --json` on the same inputs.
Goals on 2 cores with the demo bundle: p50 <= 150 ms for retrieval + fusion (encode + search + fusion),
p50 <= 600 ms including reading the top 8 passages (server-side time per request).

    python benchmarks/bench_serve.py [--bundle demo-output] [--requests 1000] [--concurrency 16] [--top-k 8]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

KVQAE = str(Path(sys.executable).with_name("kvqae"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(bundle: Path, port: int, top_k: int) -> subprocess.Popen:
    cmd = [KVQAE, "serve", str(bundle), "--port", str(port), "--top-k", str(top_k)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import httpx

    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"kvqae serve exited: {proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("kvqae serve did not answer /health within 180 s")


def load_inputs(bundle: Path, n: int) -> list[tuple[str, str, bytes]]:
    """(question, image path, image bytes) of up to `n` evaluation questions with images."""
    from kvqae.ask.bundle import load_bundle
    from kvqae.ask.gallery import pick_examples
    from kvqae.data.questions import load_questions

    spec = load_bundle(bundle)
    if spec.examples is None:
        raise SystemExit("the bundle names no evaluation questions")
    chosen = pick_examples(load_questions(spec.examples), n)
    return [(q.question, q.image, Path(q.image).read_bytes()) for q in chosen]


def post(client, url: str, item: tuple[str, str, bytes]) -> tuple[int, float, dict]:
    question, path, data = item
    t0 = time.perf_counter()
    resp = client.post(url, data={"question": question}, files={"image": (Path(path).name, data)})
    latency = time.perf_counter() - t0
    body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    return resp.status_code, latency, body


def served(url: str, inputs: list, n: int, concurrency: int, max_seconds: float) -> dict:
    """`n` requests cycling over `inputs` at `concurrency`; stops submitting after `max_seconds`."""
    import httpx

    results: list[tuple[int, float, dict]] = []
    deadline = time.perf_counter() + max_seconds
    limits = httpx.Limits(max_connections=concurrency)
    with httpx.Client(timeout=120, limits=limits) as client, ThreadPoolExecutor(concurrency) as pool:

        def one(i: int):
            if time.perf_counter() > deadline:
                return None
            try:
                return post(client, url, inputs[i % len(inputs)])
            except httpx.HTTPError as e:
                return (-1, 0.0, {"error": str(e)})

        t0 = time.perf_counter()
        for r in pool.map(one, range(n)):
            if r is not None:
                results.append(r)
        wall = time.perf_counter() - t0
    return {"results": results, "wall": wall}


def stage_p50(results: list) -> dict[str, float]:
    stages: dict[str, list[float]] = {}
    for status, _, body in results:
        if status == 200:
            timings = body["timings_ms"]
            for k, v in timings.items():
                stages.setdefault(k, []).append(v)
            retrieval = sum(
                v for k, v in timings.items() if k.startswith(("encode", "search")) or k == "fusion"
            )
            stages.setdefault("retrieval + fusion", []).append(retrieval)
    return {k: float(np.median(v)) for k, v in stages.items()}


def summary(name: str, run: dict) -> dict:
    res = run["results"]
    ok = [r for r in res if r[0] == 200]
    lat = np.array([r[1] for r in ok]) * 1000 if ok else np.zeros(1)
    return {"name": name, "requests": len(res), "errors": len(res) - len(ok), "qps": len(res) / run["wall"],
            "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)),
            "stages": stage_p50(res)}


def cli_answers(bundle: Path, inputs: list, top_k: int) -> list[dict]:
    out = []
    for question, path, _ in inputs:
        cmd = [KVQAE, "ask", str(bundle), "--image", path, "-q", question, "--json", "--top-k", str(top_k)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out.append(json.loads(proc.stdout))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("demo-output"))
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--max-seconds", type=float, default=600.0)
    ap.add_argument("--questions", type=int, default=24, help="distinct questions cycled over")
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--check", type=int, default=3, help="inputs compared with `kvqae ask --json`")
    args = ap.parse_args()

    inputs = load_inputs(args.bundle, args.questions)
    print(f"bundle {args.bundle}: {len(inputs)} distinct questions, reader top-{args.top_k}")

    from PIL import Image

    from kvqae.ask.answer import Answerer

    answerer = Answerer.load(args.bundle, top_k=args.top_k)
    answerer.ask(inputs[0][0], Image.open(inputs[0][1]))  # warm-up
    base_lat = []
    for question, path, _ in inputs:
        t0 = time.perf_counter()
        answerer.ask(question, Image.open(path))
        base_lat.append((time.perf_counter() - t0) * 1000)
    del answerer

    port = free_port()
    url = f"http://127.0.0.1:{port}/api/ask"
    proc = start_server(args.bundle, port, args.top_k)
    try:
        served(url, inputs, 4, 1, 60)  # warm-up
        single = summary("served, 1 at a time", served(url, inputs, len(inputs), 1, args.max_seconds))
        loaded_run = served(url, inputs, args.requests, args.concurrency, args.max_seconds)
        loaded = summary(f"served, concurrency {args.concurrency}", loaded_run)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    base_p50 = float(np.median(base_lat))
    print(f"\n{'run':<26} {'requests':>8} {'errors':>6} {'q/s':>7} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'in-process Answerer.ask':<26} {len(base_lat):>8} {0:>6} {1000 / np.mean(base_lat):>7.1f} "
          f"{base_p50:>8.1f} {np.percentile(base_lat, 95):>8.1f}")
    for s in (single, loaded):
        print(f"{s['name']:<26} {s['requests']:>8} {s['errors']:>6} {s['qps']:>7.1f} {s['p50_ms']:>8.1f} "
              f"{s['p95_ms']:>8.1f}")
    print(f"\nserved / in-process p50 (one at a time): {single['p50_ms'] / base_p50:.2f}x")
    print("\nserver-side p50 per stage (ms), under load:")
    for k, v in loaded["stages"].items():
        print(f"  {k:<24} {v:8.1f}")
    rf = loaded["stages"].get("retrieval + fusion", float("nan"))
    total = loaded["stages"].get("total", float("nan"))
    print(f"\ngoal retrieval + fusion p50 <= 150 ms: {rf:.1f} ms ({'met' if rf <= 150 else 'NOT met'})")
    print(f"goal total incl. reading top-{args.top_k} p50 <= 600 ms: {total:.1f} ms "
          f"({'met' if total <= 600 else 'NOT met'})")
    print(f"goal 0 errors: {loaded['errors']} ({'met' if loaded['errors'] == 0 else 'NOT met'})")

    # served answers == `kvqae ask` on the same inputs
    reference = cli_answers(args.bundle, inputs[: args.check], args.top_k)
    by_question: dict[str, dict] = {}
    for status, _, body in loaded_run["results"]:
        if status == 200:
            by_question.setdefault(body["question"], body)
    same = 0
    for ref in reference:
        got = by_question.get(ref["question"])
        if got and got["answer"] == ref["answer"] and [h["id"] for h in got["fused"]] == [
            h["id"] for h in ref["fused"]
        ]:
            same += 1
    print(f"answers equal to `kvqae ask --json`: {same}/{len(reference)}")
    if loaded["errors"] or same != len(reference):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
