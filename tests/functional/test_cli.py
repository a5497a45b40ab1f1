"""The CLI runs the same pipelines and handlers a user would reach through Lambda."""

import json
from pathlib import Path

from typer.testing import CliRunner

from nlpserve.cli import app

EVENTS = Path(__file__).resolve().parents[2] / "events"
runner = CliRunner()


def test_predict_prints_results_for_each_text(models_dir):
    result = runner.invoke(app, ["predict", "sentiment", "I love this movie", "This was a terrible waste of time"])
    assert result.exit_code == 0, result.output
    labels = [r["label"] for r in json.loads(result.stdout)]
    assert labels == ["positive", "negative"]


def test_predict_passes_task_parameters(models_dir):
    result = runner.invoke(app, ["predict", "classify", "connect me to a person", "-p", "top_k=2"])
    assert result.exit_code == 0, result.output
    (out,) = json.loads(result.stdout)
    assert out["label"] == "connect_to_human" and len(out["top_k"]) == 2


def test_predict_reports_bad_input_as_json_error(models_dir):
    result = runner.invoke(app, ["predict", "sentiment", "   "])
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error_type"] == "empty_input"


def test_predict_reports_a_bad_parameter_as_json_error_not_a_traceback(models_dir):
    for args in (["-p", "top_k=3"], ["-p", 'return_all_scores="yes"']):
        result = runner.invoke(app, ["predict", "sentiment", "fine", *args])
        assert result.exit_code == 2, result.output
        err = json.loads(result.stderr)
        assert err["error_type"] == "validation_error" and err["error"].startswith("parameters.")


def test_invoke_runs_the_real_handler_on_an_event_file(models_dir):
    result = runner.invoke(app, ["invoke", "ner", str(EVENTS / "http_v2_redact.json")])
    assert result.exit_code == 0, result.output
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert "[EMAIL]" in response["body"]["results"][0]["text"]
