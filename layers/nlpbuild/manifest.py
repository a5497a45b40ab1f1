"""Bundle manifests: content hashes, the build-input hash used for caching, and writing manifest.json.

The manifest has no timestamps (``build.built_at`` is null) so two builds from the same inputs produce
the same manifest. ``build.inputs_sha256`` hashes the source files, the recipe parameters, the builder
version and the builder's own source; a bundle whose manifest carries the same hash and whose files
still match their sha256 is reused as is ("cached").
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

BUILDER_VERSION = "0.1.0"
BUILDER = f"nlpbuild {BUILDER_VERSION}"
# Builder modules whose code shapes the model bundles (evaluate.py chooses the
# served oos threshold and scores the held-out sets into the manifests; layers.py & co. are deliberately excluded).
_BUILDER_MODULES = ("export.py", "heads.py", "onnxgraph.py", "simplify.py", "quantize.py", "optimize.py",
                    "parity.py", "manifest.py", "recipes.py", "sources.py", "lora.py", "evaluate.py")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_entry(path: Path) -> dict:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def inputs_sha256(files: list[Path], params: dict) -> str:
    """sha256 over (name, content hash) of every input file + canonical JSON of params + builder code."""
    h = hashlib.sha256()
    h.update(BUILDER.encode())
    here = Path(__file__).parent
    for mod in _BUILDER_MODULES:
        p = here / mod
        if p.is_file():
            h.update(f"code:{mod}:{sha256_file(p)}\n".encode())
    for f in sorted({Path(f) for f in files}, key=lambda p: (p.name, str(p))):
        h.update(f"file:{f.name}:{sha256_file(f)}\n".encode())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()


def is_cached(bundle_dir: Path, inputs_hash: str) -> bool:
    """True when the bundle was built from the same inputs and its files are intact."""
    mpath = bundle_dir / "manifest.json"
    if not mpath.is_file():
        return False
    try:
        manifest = json.loads(mpath.read_text())
    except ValueError:
        return False
    if manifest.get("build", {}).get("inputs_sha256") != inputs_hash:
        return False
    files = manifest.get("files") or {}
    if not files:
        return False
    for name, entry in files.items():
        p = bundle_dir / name
        if not p.is_file() or p.stat().st_size != entry.get("bytes") or sha256_file(p) != entry.get("sha256"):
            return False
    return True


def write_manifest(bundle_dir: Path, fields: dict, inputs_hash: str) -> dict:
    """Write manifest.json: the given fields + file hashes of every other file in the bundle dir."""
    files = {p.name: file_entry(p) for p in sorted(bundle_dir.iterdir())
             if p.is_file() and p.name != "manifest.json"}
    manifest = {
        "name": fields["name"],
        "version": fields.get("version", "1.0.0"),
        "kind": fields["kind"],
        "model_file": "model.onnx",
        "tokenizer_file": "tokenizer.json",
        "inputs": fields["inputs"],
        "output": fields["output"],
        "max_length": fields["max_length"],
        "labels": fields.get("labels"),
        "embedding_dim": fields.get("embedding_dim"),
        **({"oos_threshold": fields["oos_threshold"]} if fields.get("oos_threshold") is not None else {}),
        **({"token_types": fields["token_types"]} if fields.get("token_types", "segment") != "segment" else {}),
        "description": fields["description"],
        "source": fields["source"],
        "quantization": fields.get("quantization"),
        "quality": fields.get("quality", {}),
        "files": files,
        "build": {"inputs_sha256": inputs_hash, "builder": BUILDER, "built_at": None},
    }
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest
