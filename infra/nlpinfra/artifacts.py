"""Layer zips built by ``python -m nlpbuild layers`` and the synth-time size checks.

Every zip ``<name>.zip`` has a sidecar ``<name>.zip.json`` with at least ``sha256``, ``zipped_bytes`` and
``unzipped_bytes``. The stack reads the sidecars (never unzips 40+ MB files) to check Lambda's quotas
before anything is deployed:

* function code + all its layers, unzipped, <= 250 MB (262,144,000 bytes);
* at most 5 layers per function.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Lambda quota: deployment package + layers, unzipped (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
LAMBDA_MAX_LAYERS = 5

BUILD_COMMAND = "python -m nlpbuild layers"

#: Files left out of the function code asset (and of its size).
CODE_EXCLUDES = [
    "**/__pycache__",
    "**/*.pyc",
    "**/*.pyo",
    "**/.pytest_cache",
    "**/*.egg-info",
    "**/.DS_Store",
]


class ArtifactError(RuntimeError):
    """A layer zip or its sidecar is missing or malformed, or a function would exceed a Lambda quota."""


@dataclass(frozen=True)
class LayerArtifact:
    name: str  # e.g. "runtime-py312-arm64" or "model-ner"
    zip_path: Path
    sha256: str
    zipped_bytes: int
    unzipped_bytes: int


def runtime_layer_name(python_version: str, architecture: str) -> str:
    return f"runtime-py{python_version.replace('.', '')}-{architecture}"  # as nlpbuild.layers names it


def model_layer_name(bundle: str) -> str:
    return f"model-{bundle}"


def load_layer(layers_dir: Path, name: str) -> LayerArtifact:
    """Read ``<layers_dir>/<name>.zip`` and its sidecar, failing with the command that builds them."""
    zip_path = Path(layers_dir) / f"{name}.zip"
    sidecar = zip_path.with_name(zip_path.name + ".json")
    hint = (
        f"Build the layers first, from the repository root: `{BUILD_COMMAND}` "
        f"(or point the 'layers_dir' context/config key at a directory that holds them)."
    )
    if not zip_path.is_file():
        raise ArtifactError(f"Layer zip not found: {zip_path}. {hint}")
    if not sidecar.is_file():
        raise ArtifactError(f"Layer sidecar not found: {sidecar} (next to {zip_path.name}). {hint}")
    try:
        meta = json.loads(sidecar.read_text())
        return LayerArtifact(
            name=name,
            zip_path=zip_path,
            sha256=str(meta["sha256"]),
            zipped_bytes=int(meta["zipped_bytes"]),
            unzipped_bytes=int(meta["unzipped_bytes"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(
            f"Layer sidecar {sidecar} is malformed ({exc!r}); it needs sha256, zipped_bytes, unzipped_bytes. {hint}"
        ) from exc


def directory_size(path: Path, excludes: Iterable[str] = CODE_EXCLUDES) -> int:
    """Bytes of the files CDK will package from ``path`` (approximating its exclude globs)."""
    skip_dirs = {"__pycache__", ".pytest_cache"}
    skip_suffixes = (".pyc", ".pyo", ".DS_Store")
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in skip_dirs and not d.endswith(".egg-info")]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if not f.endswith(skip_suffixes))
    return total


#: Where a function's code asset carries extra model bundles (custom classifiers): /var/task/models in Lambda.
CODE_MODELS_DIR = "models"


def stage_code_with_bundles(code_dir: Path, dest: Path, dirs: dict[str, Path] | None = None,
                            zips: dict[str, Path] | None = None) -> Path:
    """A copy of ``code_dir`` (without CODE_EXCLUDES) at ``dest`` (replaced), with model bundles under
    ``models/<bundle>/``: copied from ``dirs`` (custom classifiers, from the models directory) or extracted from
    their layer zips (``zips``: ``models/<bundle>/...`` inside). The code asset of a function that carries
    bundles beyond its layer slots. Raises ArtifactError naming the command that writes a missing bundle."""
    import shutil
    import zipfile

    dirs, zips = dirs or {}, zips or {}
    for bundle, path in dirs.items():
        if not (Path(path) / "manifest.json").is_file():
            model = bundle.split("-", 1)[-1]
            if not bundle.startswith("classify-"):  # a seq2seq bundle the user brings
                raise ArtifactError(f"seq2seq bundle {path} not found: build it from your checkpoint with "
                                    f"`python -m nlpbuild seq2seq <checkpoint dir> --task {bundle.split('-', 1)[0]} "
                                    "...` (README: Translation and abstractive summaries)")
            raise ArtifactError(f"custom classifier bundle {path} not found: train it with "
                                f"`nlpserve train classifier <labelled file> --name {model}`")
    dest = Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(code_dir, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache",
                                                                   "*.egg-info", ".DS_Store"))
    for bundle, path in dirs.items():
        shutil.copytree(path, dest / CODE_MODELS_DIR / bundle)
    for bundle, zip_path in zips.items():
        with zipfile.ZipFile(zip_path) as zf:
            members = [m for m in zf.namelist() if m.startswith(f"models/{bundle}/")]
            if not members:
                raise ArtifactError(f"{zip_path} holds no models/{bundle}/: rebuild it with `{BUILD_COMMAND}`")
            for member in members:
                zf.extract(member, dest)  # models/<bundle>/... lands at dest/models/<bundle>/...
    return dest


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def check_function_size(function: str, code_bytes: int, layers: Iterable[LayerArtifact]) -> int:
    """Raise ``ArtifactError`` if code + layers exceed Lambda's unzipped limit or layer count; return total."""
    layers = list(layers)
    if len(layers) > LAMBDA_MAX_LAYERS:
        raise ArtifactError(
            f"Function '{function}' would have {len(layers)} layers; Lambda allows {LAMBDA_MAX_LAYERS}."
        )
    total = code_bytes + sum(layer.unzipped_bytes for layer in layers)
    if total > LAMBDA_UNZIPPED_LIMIT_BYTES:
        parts = ", ".join(f"{layer.name} {_mb(layer.unzipped_bytes)}" for layer in layers)
        raise ArtifactError(
            f"Function '{function}' exceeds Lambda's unzipped size limit: {_mb(total)} > "
            f"{_mb(LAMBDA_UNZIPPED_LIMIT_BYTES)} (code {_mb(code_bytes)}; layers: {parts}). "
            "Enable fewer tasks for the batch function, or slim the layers; a seq2seq model you bring can stay "
            "out of the batch function with seq2seq_batch=false."
        )
    return total
