"""`nlpserve`: serve the API locally, invoke real handlers on sample events, predict, build, batch."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
build_app = typer.Typer(no_args_is_help=True, help="Build model bundles and Lambda layers.")
app.add_typer(build_app, name="build")
train_app = typer.Typer(no_args_is_help=True, help="Train your own models from labelled files.")
app.add_typer(train_app, name="train")

try:  # the batch commands live with the batch code
    from nlpserve.batch.cli import batch_app

    app.add_typer(batch_app, name="batch", help="Score files: locally, or through a local S3 + SQS loop.")
except ImportError:  # pragma: no cover - batch package incomplete
    pass

REPO = Path(__file__).resolve().parents[2]


def _parse_params(pairs: list[str]) -> dict[str, object]:
    params: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", envvar="NLP_HOST"),
    port: int = typer.Option(8000, envvar="NLP_PORT"),
    tasks: Optional[str] = typer.Option(None, help="Comma-separated tasks (default: every built bundle)."),
) -> None:
    """Serve the same FastAPI app the Lambda functions run, with the same models, on localhost."""
    import uvicorn

    from nlpserve.api import create_app

    names = [t for t in tasks.split(",") if t] if tasks else None
    api = create_app(names)
    typer.echo(f"serving {', '.join(api.state.tasks)} on http://{host}:{port} (docs: /docs)", err=True)
    uvicorn.run(api, host=host, port=port, log_level="warning")


@app.command()
def invoke(
    function: str = typer.Argument(..., help="Handler module: sentiment, classify, ner, embed, summarize, language, entities, translate, "
                                 "meta, batch, local."),
    event: Path = typer.Argument(..., exists=True, help="Event JSON file, e.g. events/http_v2_sentiment.json."),
) -> None:
    """Run a real Lambda handler in-process on an event file and print its response."""
    from nlpserve.lambda_context import LocalContext

    payload = json.loads(event.read_text(encoding="utf-8"))
    # Logs and EMF metrics go where Lambda would print them; stdout carries only the response.
    with contextlib.redirect_stdout(sys.stderr):
        module = importlib.import_module(f"nlpserve.handlers.{function}")
        response = module.handler(payload, LocalContext(function_name=f"nlpserve-{function}"))
    if isinstance(response, dict) and isinstance(response.get("body"), str):
        try:
            response = {**response, "body": json.loads(response["body"])}
        except json.JSONDecodeError:
            pass
    typer.echo(json.dumps(response, indent=2, ensure_ascii=False))


@app.command()
def predict(
    task: str = typer.Argument(..., help="sentiment, classify, ner, redact, embed, summarize, language, entities, "
                               "translate (with a seq2seq bundle you built), or classify-<name> for a custom "
                               "classifier."),
    texts: list[str] = typer.Argument(..., help="One or more texts."),
    param: list[str] = typer.Option([], "--param", "-p", help="Task parameter key=value (JSON values)."),
) -> None:
    """Run one task pipeline on texts and print the results as JSON."""
    from nlpserve.errors import NlpError
    from nlpserve.tasks import get_task

    from pydantic import ValidationError

    try:
        task_obj = get_task(task)
        params = task_obj.Params(**_parse_params(param))
        results = task_obj.run(texts, params)
    except NlpError as err:
        typer.echo(json.dumps(err.to_dict()), err=True)
        raise typer.Exit(2) from err
    except ValidationError as err:  # bad --param: the same error shape as the API's 422
        details = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]} for e in err.errors()]
        first = details[0]
        message = f"parameters.{'.'.join(first['loc'])}: {first['msg']}"
        typer.echo(json.dumps({"error": message, "error_type": "validation_error", "details": details}), err=True)
        raise typer.Exit(2) from err
    typer.echo(json.dumps([r.model_dump(mode="json", exclude_none=True) for r in results], indent=2, ensure_ascii=False))


@app.command()
def openapi(out: Path = typer.Option(REPO / "docs" / "openapi.json")) -> None:
    """Write the OpenAPI document of the full API (every task) to a file."""
    from nlpserve.api import create_app
    from nlpserve.tasks import TASKS

    doc = create_app(list(TASKS), warm=False).openapi()
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


@build_app.command("models")
def build_models(
    only: list[str] = typer.Option([], "--only", help="Bundle names (default: all)."),
    force: bool = typer.Option(False, help="Rebuild even when the cache says the inputs are unchanged."),
    out: Path = typer.Option(REPO / "build" / "models", help="Output directory."),
) -> None:
    """Build the model bundles from the models that ship in registry packages (cached by content hash)."""
    from nlpbuild.__main__ import main as build_main

    args = ["models", "--out", str(out)] + (["--only", *only] if only else []) + (["--force"] if force else [])
    raise typer.Exit(build_main(args) or 0)


@build_app.command("layers")
def build_layers(
    arch: str = typer.Option("arm64", help="arm64 or x86_64"),
    python: str = typer.Option("3.12", help="Lambda Python version."),
) -> None:
    """Build the runtime layer and one model layer per bundle as reproducible zips under build/layers."""
    from nlpbuild.__main__ import main as build_main

    raise typer.Exit(build_main(["layers", "--arch", arch, "--python", python]) or 0)


@train_app.command("classifier")
def train_classifier(
    file: Path = typer.Argument(..., help="Labelled .csv / .tsv (header row) or .jsonl file."),
    name: str = typer.Option(..., "--name", help="Model name: the route /v1/classify/<name>, batch prefix "
                             "incoming/classify-<name>/."),
    text_field: str = typer.Option("text", help="Column / field holding the text."),
    label_field: str = typer.Option("label", help="Column / field holding the label (a JSON list, or cells split "
                                    "on --label-separator, for several labels per text)."),
    label_separator: Optional[str] = typer.Option(None, help="Split CSV label cells on this (multi-label), e.g. ';'."),
    models_dir: Path = typer.Option(REPO / "build" / "models", envvar="NLP_MODELS_DIR",
                                    help="Where the embed bundle is and the new bundle goes."),
    seed: int = typer.Option(0, help="Seed of the held-out split and the cross-validation folds."),
    progress: bool = typer.Option(True, help="Show a progress bar on stderr."),
) -> None:
    """Train a text classifier on your labelled file and write the bundle classify-<name> (held-out report in its
    manifest). Exit status 2 with a JSON error for a file that cannot train one."""
    from nlpbuild.custom import LabelledFileError
    from nlpbuild.custom import train_classifier as train

    def log(msg: str) -> None:
        typer.echo(msg, err=True)

    try:
        if progress:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
                ids: dict[str, int] = {}

                def tick(stage: str, done: int, total: int) -> None:
                    if stage not in ids:
                        ids[stage] = bar.add_task(stage, total=total)
                    bar.update(ids[stage], completed=done)

                result = train(file, name, models_dir, text_field=text_field, label_field=label_field,
                               label_separator=label_separator, seed=seed, progress=tick, log=log)
        else:
            result = train(file, name, models_dir, text_field=text_field, label_field=label_field,
                           label_separator=label_separator, seed=seed, log=log)
    except LabelledFileError as err:
        typer.echo(json.dumps({"error": str(err), "error_type": "invalid_training_data"}), err=True)
        raise typer.Exit(2) from err
    heldout = result.manifest["quality"]["heldout"]
    typer.echo(json.dumps({
        "bundle": str(result.bundle_dir), "labels": result.manifest["labels"],
        "multi_label": result.manifest["multi_label"], "heldout_accuracy": heldout["accuracy"],
        "heldout_macro_f1": heldout["macro_f1"], "heldout_items": heldout["items"], "seconds": round(result.seconds, 1),
        "next": {"serve": f"POST /v1/classify/{name}", "batch": f"incoming/classify-{name}/<file>.jsonl",
                 "deploy": f"cdk deploy -c custom_classifiers={name}  (from infra/)"},
    }, indent=2))


def main() -> None:  # pragma: no cover
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "nlpserve")
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
