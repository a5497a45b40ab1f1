"""Model runtime: bundles (ONNX session + tokenizer + manifest) and where to find them."""

from nlpserve.runtime.bundle import Bundle, EncodedText
from nlpserve.runtime.manifest import Manifest
from nlpserve.runtime.registry import available_bundles, load_bundle

__all__ = ["Bundle", "EncodedText", "Manifest", "available_bundles", "load_bundle"]
