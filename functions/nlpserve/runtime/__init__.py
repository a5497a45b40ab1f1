"""Model runtime: bundles (ONNX session + tokenizer + manifest) and where to find them."""

from nlpserve.runtime.bundle import WINDOW_OVERLAP, Bundle, EncodedText, plan_windows
from nlpserve.runtime.manifest import Manifest
from nlpserve.runtime.registry import available_bundles, load_bundle

__all__ = ["WINDOW_OVERLAP", "Bundle", "EncodedText", "Manifest", "available_bundles", "load_bundle", "plan_windows"]
