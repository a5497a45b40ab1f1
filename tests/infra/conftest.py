"""Fixtures for the CDK app tests: one synth per configuration, shared by every test (session scope).

Helpers live in ``infra_support.py`` (importable because this directory is put on ``sys.path``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("aws_cdk")
pytest.importorskip("cdk_nag")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from infra_support import JWT_ISSUER, Synth, make_layers, synth


@pytest.fixture(scope="session")
def fake_layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_layers(tmp_path_factory.mktemp("layers"))


@pytest.fixture(scope="session")
def fake_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Manifests for the model catalogue (only the fields the stack reads)."""
    root = tmp_path_factory.mktemp("models")
    for bundle, license_ in (
        ("embed", "Apache-2.0"),
        ("classify", "Apache-2.0"),
        ("sentiment", "Apache-2.0"),
        ("ner", "CC-BY-4.0"),
        ("entities", "Apache-2.0"),
    ):
        (root / bundle).mkdir()
        (root / bundle / "manifest.json").write_text(
            json.dumps({"name": bundle, "version": "1.0.0", "source": {"license": license_}})
        )
    return root


@pytest.fixture(scope="session")
def full_synth(fake_layers: Path, fake_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Every task enabled, all defaults from cdk.json (IAM auth, arm64)."""
    return synth(
        {"layers_dir": str(fake_layers), "models_dir": str(fake_models)},
        tmp_path_factory.mktemp("cdk.out-full"),
    )


@pytest.fixture(scope="session")
def one_task_synth(fake_layers: Path, fake_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """One task, x86_64, JWT auth, alarm e-mail, provisioned + reserved concurrency."""
    return synth(
        {
            "layers_dir": str(fake_layers),
            "models_dir": str(fake_models),
            "tasks": "sentiment",
            "architecture": "x86_64",
            "jwt_issuer": JWT_ISSUER,
            "jwt_audience": "client-a,client-b",
            "alarm_email": "ops@example.com",
            "bucket_name": "nlpserve-test-data-bucket",
            "nlpserve": {
                "functions": {
                    "sentiment": {
                        "memory_mb": 3008,
                        "timeout_s": 20,
                        "reserved_concurrency": 5,
                        "provisioned_concurrency": 2,
                    }
                },
                "batch": {"timeout_s": 600, "batch_size": 2, "max_receive_count": 5},
            },
        },
        tmp_path_factory.mktemp("cdk.out-one"),
    )
