"""Issue 11: the bring-your-own seq2seq path end to end. Tiny Marian (en -> de) and T5 (summaries) checkpoints are
built and trained for a few seconds inside the test (``nlpbuild.tiny_seq2seq``), turned into bundles by the real
builder (``python -m nlpbuild seq2seq``: export, parity with transformers, int8), and served by ``translate`` and
``summarize`` with ``mode=abstractive`` through the API handler, the S3 batch path and the CLI. The served text must
equal what transformers' ``generate`` writes for the same input, decoded by the checkpoint's own tokenizer."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from nlpserve import config
from nlpserve.lambda_context import LocalContext
from typer.testing import CliRunner

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")

from nlpbuild import tiny_seq2seq as checkpoints  # after the skips: it needs the build extra

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
TWO_SENTENCES = "Where is my parcel? It should have arrived.  The council approved the budget for new parks on Tuesday."


@pytest.fixture(scope="module")
def built(seq2seq_models):
    return seq2seq_models


@pytest.fixture
def served(built, models_dir):
    """As deployed: the shipped bundles in one directory, the brought ones in another (NLP_EXTRA_MODELS_DIRS)."""
    from nlpserve.runtime import registry

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "settings", dataclasses.replace(config.settings, models_dir=Path(models_dir),
                                                           extra_models_dirs=(built["models"],)))
        yield built
    for name in ("translate-en-de", "summarize-abstractive"):
        registry._cache.pop(name, None)


def reference_translation(built, sentences: list[str], **settings) -> list[str]:
    """transformers' own decode of each sentence with the checkpoint's own (slow, sentencepiece) tokenizer."""
    directory = built["marian"]
    tokenizer = transformers.MarianTokenizer(str(directory / "source.spm"), str(directory / "target.spm"),
                                             str(directory / "vocab.json"))
    model = transformers.MarianMTModel.from_pretrained(str(directory)).eval()
    batch = tokenizer(sentences, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.generate(**batch, do_sample=False, **settings)
    return [t.strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]


def reference_summary(built, text: str) -> str:
    directory = built["t5"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(directory))
    model = transformers.T5ForConditionalGeneration.from_pretrained(str(directory)).eval()
    settings = {k: v for k, v in model.config.task_specific_params["summarization"].items() if k != "prefix"}
    with torch.no_grad():  # as transformers' summarization pipeline decodes
        out = model.generate(**tokenizer(["summarize: " + text], return_tensors="pt"), do_sample=False, **settings)
    return tokenizer.decode(out[0], skip_special_tokens=True).strip()


def call(handler_module, path: str, body: dict) -> tuple[int, dict]:
    event = json.loads((EVENTS / "http_v2_sentiment.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["body"] = json.dumps(body)
    response = handler_module.handler(event, LocalContext())
    return response["statusCode"], json.loads(response["body"])


# -- the builder -----------------------------------------------------------------------------------------

def test_the_builder_writes_a_seq2seq_bundle_with_its_parity_report(built):
    manifest = json.loads((built["models"] / "translate-en-de" / "manifest.json").read_text())
    assert manifest["kind"] == "seq2seq" and manifest["task"] == "translate"
    assert (manifest["source_language"], manifest["target_language"]) == ("en", "de")
    assert manifest["source"]["license"] == "cc-by-4.0"  # from the model card's front matter
    pad = manifest["architecture"]["pad_token_id"]
    assert manifest["generation"] == {"max_new_tokens": 64, "num_beams": 2, "length_penalty": 1.0,
                                      "no_repeat_ngram_size": 0, "min_new_tokens": 0, "early_stopping": False,
                                      "bad_words_ids": [[pad]]}  # the checkpoint's, <pad> banned as in opus-mt
    assert manifest["architecture"]["family"] == "marian" and manifest["max_length"] == 128
    assert set(manifest["quality"]["parity_with_transformers"]) == {"greedy", "beam 2"}
    assert manifest["quality"]["int8_vs_fp32"]["greedy"]["sequences_identical"] >= 0.5
    assert set(manifest["files"]) == {"prefill.onnx", "decoder_with_past.onnx", "source_tokenizer.json",
                                      "target_tokenizer.json"}
    # the decoder graph keeps one int8 copy of the tied embedding / LM head (the [d_model, vocab] one)
    import onnx

    arch = manifest["architecture"]
    decoder = onnx.load(str(built["models"] / "translate-en-de" / "decoder_with_past.onnx"))
    shapes = [list(t.dims) for t in decoder.graph.initializer]
    assert [arch["d_model"], arch["vocab_size"]] in shapes and [arch["vocab_size"], arch["d_model"]] not in shapes
    # ... and its model layer, /opt/models/translate-en-de/ in the zip, sized against Lambda's limit
    import zipfile

    report = built["reports"][0]
    with zipfile.ZipFile(report["layer"]["zip"]) as z:
        names = {i.filename for i in z.infolist()}
        assert report["layer"]["unzipped_bytes"] == sum(i.file_size for i in z.infolist())
    assert names == {f"models/translate-en-de/{f}" for f in (*manifest["files"], "manifest.json")}
    assert report["layer"]["fits_a_function_with_the_runtime_layer"] is True
    assert report["next"]["deploy"].startswith("cdk deploy -c seq2seq_models=translate-en-de")
    summary = json.loads((built["models"] / "summarize-abstractive" / "manifest.json").read_text())
    assert summary["task"] == "summarize" and summary["input_prefix"] == "summarize: "
    # T5's summarization settings, as transformers' summarization pipeline applies them
    assert summary["generation"] == {"max_new_tokens": 39, "num_beams": 2, "length_penalty": 2.0,
                                     "no_repeat_ngram_size": 3, "min_new_tokens": 2, "early_stopping": True,
                                     "bad_words_ids": []}
    assert set(summary["quality"]["parity_with_transformers"]) == {"greedy", "beam 2"}
    assert summary["architecture"]["family"] == "t5" and summary["max_length"] == 512


def test_the_builder_says_what_is_wrong_with_its_input(tmp_path):
    run = subprocess.run([sys.executable, "-m", "nlpbuild", "seq2seq", str(tmp_path / "nowhere"), "--task",
                          "translate", "--source-language", "en", "--target-language", "de", "--out", str(tmp_path)],
                         check=False, capture_output=True, text=True, cwd=REPO, timeout=300,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 2
    error = json.loads(run.stdout)
    assert error["error_type"] == "checkpoint_not_found" and "not a local directory" in error["error"]
    run = subprocess.run([sys.executable, "-m", "nlpbuild", "seq2seq", str(tmp_path), "--task", "translate",
                          "--out", str(tmp_path)], check=False, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 2 and "--source-language" in json.loads(run.stdout)["error"]


@pytest.mark.parametrize("args,message", [
    (["--task", "translate", "--source-language", "en", "--target-language", "de", "--name", "x/../../escaped"],
     "--name 'x/../../escaped'"),
    (["--task", "translate", "--source-language", "en", "--target-language", "de", "--name", "A" * 300],
     "1-40 lower-case"),
    (["--task", "translate", "--name", "mypair"], "--source-language and --target-language"),
    (["--task", "translate", "--source-language", "english", "--target-language", "de"], "ISO 639-1"),
    (["--task", "translate", "--source-language", "EN", "--target-language", "DE"], "lower case"),
    (["--task", "translate", "--source-language", "eng", "--target-language", "de"], "ISO 639-1"),
    (["--task", "translate", "--source-language", "zz", "--target-language", "de"], "py3langid"),
    (["--task", "summarize", "--source-language", "en"], "are for --task translate"),
    (["--task", "summarize", "--num-beams", "100"], "--num-beams must be 1-8"),
    (["--task", "summarize", "--max-new-tokens", "0"], "--max-new-tokens must be 1-512"),
    (["--task", "summarize", "--sample", "  "], "every --sample must have some text"),
])
def test_the_builder_refuses_what_would_make_an_unusable_bundle(built, tmp_path, args, message):
    """Break test: such names wrote outside --out, crashed, or built bundles no request could choose."""
    run = subprocess.run([sys.executable, "-m", "nlpbuild", "seq2seq", str(built["t5"]), *args, "--out",
                          str(tmp_path / "models"), "--layers-dir", str(tmp_path / "layers")],
                         check=False, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in json.loads(run.stdout)["error"]
    assert not any(tmp_path.rglob("*.onnx")) and not (tmp_path.parent / "escaped").exists()


def test_the_builder_keeps_new_tokens_within_the_decoders_positions(built, tmp_path):
    """Re-break test: a bundle whose default max_new_tokens exceeded the decoder's position table (the tiny Marian
    has 128) crashed with a 500 when the model looped."""
    run = subprocess.run([sys.executable, "-m", "nlpbuild", "seq2seq", str(built["marian"]), "--task", "translate",
                          "--source-language", "en", "--target-language", "de", "--max-new-tokens", "200",
                          "--out", str(tmp_path), "--no-layer"],
                         check=False, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 2 and "has 128 positions" in json.loads(run.stdout)["error"]


def test_a_checkpoint_that_is_not_seq2seq_is_named_as_such(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "vocab_size": 10, "hidden_size": 8,
                                                      "num_hidden_layers": 1, "num_attention_heads": 1,
                                                      "intermediate_size": 8}))
    run = subprocess.run([sys.executable, "-m", "nlpbuild", "seq2seq", str(tmp_path), "--task", "summarize",
                          "--out", str(tmp_path / "m"), "--no-layer"],
                         check=False, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 2 and "is not a seq2seq checkpoint" in json.loads(run.stdout)["error"]


# -- the API ---------------------------------------------------------------------------------------------

def test_the_translate_function_reproduces_transformers_sentence_by_sentence(served):
    from nlpserve.handlers import translate

    status, body = call(translate, "/v1/translate", {"inputs": [TWO_SENTENCES, "Where is my parcel?"]})
    assert status == 200, body
    assert body["model"]["name"] == "translate-en-de"
    first, second = body["results"]
    sentences = ["Where is my parcel?", "It should have arrived.",
                 "The council approved the budget for new parks on Tuesday."]
    want = reference_translation(served, sentences, num_beams=2, max_new_tokens=64)
    # sentences are joined with the whitespace that separated them in the input
    assert first["translation"] == f"{want[0]} {want[1]}  {want[2]}"
    assert "Der Rat hat am Dienstag den Haushalt für neue Parks beschlossen." in first["translation"]
    assert (first["sentences"], first["source_language"], first["target_language"]) == (3, "en", "de")
    assert second["translation"] == want[0] and second["truncated"] is False


def test_request_options_change_the_search_and_are_checked(served):
    from nlpserve.handlers import translate

    status, body = call(translate, "/v1/translate", {"inputs": "The council approved the budget for new parks on "
                                                     "Tuesday.", "parameters": {"num_beams": 1, "max_new_tokens": 5}})
    assert status == 200, body
    want = reference_translation(served, ["The council approved the budget for new parks on Tuesday."],
                                 num_beams=1, max_new_tokens=5)
    assert body["results"][0]["translation"] == want[0] and body["results"][0]["length_capped"] is True
    for params, status_, kind in (({"target_language": "fr"}, 422, "unsupported_language"),
                                  ({"source_language": "es"}, 422, "unsupported_language"),
                                  ({"num_beams": 0}, 422, "validation_error"),
                                  ({"max_new_tokens": "5"}, 422, "validation_error")):
        status, body = call(translate, "/v1/translate", {"inputs": "hello", "parameters": params})
        assert (status, body["error_type"]) == (status_, kind), body
    assert "en->de" in call(translate, "/v1/translate", {"inputs": "x", "parameters": {"target_language": "fr"}})[1][
        "error"]


def test_a_real_pairs_defaults_take_a_full_request(served):
    """Break test: with opus-mt's defaults (max_new_tokens 256, 4 beams) the budget counted 1,024 pieces per
    sentence and refused a request of 17 sentences. Each translation stops at 3 x its source + 10 pieces, so 64
    sentences fit."""
    from nlpserve.handlers import translate

    status, body = call(translate, "/v1/translate", {"inputs": ["Where is my parcel?"] * 64,
                                                     "parameters": {"max_new_tokens": 256, "num_beams": 4}})
    assert status == 200, body
    assert {r["translation"] for r in body["results"]} == {"Wo ist mein Paket?"}


def test_text_without_sentence_ends_is_read_whole_not_cut_after_one_window(served):
    """Break test: 199 kB of words with no full stop came back as one cut "sentence" (99 % dropped)."""
    from nlpserve.tasks import get_task

    text = "where is my parcel " * 400  # no sentence end: about 2,000 source pieces, the encoder reads 128
    result = get_task("translate").run([text])[0]
    assert result.truncated is False and result.sentences >= 10
    summary = get_task("summarize").run([text], get_task("summarize").Params(mode="abstractive"))[0]
    assert summary.truncated is False and summary.chunks >= 4


def test_decoding_never_runs_past_the_decoders_positions(served):
    """Re-break test: a looping model asked for 200 new pieces ran past the 128-position table: a 500."""
    from nlpserve.runtime.generate import GenerationConfig
    from nlpserve.tasks import generation

    bundle = generation.load("translate-en-de")
    (out,) = bundle.generate(["Where is my parcel?"], GenerationConfig(max_new_tokens=300, min_new_tokens=299))
    assert out.tokens == 128 and out.length_capped


@pytest.mark.parametrize("text", ["1234567890" * 200, " ".join(["ﬁne ﬂow ½ ㎏"] * 60),
                                  "https://example.com/" + "a" * 1600])
def test_every_cut_of_an_over_long_sentence_fits_the_encoder(served, text):
    """Re-break test: cuts inside a word, or before characters normalisation expands, tokenised to one piece
    more than the encoder reads, and lost it."""
    from nlpserve.tasks import generation, get_task

    bundle = generation.load("translate-en-de")
    spans, pieces = generation.fit(bundle, text, [(0, len(text))])
    assert len(spans) > 1 and all(n <= bundle.max_length for n in bundle.count_pieces([text[s:e] for s, e in spans]))
    assert pieces == bundle.count_pieces([text[s:e] for s, e in spans])  # what fit reports is what the encoder reads
    assert get_task("translate").run([text])[0].truncated is False


def test_line_breaks_are_kept(served):
    from nlpserve.tasks import get_task

    result = get_task("translate").run(["Where is my parcel?\nThe council approved the budget for new parks on "
                                        "Tuesday.\n"])[0]
    assert result.translation == ("Wo ist mein Paket?\nDer Rat hat am Dienstag den Haushalt für neue Parks "
                                  "beschlossen.\n")
    assert get_task("translate").run(["Where is my parcel\nIt should have arrived"])[0].translation.count("\n") == 1


def test_text_in_another_language_than_the_models_source_is_flagged_or_refused(served):
    from nlpserve.handlers import translate

    german = "Der Rat hat am Dienstag den Haushalt für neue Parks beschlossen und die Bürger informiert."
    status, body = call(translate, "/v1/translate", {"inputs": [german, "Where is my parcel?"]})
    assert status == 200 and body["results"][0]["language"] == "de" and "language" not in body["results"][1]
    status, body = call(translate, "/v1/translate", {"inputs": [german], "parameters": {"reject_other_languages": True}})
    assert status == 422 and body["error_type"] == "unsupported_language" and "en only" in body["error"]
    status, body = call(translate, "/v1/translate", {"inputs": [german], "parameters": {"source_language": "EN"}})
    assert status == 200 and "language" not in body["results"][0]  # the caller said what it is (any case)


def test_the_model_cards_list_the_brought_bundles(served):
    from fastapi.testclient import TestClient
    from nlpserve.api import create_app

    cards = {c["task"]: c for c in TestClient(create_app(["summarize", "translate"], warm=False)).get(
        "/v1/models").json()["models"]}
    assert cards["translate"]["bundle"] == "translate-en-de" and cards["translate"]["source"]["license"] == "cc-by-4.0"
    assert cards["summarize"]["bundle"] == "embed"
    assert [c["bundle"] for c in cards["summarize"]["abstractive"]] == ["summarize-abstractive"]
    assert cards["summarize"]["abstractive"][0]["generation"]["num_beams"] == 2


def test_a_request_asking_for_too_much_generation_is_refused_before_decoding(served):
    from nlpserve.handlers import translate

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "settings", dataclasses.replace(config.settings, max_generation_tokens=100))
        status, body = call(translate, "/v1/translate", {"inputs": TWO_SENTENCES})  # 3 sentences x 64 x 2 beams
        assert status == 413 and body["error_type"] == "request_too_expensive"
        # per sentence: its cap (3 x its source pieces + 10, at most max_new_tokens 64) x 2 beams
        assert "NLP_MAX_GENERATION_TOKENS" in body["error"] and 100 < body["details"][0]["requested"] < 3 * 64 * 2
        status, body = call(translate, "/v1/translate", {"inputs": TWO_SENTENCES,
                                                         "parameters": {"num_beams": 1, "max_new_tokens": 30}})
        assert status == 200, body


def test_generation_stops_with_a_clear_error_when_its_time_budget_runs_out(served):
    from nlpserve.handlers import translate

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "settings", dataclasses.replace(config.settings, generation_budget_s=1e-9))
        status, body = call(translate, "/v1/translate", {"inputs": TWO_SENTENCES})
    assert status == 504 and body["error_type"] == "generation_timeout"
    assert "NLP_GENERATION_BUDGET_S" in body["error"] and "incoming/translate/" in body["error"]


def test_abstractive_summaries_reproduce_transformers_and_extractive_stays_the_default(served):
    from nlpserve.handlers import summarize

    text = checkpoints.SUMMARIES[0][0]
    status, body = call(summarize, "/v1/summarize", {"inputs": text, "parameters": {"mode": "abstractive"}})
    assert status == 200, body
    result = body["results"][0]
    assert body["model"]["name"] == "summarize-abstractive"
    assert result["summary"] == reference_summary(served, text) == "The council approved the budget."
    assert result["chunks"] == 1 and result["sentences"] == [] and result["total_sentences"] == 2
    status, body = call(summarize, "/v1/summarize", {"inputs": text})
    assert status == 200 and body["model"]["name"] != "summarize-abstractive"
    assert body["results"][0]["sentences"]  # extractive: quoted sentences with offsets
    for params in ({"mode": "abstractive", "sentences": 2}, {"num_beams": 2}, {"mode": "generative"}):
        status, body = call(summarize, "/v1/summarize", {"inputs": text, "parameters": params})
        assert status == 422 and body["error_type"] == "validation_error", (params, body)


def test_a_long_text_is_summarised_chunk_by_chunk(served):
    from nlpserve.tasks import get_task

    task = get_task("summarize")
    text = " ".join(t for t, _ in checkpoints.SUMMARIES) * 12  # more than the encoder's 512 pieces
    result = task.run([text], task.Params(mode="abstractive"))[0]
    assert result.chunks >= 2 and result.truncated is False
    assert result.summary.count(".") >= result.chunks


def test_without_a_bundle_the_tasks_answer_503_with_how_to_build_one(models_dir, tmp_path):
    from nlpserve.handlers import summarize, translate

    shipped = tmp_path / "models"  # the five shipped bundles only (build/models may hold ones a user built)
    shipped.mkdir()
    for bundle in ("embed", "classify", "sentiment", "ner", "entities"):
        (shipped / bundle).symlink_to(Path(models_dir) / bundle)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "settings", dataclasses.replace(config.settings, models_dir=shipped,
                                                           extra_models_dirs=()))
        status, body = call(translate, "/v1/translate", {"inputs": "Where is my parcel?"})
        assert status == 503 and body["error_type"] == "model_unavailable"
        assert "python -m nlpbuild seq2seq" in body["error"] and "seq2seq_models" in body["error"]
        status, body = call(summarize, "/v1/summarize", {"inputs": "One. Two.", "parameters": {"mode": "abstractive"}})
        assert status == 503 and "--task summarize" in body["error"]
        assert call(summarize, "/v1/summarize", {"inputs": "One sentence here. Another one."})[0] == 200


# -- batch and CLI ---------------------------------------------------------------------------------------

def test_batch_translates_a_file_and_a_whole_document(served, batch_env):
    from functional.test_batch_pipeline import make_handler, summary_of

    texts = ["Where is my parcel?", "The council approved the budget for new parks on Tuesday.", "  "]
    batch_env.put("incoming/translate/orders.jsonl",
                  "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    batch_env.put("incoming/translate/docs/letter.txt", TWO_SENTENCES + "\n\nWhere is my parcel?\n")
    batch_env.drain(make_handler(batch_env))
    rows = batch_env.jsonl("results/translate/orders.jsonl")
    want = reference_translation(served, texts[:2], num_beams=2, max_new_tokens=64)
    assert [r["translation"] for r in rows] == want
    errors = batch_env.jsonl("errors/translate/orders.jsonl.errors.jsonl")
    assert [(e["id"], e["reason"]) for e in errors] == [("2", "empty_text")]  # the rest of the file is translated
    counts = summary_of(batch_env, "results/translate/orders.jsonl.summary.json")["counts"]
    assert (counts["scored"], counts["failed"]) == (2, 1)
    letter = batch_env.get("results/translate/docs/letter.txt").decode()
    assert letter == ("Wo ist mein Paket? Es sollte angekommen sein.  Der Rat hat am Dienstag den Haushalt für neue "
                      "Parks beschlossen.\n\nWo ist mein Paket?\n")
    report = json.loads(batch_env.get("results/translate/docs/letter.txt.result.json"))
    assert report["target_language"] == "de" and report["sentences"] == 4


def test_batch_writes_abstractive_summaries_when_the_object_asks_for_them(served, batch_env):
    from functional.test_batch_pipeline import make_handler

    texts = [text for text, _ in checkpoints.SUMMARIES]
    body = "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts))
    batch_env.put("incoming/summarize/news.jsonl", body, Metadata={"params": json.dumps({"mode": "abstractive"})})
    batch_env.put("incoming/summarize/plain.jsonl", body)
    batch_env.drain(make_handler(batch_env))
    rows = batch_env.jsonl("results/summarize/news.jsonl")
    assert [r["summary"] for r in rows] == [summary for _, summary in checkpoints.SUMMARIES]
    assert all(r["chunks"] == 1 and r["sentences"] == [] for r in rows)
    plain = batch_env.jsonl("results/summarize/plain.jsonl")
    assert all(r["sentences"] and r["summary"] in texts[i] for i, r in enumerate(plain))  # extractive: quotes


def test_the_cli_translates_and_summarises(served, tmp_path):
    from nlpserve.cli import app

    result = CliRunner().invoke(app, ["predict", "translate", "Where is my parcel?"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["translation"] == reference_translation(served, ["Where is my parcel?"],
                                                                                num_beams=2, max_new_tokens=64)[0]
    result = CliRunner().invoke(app, ["predict", "summarize", checkpoints.SUMMARIES[1][0], "-p", "mode=\"abstractive\""])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["summary"] == "Where is my parcel?"
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "Where is my parcel?"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["batch", "score", "translate", str(src), "--out", str(tmp_path / "o.jsonl"),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    row = json.loads((tmp_path / "o.jsonl").read_text().splitlines()[0])
    assert row["id"] == "a" and row["translation"].startswith("Wo ist mein Paket?")
