"""Helpers for the CDK app tests: placeholder layer zips + sidecars, and synthesizing one configuration.

The real layer zips are 40+ MB and may not be built; the structure of the stack does not depend on their
content, only on their presence and the sizes in their sidecars, so small placeholders stand in for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
if str(INFRA) not in sys.path:
    sys.path.insert(0, str(INFRA))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

MB = 1024 * 1024
#: Realistic unzipped sizes (measured builds: runtime ~100-123 MB, model bundles 15-30 MB).
DEFAULT_SIZES = {
    "runtime": 123 * MB,
    "embed": 25 * MB,
    "classify": 25 * MB,
    "sentiment": 25 * MB,
    "ner": 20 * MB,
    "entities": 24 * MB,
}

JWT_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"


def write_layer(layers_dir: Path, name: str, unzipped_bytes: int, member: str) -> Path:
    """A tiny deterministic zip plus the sidecar ``python -m nlpbuild layers`` writes next to it."""
    layers_dir.mkdir(parents=True, exist_ok=True)
    zip_path = layers_dir / f"{name}.zip"
    info = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr(info, f"placeholder for {name}\n")
    data = zip_path.read_bytes()
    sidecar = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "zipped_bytes": len(data),
        "unzipped_bytes": unzipped_bytes,
    }
    (layers_dir / f"{name}.zip.json").write_text(json.dumps(sidecar))
    return zip_path


def make_layers(layers_dir: Path, sizes: dict[str, int] | None = None, python_version: str = "3.12") -> Path:
    sizes = {**DEFAULT_SIZES, **(sizes or {})}
    for arch in ("arm64", "x86_64"):
        write_layer(
            layers_dir, f"runtime-py{python_version.replace('.', '')}-{arch}", sizes["runtime"], "python/nlpserve/__init__.py"
        )
    for bundle in ("embed", "classify", "sentiment", "ner", "entities"):
        write_layer(layers_dir, f"model-{bundle}", sizes[bundle], f"models/{bundle}/manifest.json")
    return layers_dir


@dataclass
class Synth:
    """One synthesized configuration: the stack object, its template and the cloud assembly dir."""

    stack: Any
    template_json: dict
    outdir: Path

    @property
    def template(self):
        from aws_cdk.assertions import Template

        return Template.from_json(self.template_json)

    @property
    def resources(self) -> dict[str, dict]:
        return self.template_json["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack.artifact_id}.template.json"

    @property
    def validation_report(self) -> dict | None:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.is_file() else None


def synth(context: dict[str, Any], outdir: Path) -> Synth:
    from nlpinfra import build_app

    app, stack = build_app(context=context, outdir=outdir)
    assembly = app.synth()
    template = assembly.get_stack_artifact(stack.artifact_id).template
    return Synth(stack=stack, template_json=template, outdir=outdir)
