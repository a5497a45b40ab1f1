"""Configuration loading and validation (no synth: fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from infra_support import JWT_ISSUER
from nlpinfra.catalog import ALL_TASK_FUNCTIONS, DEFAULT_TASK_FUNCTIONS, bundles_for, served_tasks
from nlpinfra.config import REPO_ROOT, ConfigError, ServiceConfig, load_config


def test_defaults_are_secure_and_complete() -> None:
    cfg = load_config({})
    assert cfg.tasks == DEFAULT_TASK_FUNCTIONS and "translate" not in cfg.tasks  # needs a model you bring
    assert (cfg.architecture, cfg.python_version, cfg.auth) == ("arm64", "3.12", "iam")
    assert cfg.layers_dir == REPO_ROOT / "build" / "layers"
    assert cfg.batch.input_prefix == "incoming/" and cfg.batch.visibility_timeout_factor >= 6


def test_cdk_json_defaults_load_and_match_the_code_defaults() -> None:
    from nlpinfra import cdk_json_context

    assert load_config(cdk_json_context()) == ServiceConfig().validate()


def test_flat_context_keys_override_the_cdk_json_object() -> None:
    cfg = load_config(
        {
            "nlpserve": {"tasks": ["sentiment", "ner"], "architecture": "arm64"},
            "tasks": "embed,summarize",
            "architecture": "x86_64",
            "layers_dir": "dist/layers",
        }
    )
    assert cfg.tasks == ("embed", "summarize")
    assert cfg.architecture == "x86_64"
    assert cfg.layers_dir == REPO_ROOT / "dist" / "layers"


def test_config_file_is_merged_over_context(tmp_path: Path) -> None:
    path = tmp_path / "prod.json"
    path.write_text(
        json.dumps(
            {
                "tasks": ["ner"],
                "alarm_email": "ops@example.com",
                "functions": {"ner": {"memory_mb": 4096, "provisioned_concurrency": 1}},
                "batch": {"batch_size": 3},
            }
        )
    )
    cfg = load_config({"nlpserve": {"tasks": ["sentiment"]}, "config": str(path)})
    assert cfg.tasks == ("ner",)
    assert cfg.functions["ner"].memory_mb == 4096 and cfg.functions["ner"].provisioned_concurrency == 1
    assert cfg.functions["ner"].timeout_s == 29  # untouched keys keep their defaults
    assert cfg.batch.batch_size == 3 and cfg.batch.timeout_s == 900


def test_jwt_issuer_switches_auth_to_jwt_and_needs_an_audience() -> None:
    cfg = load_config({"jwt_issuer": JWT_ISSUER, "jwt_audience": "a,b"})
    assert cfg.auth == "jwt" and cfg.jwt_audience == ("a", "b")
    with pytest.raises(ConfigError, match="jwt_audience"):
        load_config({"jwt_issuer": JWT_ISSUER})
    with pytest.raises(ConfigError, match="jwt_issuer"):
        load_config({"auth": "jwt", "jwt_audience": "a"})


@pytest.mark.parametrize(
    "context, message",
    [
        ({"tasks": "sentiment,transcribe"}, "unknown task"),
        ({"tasks": ""}, "at least one task"),
        ({"architecture": "ppc64"}, "architecture"),
        ({"auth": "none"}, "auth must be one of"),
        ({"nlpserve": {"functions": {"sentiment": {"timeout_s": 60}}}}, "timeout_s must be 1..30"),
        ({"nlpserve": {"functions": {"batch": {"timeout_s": 60}}}}, "unknown key"),
        ({"nlpserve": {"batch": {"results_prefix": "incoming/results/"}}}, "overlaps input_prefix"),
        ({"nlpserve": {"batch": {"input_prefix": "results/"}}}, "overlaps input_prefix"),
        ({"nlpserve": {"batch": {"work_prefix": "incoming/_work/"}}}, "overlaps input_prefix"),
        ({"nlpserve": {"batch": {"visibility_timeout_factor": 2}}}, ">= 6"),
        ({"nlpserve": {"batch": {"batch_size": 50}}}, "batch_size"),
        ({"nlpserve": {"colour": "blue"}}, "unknown key"),
        ({"bucket_name": "Not_A_Bucket"}, "bucket_name"),
        ({"alarm_email": "not-an-email"}, "alarm_email"),
        ({"config": "does/not/exist.json"}, "config file not found"),
    ],
)
def test_invalid_configuration_fails_with_a_clear_message(context: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(context)


def test_catalogue_maps_functions_to_bundles_and_tasks() -> None:
    assert bundles_for(["embed", "summarize"]) == ("embed",)
    assert bundles_for(ALL_TASK_FUNCTIONS) == ("embed", "classify", "sentiment", "ner", "entities")
    assert served_tasks(["ner", "embed"]) == ("ner", "redact", "embed", "similarity")


@pytest.mark.parametrize("value,message", [
    ("Tickets", "not a model name"), ("a b", "not a model name"), ("t,t", "lists a model twice"),
])
def test_custom_classifier_names_are_checked(value, message) -> None:
    from nlpinfra.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=message):
        load_config({"custom_classifiers": value})


def test_custom_classifiers_need_the_classify_function() -> None:
    from nlpinfra.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="served by the 'classify' function: add it to tasks"):
        load_config({"custom_classifiers": "tickets", "tasks": "sentiment"})
    assert load_config({"custom_classifiers": "tickets,faq"}).custom_classifiers == ("tickets", "faq")


def test_a_list_key_of_the_wrong_type_is_a_config_error() -> None:
    """Break test: ``seq2seq_models: 5`` raised a TypeError instead of naming the key."""
    with pytest.raises(ConfigError, match="seq2seq_models must be a comma-separated string or a list"):
        load_config({"seq2seq_models": 5})
