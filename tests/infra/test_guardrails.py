"""Synth-time guardrails: missing layer zips, oversized functions, cdk-nag, cfn-lint, the pinned CDK CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from infra_support import INFRA, MB, REPO, Synth, make_layers
from nlpinfra import build_app
from nlpinfra.artifacts import ArtifactError, check_function_size, load_layer

pytestmark = pytest.mark.slow


def test_missing_layer_zip_names_the_file_and_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as err:
        build_app(context={"layers_dir": str(tmp_path), "nag": False}, outdir=tmp_path / "out")
    message = str(err.value)
    assert str(tmp_path / "runtime-py312-arm64.zip") in message
    assert "python -m nlpbuild layers" in message


def test_missing_model_layer_only_matters_for_enabled_tasks(tmp_path: Path) -> None:
    layers = make_layers(tmp_path / "layers")
    (layers / "model-ner.zip").unlink()
    with pytest.raises(ArtifactError, match="model-ner.zip"):
        load_layer(layers, "model-ner")
    # sentiment alone does not need the ner bundle: constructing the app succeeds
    _app, stack = build_app(
        context={"layers_dir": str(layers), "tasks": "sentiment", "nag": False}, outdir=tmp_path / "out"
    )
    assert set(stack.function_sizes) == {"sentiment", "meta", "batch"}


def test_malformed_sidecar_is_reported(tmp_path: Path) -> None:
    layers = make_layers(tmp_path)
    (layers / "model-embed.zip.json").write_text(json.dumps({"sha256": "x"}))
    with pytest.raises(ArtifactError, match="model-embed.zip.json is malformed"):
        load_layer(layers, "model-embed")


def test_synth_fails_clearly_when_function_plus_layers_exceed_250_mb(tmp_path: Path) -> None:
    # GIVEN sidecars that add up to more than Lambda's 250 MB unzipped limit for the batch function
    layers = make_layers(
        tmp_path / "layers",
        sizes={
            "runtime": 130 * MB,
            "embed": 40 * MB,
            "classify": 40 * MB,
            "sentiment": 40 * MB,
            "ner": 40 * MB,
        },
    )
    # WHEN the app is built THEN it fails before synth, naming the function, the sizes and the limit
    with pytest.raises(ArtifactError) as err:
        build_app(context={"layers_dir": str(layers), "nag": False}, outdir=tmp_path / "out")
    message = str(err.value)
    assert "'batch'" in message and "250.0 MB" in message and "model-ner" in message
    # AND with fewer tasks the same layers fit
    _app, stack = build_app(
        context={"layers_dir": str(layers), "tasks": "sentiment,ner", "nag": False}, outdir=tmp_path / "out2"
    )
    assert stack.function_sizes["batch"] == (130 + 80) * MB + stack.function_sizes["meta"] - 130 * MB


def test_more_than_five_layers_is_rejected() -> None:
    from nlpinfra.artifacts import LayerArtifact

    layer = LayerArtifact("x", Path("x.zip"), "0", 1, 1)
    with pytest.raises(ArtifactError, match="6 layers"):
        check_function_size("batch", 0, [layer] * 6)


# ------------------------------------------------------------------------------------------- cdk-nag


def test_cdk_nag_passes_with_every_finding_fixed_or_acknowledged(
    full_synth: Synth, one_task_synth: Synth
) -> None:
    # The synth fixtures ran with AwsSolutions + Serverless checks; an unacknowledged finding raises.
    for s in (full_synth, one_task_synth):
        report = s.validation_report
        assert report is not None, "cdk-nag did not run"
        for plugin in report["pluginReports"]:
            assert plugin["violations"] == [], plugin["violations"]
            assert plugin["conclusion"] == "success"
            for suppressed in plugin.get("suppressedViolations", []):
                assert suppressed["ruleName"]


def test_cdk_nag_fails_synth_on_an_unacknowledged_finding(fake_layers: Path, tmp_path: Path) -> None:
    # GIVEN the real stack plus a non-compliant queue (no SSE/TLS policy/DLQ)
    from aws_cdk import aws_sqs as sqs

    app, stack = build_app(context={"layers_dir": str(fake_layers), "tasks": "sentiment"}, outdir=tmp_path)
    sqs.Queue(stack, "Sloppy", encryption=sqs.QueueEncryption.UNENCRYPTED)
    # WHEN synthesized THEN both rule packs report it and synth fails
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {
        (plugin["pluginName"], violation["ruleName"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        if any("Sloppy" in c["constructPath"] for c in violation["violatingConstructs"])
    }
    assert ("AwsSolutions", "AwsSolutions-SQS4") in rules
    assert ("Serverless", "Serverless-SQSRedrivePolicy") in rules


# ------------------------------------------------------------------------------------------ cfn-lint


def test_cfn_lint_passes_on_synthesized_templates(full_synth: Synth, one_task_synth: Synth) -> None:
    venv_lint = Path(sys.executable).parent / "cfn-lint"  # the pinned one, not whatever is on PATH
    cfn_lint = str(venv_lint) if venv_lint.exists() else (shutil.which("cfn-lint") or str(venv_lint))
    if not Path(cfn_lint).exists():
        pytest.skip("cfn-lint not installed")
    templates = [str(full_synth.template_path), str(one_task_synth.template_path)]
    result = subprocess.run(
        [cfn_lint, "--ignore-checks", "W3005", "--", *templates],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------------- pinned CDK CLI


def test_pinned_cdk_cli_synthesizes_offline(fake_layers: Path, tmp_path: Path) -> None:
    package = json.loads((REPO / "package.json").read_text())
    assert package["devDependencies"]["aws-cdk"] == "2.1148.1"
    cdk = REPO / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        pytest.skip("run `npm ci` in the repository root to install the pinned CDK CLI")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # venv python
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # no credentials, no region: synth must not need them
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_PROFILE": "",
    }
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(cdk), "synth", "-q", "--no-notices", "-o", str(out), "-c", f"layers_dir={fake_layers}"],
        check=False,
        cwd=INFRA,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "NlpServe.template.json").is_file()
    report = json.loads((out / "validation-report.json").read_text())
    assert all(p["conclusion"] == "success" for p in report["pluginReports"])
