"""Issue 10, part 2: custom classifiers trained from a labelled file (`nlpserve train classifier`), served through
the classify Lambda handler (POST /v1/classify/<model>), the S3 batch path (incoming/classify-<model>/) and the
CLI, on the real encoder."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from nlpbuild import custom
from nlpbuild.evaluate_custom import DOMAIN_OF
from nlpbuild.recipes import read_jsonl
from nlpserve import config
from nlpserve.lambda_context import LocalContext
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
DOMAINS = ("banking", "travel", "kitchen_dining")


def _phrasings(per_label: int, start: int = 0) -> list[tuple[str, str]]:
    rows = read_jsonl(REPO / "layers" / "nlpbuild" / "data" / "train" / "intent_train.jsonl")
    out: list[tuple[str, str]] = []
    for domain in DOMAINS:  # round-robin over the domain's intents, so every sample spans the domain
        by_intent: dict[str, list[str]] = {}
        for r in rows:
            if DOMAIN_OF.get(r["intent"]) == domain:
                by_intent.setdefault(r["intent"], []).append(r["text"])
        texts = [t for group in zip(*by_intent.values()) for t in group]
        out += [(t, domain) for t in texts[start : start + per_label]]
    return out


def _write_csv(path: Path, rows: list[tuple[str, str]], header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _train(*args: str) -> Any:
    from nlpserve.cli import app

    return CliRunner().invoke(app, ["train", "classifier", *args, "--no-progress"])


@pytest.fixture(scope="module")
def custom_models(models_dir, tmp_path_factory):
    """Two trained classifiers in their own directory, found through ``extra_models_dirs`` (NLP_EXTRA_MODELS_DIRS,
    as the stack deploys them): `tickets` (one label per text: three intent domains) and `tags` (multi-label:
    domain + whether the phrasing is a question). Training reads the embed bundle (linked) next to them."""
    root = tmp_path_factory.mktemp("custom")
    models = root / "models"
    models.mkdir()
    for bundle in ("embed", "classify", "sentiment", "ner", "entities"):
        (models / bundle).symlink_to(Path(models_dir) / bundle)
    result = _train(str(_write_csv(root / "tickets.csv", _phrasings(20))), "--name", "tickets",
                    "--models-dir", str(models))
    assert result.exit_code == 0, result.output
    with open(root / "tags.jsonl", "w", encoding="utf-8") as fh:
        for text, domain in _phrasings(20):
            labels = [domain] + (["question"] if text.rstrip().endswith("?") else [])
            fh.write(json.dumps({"text": text, "label": labels}) + "\n")
    result = _train(str(root / "tags.jsonl"), "--name", "tags", "--models-dir", str(models))
    assert result.exit_code == 0, result.output
    with pytest.MonkeyPatch.context() as mp:  # as deployed: shipped bundles in one dir, custom ones in another
        mp.setattr(config, "settings", dataclasses.replace(config.settings, models_dir=Path(models_dir),
                                                           extra_models_dirs=(models,)))
        yield models


def test_training_writes_a_bundle_with_its_held_out_report(custom_models):
    manifest = json.loads((custom_models / "classify-tickets" / "manifest.json").read_text())
    assert manifest["labels"] == sorted(DOMAINS) and manifest["multi_label"] is False
    held = manifest["quality"]["heldout"]
    assert held["items"] == 12 and set(held["per_label"]) == set(DOMAINS)  # 20 % of 20 per label
    assert held["accuracy"] >= 0.8  # three distinct domains, 16 examples each
    assert manifest["quality"]["parity_max_abs_diff"] <= custom.PARITY_TOLERANCE
    assert manifest["training"]["train"] == 48 and manifest["training"]["c"] in custom.C_GRID


def test_the_classify_function_serves_a_custom_model(custom_models):
    from nlpserve.handlers import classify

    event = json.loads((EVENTS / "http_v2_classify.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v1/classify/tickets"
    texts = _phrasings(5, start=30)  # phrasings the model was not trained on
    event["body"] = json.dumps({"inputs": [t for t, _ in texts], "parameters": {"top_k": 2}})
    response = classify.handler(event, LocalContext())
    body = json.loads(response["body"])
    assert response["statusCode"] == 200, body
    assert body["task"] == "classify-tickets" and body["model"]["name"] == "classify-tickets"
    right = sum(r["label"] == gold for r, (_, gold) in zip(body["results"], texts))
    assert right >= 13  # of 15
    assert all(len(r["labels"]) == 2 and r["labels"][0]["label"] == r["label"] for r in body["results"])

    event["rawPath"] = event["requestContext"]["http"]["path"] = "/v1/classify/nope"
    response = classify.handler(event, LocalContext())
    body = json.loads(response["body"])
    assert response["statusCode"] == 404 and body["error_type"] == "unknown_task" and "tickets" in body["error"]


def test_a_multi_label_model_returns_every_label_over_its_threshold(custom_models):
    from nlpserve.tasks import get_task

    task = get_task("classify-tags")
    manifest = json.loads((custom_models / "classify-tags" / "manifest.json").read_text())
    assert manifest["multi_label"] is True and set(manifest["thresholds"]) == {*DOMAINS, "question"}
    results = task.run(["How much does a flight to Lisbon cost?", "book me a hotel in Rome for Friday"],
                       task.Params(return_all_scores=True))
    assert all(r.multi_label for r in results)
    first, second = ({lab.label for lab in r.labels} for r in results)
    assert "travel" in first and "travel" in second
    assert "question" in first and "question" not in second
    assert set(results[0].scores) == {*DOMAINS, "question"}


def test_batch_scores_a_custom_model_under_its_prefix(custom_models, batch_env):
    from functional.test_batch_pipeline import make_handler, summary_of

    texts = _phrasings(3, start=40)
    body = "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, (t, _) in enumerate(texts))
    batch_env.put("incoming/classify-tickets/new.jsonl", body)
    batch_env.drain(make_handler(batch_env))
    rows = batch_env.jsonl("results/classify-tickets/new.jsonl")
    assert [r["id"] for r in rows] == [str(i) for i in range(len(texts))]
    assert sum(r["label"] == gold for r, (_, gold) in zip(rows, texts)) >= 8
    assert summary_of(batch_env, "results/classify-tickets/new.jsonl.summary.json")["status"] == "complete"


def test_the_cli_predicts_with_a_custom_model(custom_models):
    from nlpserve.cli import app

    result = CliRunner().invoke(app, ["predict", "classify-tickets", "what is my checking account balance"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["label"] == "banking"


@pytest.mark.parametrize("rows,extra,message", [
    ([("a text", "x")] * 1 + [(f"other {i}", "y") for i in range(6)], (), "'x' has 1; each label needs at least 5"),
    ([(f"text {i}", "only") for i in range(8)], (), "only one label"),
    ([(f"text {i}", "x") for i in range(5)] + [("", "y")] + [(f"y {i}", "y") for i in range(5)], (), ":7: empty text"),
    ([(f"text {i}", "x") for i in range(6)] + [("text 0", "y")] + [(f"y {i}", "y") for i in range(5)], (),
     "lines 2 and 8 hold the same text with different labels"),
    ([(f"text {i}", "x") for i in range(6)], ("--label-field", "category"), "no 'category' column"),
    ([(f"text {i}", "x") for i in range(6)], ("--name", "Bad Name"), "--name 'Bad Name'"),
])
def test_a_file_that_cannot_train_a_classifier_is_a_clear_error(models_dir, tmp_path, rows, extra, message):
    path = _write_csv(tmp_path / "bad.csv", rows)
    args = [str(path), *extra] + ([] if "--name" in extra else ["--name", "bad"])
    result = _train(*args, "--models-dir", str(models_dir))
    assert result.exit_code == 2, result.output
    error = json.loads(result.output.strip().splitlines()[-1])
    assert error["error_type"] == "invalid_training_data" and message in error["error"], error
    assert not (Path(models_dir) / "classify-bad").exists()


def test_exact_duplicates_are_dropped_before_the_split_so_none_crosses_it(tmp_path):
    rows = [(f"text {i}", "x") for i in range(6)] + [(f"y {i}", "y") for i in range(6)] + [("Text 0 ", "x")] * 3
    data = custom.read_labelled(_write_csv(tmp_path / "dups.csv", rows))
    assert data.dropped_duplicates == 3 and len(data.examples) == 12
    train, test = custom.stratified_split(data)
    assert not {custom._fold(data.examples[i].text) for i in train} & {custom._fold(data.examples[i].text) for i in test}


def test_near_copies_stay_on_one_side_so_random_labels_score_near_chance(models_dir, tmp_path):
    """Break test: with random labels, near-copies ("X", "X!", "Hi, X", "X Thanks.") in both splits reported a
    held-out accuracy of 1.000. Near-copies now share a side of the split and of every CV fold."""
    import random

    rng = random.Random(3)
    base = [t for t, _ in _phrasings(10)]  # 30 distinct phrasings
    rows = []
    for text in base:
        label = rng.choice("abc")
        rows += [(v, label) for v in (text, text + "!", "Hi, " + text, text + " Thanks.")]
    models = tmp_path / "models"
    models.mkdir()
    (models / "embed").symlink_to(Path(models_dir) / "embed")
    result = _train(str(_write_csv(tmp_path / "leak.csv", rows)), "--name", "leak", "--models-dir", str(models))
    assert result.exit_code == 0, result.output
    manifest = json.loads((models / "classify-leak" / "manifest.json").read_text())
    assert manifest["training"]["near_copies"] >= 60
    assert manifest["quality"]["heldout"]["accuracy"] < 0.8  # chance is about 0.33


def test_break_test_files_get_clear_errors(models_dir, tmp_path):
    """Break test: a non-UTF-8 file was a traceback; a multi-label file with a label on every row crashed in
    scikit-learn; names like 'x-' and 'a--b' were accepted."""
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("text,label\n".encode() + "".join(f"caf\xe9 {i},x\nthé {i},y\n" for i in range(6)).encode("latin-1"))
    result = _train(str(latin), "--name", "lat", "--models-dir", str(models_dir))
    assert result.exit_code == 2 and "not UTF-8" in result.output and "save it as UTF-8" in result.output
    always = tmp_path / "always.jsonl"
    always.write_text("".join(json.dumps({"text": f"text {i}", "label": ["common", "a" if i % 2 else "b"]}) + "\n"
                              for i in range(12)))
    result = _train(str(always), "--name", "always", "--models-dir", str(models_dir))
    assert result.exit_code == 2 and "'common' are on every text" in result.output
    for bad in ("x-", "a--b"):
        result = _train(str(latin), "--name", bad, "--models-dir", str(models_dir))
        assert result.exit_code == 2 and "words joined by single '-'" in result.output


def test_a_parameter_the_model_kind_does_not_use_is_a_422_not_ignored(custom_models):
    """Break test: threshold on a single-label model and top_k on a multi-label one were silently ignored."""
    from nlpserve.errors import InvalidInput
    from nlpserve.tasks import get_task

    tickets, tags = get_task("classify-tickets"), get_task("classify-tags")
    with pytest.raises(InvalidInput, match="threshold applies to multi-label models"):
        tickets.run(["hello"], tickets.Params(threshold=0.3))
    with pytest.raises(InvalidInput, match="top_k applies to single-label models"):
        tags.run(["hello"], tags.Params(top_k=2))


def test_a_stray_quote_that_swallows_rows_is_refused_naming_its_line(models_dir, tmp_path):
    """Break test: a text starting with a quote swallowed the rows after it, silently (55 of 60 examples kept)."""
    rows = _phrasings(10)
    path = tmp_path / "stray.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("text,label\n")
        for i, (text, label) in enumerate(rows):
            fh.write(('"' if i == 3 else "") + text.replace(",", " ").replace('"', "") + f",{label}\n")
    result = _train(str(path), "--name", "stray", "--models-dir", str(models_dir))
    assert result.exit_code == 2, result.output
    assert "stray.csv:5: a quote opened in this row runs on" in result.output
    ok = tmp_path / "quoted.csv"  # a legitimate quoted line break is fine
    _write_csv(ok, [("first line\nsecond line", "x")] + [(f"text {i}", "x") for i in range(5)]
               + [(f"y {i}", "y") for i in range(6)])
    assert len(custom.read_labelled(ok).examples) == 12


@pytest.mark.parametrize("row,message", [
    ({"text": 42, "label": "x"}, "the text is a number; texts are strings"),
    ({"text": "fine", "label": True}, "a label is a boolean"),
    ({"text": "fine", "label": {"x": 1}}, "a label is an object"),
    ({"text": "fine", "label": ["a", 1.5]}, "a label is a number"),
])
def test_json_values_of_the_wrong_kind_are_named_not_coerced(tmp_path, row, message):
    """Break test: a numeric text was reported as "empty text"; labels true and {"x": 1} became "True" and
    "{'x': 1}" without a word."""
    path = tmp_path / "kinds.jsonl"
    good = [{"text": f"text {i}", "label": "x" if i % 2 else "y"} for i in range(12)]
    path.write_text("".join(json.dumps(r) + "\n" for r in [row, *good]))
    with pytest.raises(custom.LabelledFileError, match=message):
        custom.read_labelled(path)
    ints = tmp_path / "ints.jsonl"  # integer labels are fine: 1 -> "1"
    ints.write_text("".join(json.dumps({"text": f"text {i}", "label": i % 2}) + "\n" for i in range(12)))
    assert custom.read_labelled(ints).labels == ["0", "1"]
