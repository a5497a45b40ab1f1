"""Where bundles live, and one cached Bundle per name per process."""

from __future__ import annotations

import threading
from pathlib import Path

from nlpserve import config
from nlpserve.errors import ModelUnavailable
from nlpserve.runtime.bundle import Bundle
from nlpserve.runtime.manifest import Manifest
from nlpserve.runtime.seq2seq import Seq2SeqBundle

_cache: dict[str, Bundle | Seq2SeqBundle] = {}
_lock = threading.Lock()


def _roots() -> tuple[Path, ...]:
    return (config.settings.models_dir, *config.settings.extra_models_dirs)


def bundle_dir(name: str) -> Path:
    """Where bundle ``name`` is: the first of ``models_dir`` and ``extra_models_dirs`` that holds it (else
    ``models_dir / name``, which does not exist)."""
    for root in _roots():
        if (root / name / "manifest.json").is_file():
            return root / name
    return config.settings.models_dir / name


def available_bundles() -> list[str]:
    """Names of the bundles in every models directory."""
    return sorted({p.name for root in _roots() if root.is_dir() for p in root.iterdir()
                   if (p / "manifest.json").is_file()})


def load_bundle(name: str) -> Bundle | Seq2SeqBundle:
    """Load once; later calls (every warm Lambda invocation) reuse the session. A ``seq2seq`` bundle loads as a
    ``Seq2SeqBundle``, every other kind as a ``Bundle``; ModelUnavailable (503) when no models directory has it."""
    bundle = _cache.get(name)
    if bundle is not None:
        return bundle
    with _lock:
        if name not in _cache:
            path = bundle_dir(name)
            if not (path / "manifest.json").is_file():
                raise ModelUnavailable(
                    f"model bundle '{name}' is not available in {', '.join(map(str, _roots()))}",
                    details=[{"bundle": name, "hint": "build it with `nlpserve build models` or attach its layer"}],
                )
            kind = Manifest.load(path).kind
            loader = Seq2SeqBundle if kind == "seq2seq" else Bundle
            _cache[name] = loader(path, threads=config.settings.threads, spin=config.settings.spin_threads)
        return _cache[name]


def loaded_bundles() -> list[str]:
    return sorted(_cache)


def clear_cache() -> None:
    _cache.clear()
