"""Layer builder: reproducible zips, size check, and the runtime layer proven by importing from it alone.

The slow tests build real layers with pip (warm pip cache: ~15-20 s each) and import nlpserve and its
dependencies in a subprocess that sees ONLY the layer's python/ dir plus the standard library.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest
from nlpbuild import layers as L

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "functions" / "nlpserve" / "handlers"
REPO_MODELS = ROOT / "build" / "models"
EVENTS = ROOT / "events"

# Modules may need what the runtime layer deliberately does not carry: the `local` extras of pyproject
# (typer, uvicorn, moto: CLI and local server). Failing on anything else is the point of the test.
_PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCAL_ONLY_DEPS = sorted(
    {
        L._req_name(r).replace("-", "_")
        for r in _PYPROJECT["project"]["optional-dependencies"].get("local", [])
    }
)


# --- helpers ----------------------------------------------------------------------------------------


def base_python() -> str:
    """The interpreter behind the venv: started with -I -S it sees no site-packages at all."""
    exe = getattr(sys, "_base_executable", None) or sys.executable
    return exe


def lambda_runtime_dir(tmp: Path) -> Path:
    """Stand-in for Lambda's own packages (/var/runtime: boto3 & co.), searched AFTER the layer."""
    d = tmp / "lambda-runtime"
    d.mkdir(exist_ok=True)
    import importlib.util

    for mod in ("boto3", "botocore", "s3transfer", "dateutil", "six", "urllib3"):
        spec = importlib.util.find_spec(mod)
        if spec is None or not spec.origin:
            continue
        src = Path(spec.origin)
        src = src.parent if src.name == "__init__.py" else src
        if not (d / src.name).exists():
            (d / src.name).symlink_to(src)
    return d


def run_isolated(python: str, paths: list[Path], code: str, env: dict | None = None, timeout: int = 300):
    """Run code with sys.path = paths + the standard library only (no site, no venv, no PYTHON* env)."""
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}\n"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    full_env.update(env or {})
    return subprocess.run(
        [python, "-I", "-S", "-B", "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )


def extract(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    return dest


def snapshot_project(dest: Path) -> Path:
    """pyproject + nlpserve source frozen in a tmp dir (others edit the repo while tests run)."""
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    shutil.copytree(
        ROOT / "functions" / "nlpserve",
        dest / "functions" / "nlpserve",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return dest


def fake_bundle(models_dir: Path, name: str = "tiny", size: int = 20_000) -> Path:
    b = models_dir / name
    b.mkdir(parents=True, exist_ok=True)
    (b / "model.onnx").write_bytes(os.urandom(size))
    (b / "tokenizer.json").write_text('{"version": "1.0"}')
    (b / "manifest.json").write_text(json.dumps({"name": name, "version": "1.0.0", "kind": "embedding"}))
    (b / "__pycache__").mkdir(exist_ok=True)  # junk that must not ship
    (b / "__pycache__" / "x.pyc").write_bytes(b"junk")
    return b


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return snapshot_project(tmp_path_factory.mktemp("proj") / "repo")


@pytest.fixture(scope="module")
def local_layer(tmp_path_factory, project) -> tuple[L.LayerInfo, Path, Path]:
    """Runtime layer for THIS interpreter and machine: (info, zip, extracted python/ dir)."""
    out = tmp_path_factory.mktemp("layers")
    info = L.build_runtime_layer(out, L.Target.local(), project_root=project, force=True)
    zip_path = out / info.path
    site = extract(zip_path, tmp_path_factory.mktemp("opt")) / "python"
    return info, zip_path, site


# --- fast tests -------------------------------------------------------------------------------------


def test_requirements_come_from_pyproject_without_lambda_provided():
    with_deps, no_deps = L.runtime_requirements(ROOT / "pyproject.toml")
    names = {L._req_name(r) for r in with_deps + no_deps}
    assert {
        "onnxruntime",
        "numpy",
        "tokenizers",
        "pydantic",
        "fastapi",
        "mangum",
        "aws-lambda-powertools",
    } <= names
    assert not names & {"boto3", "botocore"}
    assert [L._req_name(r) for r in no_deps] == ["tokenizers"]


def test_target_platform_tags():
    t = L.Target(python="3.12", arch="arm64")
    assert t.tag == "py312-arm64"
    plats = t.platforms()
    assert "manylinux2014_aarch64" in plats and "manylinux_2_28_aarch64" in plats
    assert plats[-1] == "manylinux_2_34_aarch64"
    with pytest.raises(L.LayerBuildError):
        L.Target(arch="mips")


def test_model_layer_is_reproducible_and_laid_out_for_opt_models(tmp_path):
    fake_bundle(tmp_path / "models", "tiny")
    a = L.build_model_layer(tmp_path / "models", "tiny", tmp_path / "a", force=True)
    b = L.build_model_layer(tmp_path / "models", "tiny", tmp_path / "b", force=True)
    assert a.sha256 == b.sha256
    za, zb = (tmp_path / d / "model-tiny.zip" for d in "ab")
    assert za.read_bytes() == zb.read_bytes()
    with zipfile.ZipFile(za) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert (
        names
        == sorted(names)
        == ["models/tiny/manifest.json", "models/tiny/model.onnx", "models/tiny/tokenizer.json"]
    )
    assert {i.date_time for i in infos} == {(1980, 1, 2, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    side = json.loads((tmp_path / "a" / "model-tiny.zip.json").read_text())
    assert side["sha256"] == a.sha256 and side["file_count"] == 3
    assert side["unzipped_bytes"] == sum(i.file_size for i in infos)
    assert side["zipped_bytes"] == za.stat().st_size


def test_model_layer_cache_skips_unchanged_and_rebuilds_changed(tmp_path):
    b = fake_bundle(tmp_path / "models", "tiny")
    first = L.build_model_layer(tmp_path / "models", "tiny", tmp_path / "out")
    zip_path = tmp_path / "out" / "model-tiny.zip"
    os.utime(zip_path, (1, 1))
    again = L.build_model_layer(tmp_path / "models", "tiny", tmp_path / "out")
    assert again.sha256 == first.sha256 and zip_path.stat().st_mtime == 1  # not rewritten
    (b / "model.onnx").write_bytes(os.urandom(100))
    changed = L.build_model_layer(tmp_path / "models", "tiny", tmp_path / "out")
    assert changed.sha256 != first.sha256 and zip_path.stat().st_mtime != 1
    # a tampered zip is rebuilt even though the inputs are unchanged
    zip_path.write_bytes(b"broken")
    assert L.build_model_layer(tmp_path / "models", "tiny", tmp_path / "out").sha256 == changed.sha256


def test_missing_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(L.LayerBuildError, match="python -m nlpbuild models"):
        L.build_model_layer(tmp_path, "sentiment", tmp_path / "out")


def test_function_specs_follow_the_architecture_table():
    specs = {s.name: s.bundles for s in L.function_specs()}
    assert specs == {
        "sentiment": ("sentiment",),
        "classify": ("classify",),
        "ner": ("ner",),
        "embed": ("embed",),
        "summarize": ("embed",),
        "language": (),  # py3langid's model is inside the runtime layer
        "entities": ("ner", "entities"),  # include_personal_data merges /v1/ner's entities
        "translate": (),  # its seq2seq bundle is the user's (seq2seq_models): it rides in the function's code
        "meta": (),
        "batch": ("embed", "classify", "sentiment", "ner", "entities"),
    }
    some = {s.name: s.bundles for s in L.function_specs(["sentiment", "redact"])}
    assert some == {"sentiment": ("sentiment",), "ner": ("ner",), "meta": (), "batch": ("sentiment", "ner")}
    with pytest.raises(L.LayerBuildError, match="unknown task"):
        L.function_specs(["transcribe"])


def test_size_check_passes_under_the_limit():
    sizes = L.check_function_sizes(
        {
            "runtime": 125_000_000,
            "embed": 25_000_000,
            "classify": 26_000_000,
            "sentiment": 25_000_000,
            "ner": 20_000_000,
            "entities": 24_000_000,
        }
    )
    by = {s.function: s for s in sizes}
    assert by["batch"].total_bytes == 245_000_000 and by["batch"].layer_count == 5 and by["batch"].ok
    assert by["meta"].total_bytes == 125_000_000
    assert "batch" in L.format_size_table(sizes)


def test_size_check_names_the_function_and_the_overshoot():
    infos = {"runtime": 200_000_000, "embed": 70_000_000, "sentiment": 10_000_000}
    fns = {"embed": ["embed"], "sentiment": ["sentiment"], "meta": []}
    with pytest.raises(L.FunctionSizeError) as err:
        L.check_function_sizes(infos, fns)
    msg = str(err.value)
    assert "'embed'" in msg and f"{270_000_000 - L.LAMBDA_UNZIPPED_LIMIT:,} bytes" in msg
    assert "'sentiment'" not in msg and "'meta'" not in msg
    by = {s.function: s for s in err.value.sizes}
    assert by["embed"].overshoot == 270_000_000 - 262_144_000 and not by["embed"].ok
    assert by["sentiment"].ok
    # function code counts too
    with pytest.raises(L.FunctionSizeError, match="'meta'"):
        L.check_function_sizes(infos, {"meta": []}, code_bytes={"meta": 70_000_000})
    # no raise when asked
    assert not all(s.ok for s in L.check_function_sizes(infos, fns, raise_on_error=False))


def test_bundles_past_four_count_towards_the_size_but_not_the_five_layers():
    """Issue 10: the batch function carries five bundles; the stack ships the fifth in its code asset."""
    infos = {"runtime": 1, **{b: 10 for b in "abcde"}}
    (size,) = L.check_function_sizes(infos, {"big": list("abcde")})
    assert size.layer_count == 5 and size.total_bytes == 51 and size.ok


def test_cli_exits_non_zero_when_a_function_is_too_big(tmp_path, capsys):
    """The CLI reads the sidecars of --out; fake sidecars, no builds."""
    out = tmp_path / "layers"
    out.mkdir()
    for name, kind, size, fname in (
        ("runtime", "runtime", 200_000_000, "runtime-py312-arm64.zip.json"),
        ("sentiment", "model", 70_000_000, "model-sentiment.zip.json"),
    ):
        info = L.LayerInfo(
            name=name,
            kind=kind,
            path=fname[:-5],
            sha256="0" * 64,
            zipped_bytes=1,
            unzipped_bytes=size,
            file_count=1,
            inputs_sha256="x",
        )
        (out / fname).write_text(info.to_json())
    rc = L.main(["--no-runtime", "--no-models", "--out", str(out), "--tasks", "sentiment"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "function 'sentiment'" in err and "over Lambda's" in err and "OVER by" in err
    assert "function 'batch'" in err  # batch carries the sentiment bundle too


def test_reproducible_zip_of_a_tree(tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "b.py").write_text("x = 1\n")
    (src / "pkg" / "a.so").write_bytes(b"\x7fELF")
    (src / "pkg" / "a.so").chmod(0o600)
    L.write_reproducible_zip(L.collect_files(src, "python"), tmp_path / "1.zip")
    os.utime(src / "pkg" / "b.py", (12345, 12345))
    L.write_reproducible_zip(L.collect_files(src, "python"), tmp_path / "2.zip")
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "1.zip") as zf:
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert modes == {"python/pkg/a.so": 0o755, "python/pkg/b.py": 0o644}


# --- slow: real layers ------------------------------------------------------------------------------


@pytest.mark.slow
def test_local_runtime_layer_contents(local_layer):
    info, zip_path, _site = local_layer
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
    assert all(n.startswith("python/") for n in names)
    assert "python/nlpserve/__init__.py" in names
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    assert not [n for n in names if n.endswith(".pyi") or "/tests/" in n or n.startswith("python/bin/")]
    assert not [
        n
        for n in names
        if n.startswith(
            (
                "python/numpy/f2py/",
                "python/onnxruntime/tools/",
                "python/onnxruntime/transformers/",
                "python/boto3/",
                "python/botocore/",
            )
        )
    ]
    pycs = [n for n in names if n.endswith(".pyc")]
    assert pycs and all(f".{tag}." in n for n in pycs)  # compiled for this interpreter only
    assert info.contents["bytecode"]["compiled"] is True
    assert {"onnxruntime", "numpy", "tokenizers", "fastapi", "mangum", "aws-lambda-powertools"} <= set(
        info.contents["packages"]
    )
    assert "huggingface-hub" not in info.contents["packages"]  # tokenizers went in with --no-deps
    assert info.unzipped_bytes < 200_000_000, L.mb(info.unzipped_bytes)


@pytest.mark.slow
def test_nlpserve_and_deps_import_from_the_layer_alone(local_layer, tmp_path):
    _info, _zip, site = local_layer
    code = """
        import importlib, json, pkgutil, sys
        assert not any('site-packages' in p for p in sys.path), sys.path
        mods = {}
        for name in ("nlpserve", "onnxruntime", "tokenizers", "numpy", "pydantic", "fastapi", "mangum",
                     "aws_lambda_powertools"):
            mods[name] = importlib.import_module(name).__file__
        import nlpserve
        failed = {}
        for m in pkgutil.walk_packages(nlpserve.__path__, "nlpserve."):
            if m.name.startswith("nlpserve.handlers."):
                continue  # handlers load models at import: see the handler tests
            try:
                importlib.import_module(m.name)
            except ModuleNotFoundError as e:
                if (e.name or "").split(".")[0] not in LOCAL_ONLY:  # local-only deps: CLI, dev server
                    failed[m.name] = repr(e)
            except Exception as e:
                failed[m.name] = repr(e)
        print(json.dumps({"files": mods, "failed": failed}))
    """.replace("LOCAL_ONLY", repr(LOCAL_ONLY_DEPS))
    proc = run_isolated(base_python(), [site, lambda_runtime_dir(tmp_path)], code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, f in res["files"].items():
        assert Path(f).is_relative_to(site), f"{name} imported from {f}, not from the layer"
    assert res["failed"] == {}, res["failed"]


def _fake_context_code() -> str:
    return """
        class Ctx:
            function_name = "sentiment"; function_version = "$LATEST"; memory_limit_in_mb = 1024
            invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:sentiment"
            aws_request_id = "req-1"; log_group_name = "/aws/lambda/sentiment"; log_stream_name = "s"
            def get_remaining_time_in_millis(self): return 30000
    """


def synthetic_sentiment_bundle(models_dir: Path) -> Path:
    """A tiny but real bundle (WordLevel tokenizer + ONNX graph -> probabilities [batch, 3])."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer, models, pre_tokenizers

    b = models_dir / "sentiment"
    b.mkdir(parents=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "terrible", "waste", "movie", "love", "great"]
    vocab = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(b / "tokenizer.json"))
    # per-token scores for (negative, neutral, positive), summed over unmasked tokens, softmaxed
    table = [[0, 0, 0]] * 4 + [[3, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 3], [0, 0, 2]]
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["E", "input_ids"], ["g"]),
            helper.make_node("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["mf", "ax2"], ["m3"]),
            helper.make_node("Mul", ["g", "m3"], ["gm"]),
            helper.make_node("ReduceSum", ["gm", "ax1"], ["s"], keepdims=0),
            helper.make_node("Softmax", ["s"], ["probabilities"], axis=-1),
        ],
        "synthetic-sentiment",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
            for n in ("input_ids", "attention_mask", "token_type_ids")
        ],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])],
        [
            helper.make_tensor(
                "E", TensorProto.FLOAT, [len(words), 3], [float(v) for row in table for v in row]
            ),
            helper.make_tensor("ax1", TensorProto.INT64, [1], [1]),
            helper.make_tensor("ax2", TensorProto.INT64, [1], [2]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(b / "model.onnx"))
    manifest = {
        "name": "sentiment",
        "version": "0.0.1",
        "kind": "sequence-classification",
        "output": "probabilities",
        "labels": ["negative", "neutral", "positive"],
        "max_length": 64,
        "description": "synthetic test bundle",
    }
    (b / "manifest.json").write_text(json.dumps(manifest))
    return b


def _run_sentiment_handler(site: Path, models_root: Path, tmp_path: Path) -> dict:
    """The Lambda picture: runtime layer at /opt/python, model layer at /opt/models, handler invoked."""
    mlayer = L.build_model_layer(models_root, "sentiment", tmp_path / "layers", force=True)
    opt = extract(tmp_path / "layers" / mlayer.path, tmp_path / "opt")
    code = (
        _fake_context_code()
        + """
        import json, sys
        import nlpserve.handlers.sentiment as h
        assert h.__file__.startswith(LAYER), h.__file__
        event = json.load(open(EVENT))
        resp = h.handler(event, Ctx())
        print(json.dumps(resp))
    """.replace("LAYER", repr(str(site))).replace("EVENT", repr(str(EVENTS / "http_v2_sentiment.json")))
    )
    env = {
        "NLP_MODELS_DIR": str(opt / "models"),
        "NLP_TASKS": "sentiment",
        "POWERTOOLS_METRICS_NAMESPACE": "test",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    proc = run_isolated(base_python(), [site, lambda_runtime_dir(tmp_path)], code, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    resp = json.loads(proc.stdout.strip().splitlines()[-1])
    assert resp["statusCode"] == 200, resp
    return json.loads(resp["body"])


def _labels(body) -> list[str]:
    if isinstance(body, dict):
        return ([body["label"]] if isinstance(body.get("label"), str) else []) + [
            x for v in body.values() for x in _labels(v)
        ]
    if isinstance(body, list):
        return [x for v in body for x in _labels(v)]
    return []


needs_handler = pytest.mark.skipif(
    not ((HANDLERS / "sentiment.py").is_file() and (EVENTS / "http_v2_sentiment.json").is_file()),
    reason="no sentiment handler or sample event yet",
)


@pytest.mark.slow
@needs_handler
def test_sentiment_handler_runs_from_layers_with_a_synthetic_bundle(local_layer, tmp_path):
    _info, _zip, site = local_layer
    synthetic_sentiment_bundle(tmp_path / "models")
    body = _run_sentiment_handler(site, tmp_path / "models", tmp_path)
    # event texts: "I love this movie", "This was a terrible waste of time"
    assert _labels(body) == ["positive", "negative"], body


@pytest.mark.slow
@needs_handler
@pytest.mark.skipif(
    not (REPO_MODELS / "sentiment" / "manifest.json").is_file(), reason="no sentiment bundle built"
)
def test_sentiment_handler_runs_from_layers_with_the_real_bundle(local_layer, tmp_path):
    _info, _zip, site = local_layer
    body = _run_sentiment_handler(site, REPO_MODELS, tmp_path)
    labels = _labels(body)
    assert len(labels) == 2 and set(labels) <= {"negative", "neutral", "positive"}, body


@pytest.mark.slow
def test_runtime_layer_is_byte_identical_when_rebuilt(local_layer, project, tmp_path):
    info, zip_path, _site = local_layer
    again = L.build_runtime_layer(tmp_path, L.Target.local(), project_root=project, force=True)
    assert again.sha256 == info.sha256
    assert (tmp_path / again.path).read_bytes() == zip_path.read_bytes()


@pytest.mark.slow
def test_runtime_layer_cache_skip(local_layer, project, tmp_path):
    info, zip_path, _site = local_layer
    skipped = L.build_runtime_layer(zip_path.parent, L.Target.local(), project_root=project)
    assert skipped.sha256 == info.sha256


def _elf_machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF"
    return int.from_bytes(data[18:20], "little")


@pytest.mark.slow
def test_cross_build_py312_arm64_has_aarch64_binaries(tmp_path, project):
    info = L.build_runtime_layer(tmp_path, L.Target(python="3.12", arch="arm64"), project_root=project)
    with zipfile.ZipFile(tmp_path / info.path) as zf:
        sos = [n for n in zf.namelist() if "onnxruntime_pybind11_state" in n]
        assert len(sos) == 1 and "cpython-312-aarch64" in sos[0], sos
        assert _elf_machine(zf.read(sos[0])[:64]) == 183  # EM_AARCH64
        names = zf.namelist()
    pycs = [n for n in names if n.endswith(".pyc")]
    compiler, _note = L.find_interpreter("3.12")
    if compiler:
        assert info.contents["bytecode"]["compiled"] and pycs and all(".cpython-312." in n for n in pycs)
    else:
        assert not info.contents["bytecode"]["compiled"] and not pycs
    assert info.unzipped_bytes < L.LAMBDA_UNZIPPED_LIMIT


@pytest.mark.slow
@pytest.mark.skipif(L.find_interpreter("3.12")[0] is None, reason="no python 3.12 on this machine")
def test_cross_build_py312_x86_64_imports_under_python312(tmp_path, project):
    """The Lambda target version, proven with a real 3.12: the layer's pycs and wheels load there."""
    info = L.build_runtime_layer(
        tmp_path / "out", L.Target(python="3.12", arch="x86_64"), project_root=project
    )
    if L.Target.local().arch != "x86_64":
        pytest.skip("this machine cannot run x86_64 extension modules")
    site = extract(tmp_path / "out" / info.path, tmp_path / "opt") / "python"
    py312 = L.find_interpreter("3.12")[0]
    # Unchecked-hash pycs are used without looking at the source: break a source file to prove it.
    init = site / "nlpserve" / "__init__.py"
    init.write_text(init.read_text() + "\nraise RuntimeError('source executed instead of the shipped pyc')\n")
    code = """
        import json, sys
        import nlpserve, onnxruntime, tokenizers, numpy, fastapi, mangum, aws_lambda_powertools
        import nlpserve.api, nlpserve.runtime.bundle
        print(json.dumps({"v": list(sys.version_info[:2]), "nlpserve": nlpserve.__file__,
                          "ort": onnxruntime.__file__}))
    """
    proc = run_isolated(py312, [site], code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["v"] == [3, 12]
    assert Path(res["nlpserve"]).is_relative_to(site) and Path(res["ort"]).is_relative_to(site)
