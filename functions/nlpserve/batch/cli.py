"""``nlpserve batch ...``: score a local file, run the local S3 + SQS loop, upload into it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer

from nlpserve.batch.config import BatchSettings, text_limit
from nlpserve.errors import NlpError

batch_app = typer.Typer(no_args_is_help=True, help="Batch scoring: local files, or a local S3 + SQS loop.")


def _resolver() -> Any:
    from nlpserve.tasks import get_task

    return get_task


@batch_app.command("score")
def score(
    task: str = typer.Argument(..., help="sentiment, classify, ner, redact, embed, summarize, language, entities, "
                               "translate (with a seq2seq bundle you built), or classify-<name> for a custom "
                               "classifier."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".jsonl/.csv/.txt (optionally .gz)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Result JSONL (default results/<task>/<name>.jsonl)."),
    text_field: str | None = typer.Option(None, help="JSONL text field / CSV text column (default: text)."),
    id_field: str | None = typer.Option(None, help="Field carried as the record id (default: id)."),
    batch_size: int | None = typer.Option(None, min=1, help="Texts per model call (default 64)."),
    document: bool = typer.Option(False, "--document", help="Treat a .txt/.md file as ONE document (redact, summarize, entities, translate)."),
    params: str | None = typer.Option(None, help="Task params as JSON, e.g. '{\"sentences\": 5}'."),
    progress: bool = typer.Option(True, help="Show a progress bar on stderr."),
) -> None:
    """Score a local file with the same readers, validation and output format as the S3 path.

    Exit status: 0 complete, 3 partial (the file could only be read in part, e.g. a cut-off .gz).
    """
    from nlpserve import catalog
    from nlpserve.batch.documents import score_document
    from nlpserve.batch.engine import RecordEngine
    from nlpserve.batch.errors import PermanentFileError
    from nlpserve.batch.keys import Format, output_keys, parse_input_key
    from nlpserve.batch.readers import ReadOptions, RecordReader, open_gzip, read_document
    from nlpserve.batch.writers import LocalWriter

    s = BatchSettings.from_env().with_overrides(batch_size=batch_size)
    rel = ("docs/" if document else "") + file.name
    try:
        if task in catalog.task_names() and task not in catalog.batch_tasks():
            from nlpserve.tasks import budget

            raise PermanentFileError("unknown_task", f"task {task!r} has no batch-file form; use "
                                                     f"{budget.BATCH_PATHS.get(task, 'the HTTP API')}")
        inp = parse_input_key(f"{s.incoming_prefix}{task}/{rel}", s)
        if document and inp.format is not Format.DOCUMENT:
            raise PermanentFileError("unsupported_format", f"--document takes a .txt or .md file (optionally .gz) "
                                     f"for a task with a document mode ({', '.join(sorted(catalog.document_tasks()))}); "
                                     f"got {task} and {file.name}")
        t = _resolver()(task)
    except PermanentFileError as err:
        typer.echo(json.dumps({"error": err.message, "error_type": err.reason}), err=True)
        raise typer.Exit(2) from err
    except NlpError as err:  # an unknown task or custom model: the same JSON error as the API's
        typer.echo(json.dumps(err.to_dict()), err=True)
        raise typer.Exit(2) from err
    opts = ReadOptions(text_field=text_field or s.text_field, id_field=id_field or s.id_field,
                       csv_text_column=text_field or s.csv_text_column, max_text_bytes=text_limit(s, t),
                       max_line_bytes=s.max_line_bytes, keep_text=s.keep_text,
                       csv_max_record_lines=s.csv_max_record_lines)
    try:
        raw_params = json.loads(params) if params else {}
        if not isinstance(raw_params, dict):
            raise ValueError(f"--params must be a JSON object, got {type(raw_params).__name__}")
        p = t.Params(**raw_params)
    except (ValueError, TypeError) as err:  # pydantic's ValidationError and json's JSONDecodeError are ValueErrors
        from pydantic import ValidationError

        detail = ("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
                  if isinstance(err, ValidationError) else str(err))
        typer.echo(json.dumps({"error": f"bad --params: {detail}", "error_type": "bad_params"}), err=True)
        raise typer.Exit(2) from err
    started = time.time()
    if inp.format is Format.DOCUMENT:
        with open(file, "rb") as raw_doc:
            doc = read_document(open_gzip(raw_doc) if inp.gzip else raw_doc, s.max_document_bytes)
        try:
            scored = score_document(t, p, doc.text)  # a local file: the report may quote it
        except NlpError as err:
            typer.echo(json.dumps(err.to_dict()), err=True)
            raise typer.Exit(2) from err
        # the S3 path's layout (batch/keys.py): results/<task>/docs/<name> (a rewritten document) and its report
        # next to it, or the report alone; --out names the first of them
        keys = output_keys(inp, s, "local")
        written = {}
        if keys.entities is not None:  # the task rewrites documents (redact)
            text_path = out or Path(keys.results)
            written["text"] = _write_local(text_path, scored.text or "")
            report_path = text_path.with_name(text_path.name + catalog.entry(task).documents.report_suffix)
        else:
            report_path = out or Path(keys.results)
        written["report"] = _write_local(report_path, json.dumps({"source": str(file), **scored.report},
                                                                 ensure_ascii=False, indent=1))
        typer.echo(json.dumps({"document": str(file), "segments": scored.segments, "outputs": written,
                               "wall_s": round(time.time() - started, 3)}))
        return
    name = file.name[:-3] if inp.gzip else file.name
    target = out or Path("results") / task / (name if name.endswith(".jsonl") else name + ".jsonl")
    results = LocalWriter(target)
    errors = LocalWriter(target.with_name(target.name + ".errors.jsonl"))
    raw = open(file, "rb")  # noqa: SIM115
    fp = open_gzip(raw) if inp.gzip else raw
    engine = RecordEngine(t, p, results, errors, batch_size=s.batch_size, id_field=opts.id_field)
    total = file.stat().st_size
    try:
        if progress:
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TransferSpeedColumn(),
                          TextColumn("{task.fields[stats]}"), TimeRemainingColumn(),
                          transient=False, console=_stderr_console()) as bar:
                bar_id = bar.add_task(file.name, total=total, stats="")
                engine.run(RecordReader(fp, inp.format, opts), on_progress=lambda pos, c: bar.update(
                    bar_id, completed=raw.tell(), stats=f"scored {c.scored:,} failed {c.failed:,}"))
                bar.update(bar_id, completed=total)
        else:
            engine.run(RecordReader(fp, inp.format, opts))
    except PermanentFileError as err:  # the whole file is unusable (a CSV without its text column, ...)
        results.abort()
        errors.abort()
        typer.echo(json.dumps({"error": err.message, "error_type": err.reason}), err=True)
        raise typer.Exit(2) from err
    except BaseException:
        results.abort()
        errors.abort()
        raise
    finally:
        raw.close()
    results.complete()
    if engine.counts.failed or engine.file_error:
        errors.complete()
    else:
        errors.abort()
    wall = time.time() - started
    c = engine.counts
    from nlpserve.batch.summary import status_for

    file_errors = [{"reason": engine.file_error[0], "message": engine.file_error[1]}] if engine.file_error else []
    summary = {"task": task, "status": status_for(file_errors), "file_errors": file_errors,
               "source": str(file), "results": str(target),
               "errors": str(errors.path) if (c.failed or engine.file_error) else None,
               "counts": {"records": c.records, "scored": c.scored, "failed": c.failed, "blank": c.blank},
               "failures_by_reason": c.by_reason, "wall_s": round(wall, 3),
               "records_per_s": round(c.records / wall, 1) if wall else None}
    target.with_name(target.name + ".summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    typer.echo(json.dumps(summary))
    if summary["status"] != "complete":  # e.g. a cut-off .gz: every readable record is out, but not the file
        typer.echo(f"the file could only be read in part: {file_errors[0]['message']}", err=True)
        raise typer.Exit(3)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


@batch_app.command("local")
def local(
    port: int = typer.Option(4566, help="Port of the embedded moto server (127.0.0.1)."),
    bucket: str = typer.Option("nlp-local", help="Bucket to create and watch."),
    queue: str = typer.Option("nlp-batch", help="Queue name (a '<queue>-dlq' DLQ is created too)."),
    batch_size: int = typer.Option(10, help="SQS messages per handler invocation (Lambda batch size, <= 10)."),
    timeout: float = typer.Option(900.0, help="Simulated function timeout per invocation, seconds."),
    max_receives: int = typer.Option(3, help="Redrive maxReceiveCount before a message goes to the DLQ."),
) -> None:
    """Start moto (S3 + SQS) on 127.0.0.1, wire bucket -> queue, and feed messages to the real handler."""
    from nlpserve.batch.local import LocalLoop

    loop = LocalLoop(port=port, bucket=bucket, queue=queue, batch_size=batch_size, timeout_s=timeout,
                     max_receives=max_receives).start()
    ep = loop.endpoint_url
    typer.echo(f"local S3 + SQS at {ep}  bucket={bucket}  queue={loop.wiring['queue_url']}")
    typer.echo("upload a file, then look under results/ and errors/:")
    typer.echo(f"  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url {ep} --region us-east-1 "
               f"s3 cp reviews.jsonl s3://{bucket}/incoming/sentiment/reviews.jsonl")
    typer.echo(f"  nlpserve batch upload reviews.jsonl sentiment --endpoint-url {ep} --bucket {bucket} --wait")
    typer.echo(f"  aws --endpoint-url {ep} s3 ls --recursive s3://{bucket}/results/")
    try:
        loop.run()
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        loop.stop()


@batch_app.command("upload")
def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    task: str = typer.Argument(...),
    endpoint_url: str | None = typer.Option("http://127.0.0.1:4566", help="S3 endpoint ('' for real AWS)."),
    bucket: str = typer.Option("nlp-local"),
    name: str | None = typer.Option(None, help="Relative name under incoming/<task>/ (default: the file name)."),
    document: bool = typer.Option(False, "--document", help="Upload under incoming/<task>/docs/ (whole document)."),
    wait: bool = typer.Option(False, help="Wait for the summary and print it."),
    wait_timeout: float = typer.Option(600.0),
) -> None:
    """Put a file under incoming/<task>/ (the trigger) and optionally wait for its summary."""
    from nlpserve.batch.keys import output_keys, parse_input_key
    from nlpserve.batch.local import clients

    s = BatchSettings.from_env()
    rel = (s.docs_dir if document else "") + (name or file.name)
    key = f"{s.incoming_prefix}{task}/{rel}"
    s3, _ = clients(endpoint_url or None)
    resp = s3.put_object(Bucket=bucket, Key=key, Body=file.read_bytes())
    etag = resp["ETag"].strip('"')
    keys = output_keys(parse_input_key(key, s), s, etag)
    typer.echo(f"uploaded s3://{bucket}/{key} (etag {etag}); results -> s3://{bucket}/{keys.results}")
    if not wait:
        return
    deadline = time.monotonic() + wait_timeout
    while time.monotonic() < deadline:
        try:
            summary = json.loads(s3.get_object(Bucket=bucket, Key=keys.summary)["Body"].read())
            if summary.get("source", {}).get("etag") == etag:
                typer.echo(json.dumps(summary, indent=1))
                return
        except s3.exceptions.NoSuchKey:
            pass
        time.sleep(0.5)
    typer.echo("timed out waiting for the summary", err=True)
    raise typer.Exit(1)


def _write_local(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)
