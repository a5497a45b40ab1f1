"""Lambda layer builder: runtime layer + one model layer per bundle, reproducible zips, size check.

    python -m nlpbuild layers [--arch arm64|x86_64] [--python 3.12] [--models-dir build/models]
                              [--out build/layers] [--tasks sentiment classify ...] [--force]

Without Docker: pip resolves the runtime dependencies of ``pyproject.toml`` ([project.dependencies],
minus what Lambda already provides) for the TARGET platform with ``--platform/--python-version/
--only-binary=:all:``; ``tokenizers`` is installed with ``--no-deps`` (its deps pull the hub client).
Our own package ``nlpserve`` is copied from ``functions/nlpserve``.

Outputs (all under ``--out``):
  runtime-py<ver>-<arch>.zip (+ .json sidecar)   python/<packages>, python/nlpserve
  model-<bundle>.zip (+ .json sidecar)            models/<bundle>/<files>  (mounted at /opt/models/<bundle>)

Zips are reproducible: sorted entries, fixed time (1980-01-02), fixed permissions, deflate, no extra
fields; byte-identical for identical inputs. Bytecode is compiled with an interpreter of the TARGET
python version (the local one, or another one found on this machine; see ``find_interpreter``) as
unchecked-hash pycs whose recorded source path is the Lambda path (/opt/python/...), so they are
reproducible too. Without a matching interpreter the layer ships source only (and says so).

``check_function_sizes`` checks Lambda's 250 MB unzipped limit (function code + all its layers) and the
5-layers limit per function; the CDK app can call it with ``load_layer_infos(out_dir)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from nlpserve import catalog
from nlpserve.catalog import FunctionSpec

BUILDER_VERSION = "nlpbuild-layers 1"

#: Lambda's hard limit: function code + all layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 262_144_000
#: Lambda allows at most 5 layers per function.
LAMBDA_MAX_LAYERS = 5

#: Packages Lambda's Python runtime already provides: never put them in the layer.
LAMBDA_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
#: Installed with --no-deps (tokenizers' deps pull huggingface-hub + httpx, ~30 MB we do not need).
NO_DEPS = frozenset({"tokenizers"})

ARCH_MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}
#: Lambda python3.12+ runs on Amazon Linux 2023 (glibc 2.34). python3.11 and older run on Amazon
#: Linux 2 (glibc 2.26): pass --glibc 2.26 there (onnxruntime >= 1.20 ships manylinux_2_28 wheels only).
DEFAULT_GLIBC = "2.34"

#: Where a layer is mounted in Lambda: recorded as the source path inside compiled bytecode, so the
#: pycs do not depend on the random staging dir (the import system rewrites it to the real path anyway).
LAMBDA_PYTHON_DIR = "/opt/python"
FIXED_DATE_TIME = (1980, 1, 2, 0, 0, 0)

#: Task -> model bundle, from the catalogue (``nlpserve.catalog``).
TASK_BUNDLES: dict[str, str | None] = {t.name: t.bundle for t in catalog.TASKS}

# --- slimming rules (relative to python/; fnmatch patterns on POSIX paths) -------------------------
#: Directories removed wherever they appear.
SLIM_DIR_NAMES = frozenset({"__pycache__", "tests", "testing_data"})
#: Directories removed at these exact paths.
SLIM_DIRS = (
    "bin",
    "numpy/f2py",
    "numpy/_core/include",
    "numpy/core/include",
    "numpy/_pyinstaller",
    "numpy/doc",
    "onnxruntime/tools",
    "onnxruntime/transformers",
    "onnxruntime/quantization",
    "onnxruntime/training",
    "onnxruntime/datasets",
)
#: Files removed (basename patterns).
SLIM_FILE_PATTERNS = ("*.pyc", "*.pyo", "*.pyi", "*.pxd", "*.pyx", "*.h", "*.hpp", "*.c", "*.cpp")
#: Files removed at these paths (fnmatch on the path relative to python/).
#: libonnxruntime.so is the C API library for native consumers (onnxruntime-genai, plugin EPs): the
#: Python binding (onnxruntime_pybind11_state*.so) embeds the whole runtime and does not link or load it
#: (readelf NEEDED: only libc/libstdc++ & co.); sessions incl. int8/contrib ops run without it. -35 MB.
SLIM_PATHS = ("onnxruntime/capi/libonnxruntime.so*",)
#: dist-info members removed: RECORD lists files we deleted (and hashes), direct_url.json holds
#: machine-local paths (not reproducible), INSTALLER/REQUESTED are pip bookkeeping. METADATA stays:
#: onnxruntime and others call importlib.metadata at import time.
SLIM_DIST_INFO_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


class LayerBuildError(RuntimeError):
    """A layer could not be built (pip failure, missing bundle, bad arguments)."""


class FunctionSizeError(LayerBuildError):
    """One or more functions exceed Lambda's unzipped size limit or layer count."""

    def __init__(self, message: str, sizes: list[FunctionSize]):
        super().__init__(message)
        self.sizes = sizes


# --- progress ---------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[layers] {msg}", file=sys.stderr, flush=True)


class Step:
    """Context manager that logs a step's start and its duration."""

    def __init__(self, title: str):
        self.title = title
        self.t0 = 0.0
        self.note = ""

    def __enter__(self) -> Step:  # noqa: PYI034
        self.t0 = time.perf_counter()
        log(f"{self.title} ...")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        dt = time.perf_counter() - self.t0
        status = "FAILED" if exc_type else "done"
        log(f"{self.title}: {status} in {dt:.1f}s{(' - ' + self.note) if self.note else ''}")


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# --- data -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Target:
    python: str = "3.12"  # "3.12"
    arch: str = "arm64"  # arm64 | x86_64
    glibc: str = DEFAULT_GLIBC

    def __post_init__(self) -> None:
        if self.arch not in ARCH_MACHINE:
            raise LayerBuildError(f"unknown arch {self.arch!r}: use one of {sorted(ARCH_MACHINE)}")
        if not re.fullmatch(r"3\.\d+", self.python):
            raise LayerBuildError(f"python version must look like 3.12, got {self.python!r}")
        if not re.fullmatch(r"2\.\d+", self.glibc):
            raise LayerBuildError(f"glibc version must look like 2.34, got {self.glibc!r}")

    @property
    def machine(self) -> str:
        return ARCH_MACHINE[self.arch]

    @property
    def tag(self) -> str:
        return f"py{self.python.replace('.', '')}-{self.arch}"

    def platforms(self) -> list[str]:
        """manylinux tags pip may accept for this target (pip does not expand them itself)."""
        m = self.machine
        top = int(self.glibc.split(".")[1])
        tags = [f"manylinux2014_{m}"] + [f"manylinux_2_{v}_{m}" for v in range(17, top + 1)]
        return tags

    @classmethod
    def local(cls) -> Target:
        arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
            platform.machine().lower()
        ]
        return cls(python=f"{sys.version_info.major}.{sys.version_info.minor}", arch=arch)


@dataclasses.dataclass
class LayerInfo:
    """What a sidecar json says about one layer zip."""

    name: str  # "runtime" or the bundle name
    kind: str  # "runtime" | "model"
    path: str
    sha256: str
    zipped_bytes: int
    unzipped_bytes: int
    file_count: int
    inputs_sha256: str
    contents: dict = dataclasses.field(default_factory=dict)
    target: dict | None = None
    builder: str = BUILDER_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> LayerInfo:
        data = json.loads(Path(path).read_text())
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclasses.dataclass
class FunctionSize:
    function: str
    code_bytes: int
    runtime_bytes: int
    model_bytes: dict[str, int]
    layer_count: int
    limit: int = LAMBDA_UNZIPPED_LIMIT

    @property
    def total_bytes(self) -> int:
        return self.code_bytes + self.runtime_bytes + sum(self.model_bytes.values())

    @property
    def overshoot(self) -> int:
        return max(0, self.total_bytes - self.limit)

    @property
    def headroom(self) -> int:
        return self.limit - self.total_bytes

    @property
    def ok(self) -> bool:
        return self.overshoot == 0 and self.layer_count <= LAMBDA_MAX_LAYERS


# --- project inputs ---------------------------------------------------------------------------------


def find_project_root(start: str | os.PathLike | None = None) -> Path:
    """The repo root: holds pyproject.toml and functions/nlpserve."""

    def ok(p: Path) -> bool:
        return (p / "pyproject.toml").is_file() and (p / "functions" / "nlpserve").is_dir()

    env = os.environ.get("NLPBUILD_PROJECT_ROOT")
    candidates = [Path(env)] if env else []
    if start is not None:
        candidates.append(Path(start))
    candidates.append(Path(__file__).resolve().parents[2])
    cwd = Path.cwd().resolve()
    candidates += [cwd, *cwd.parents]
    for c in candidates:
        if ok(c):
            return c.resolve()
    raise LayerBuildError("cannot find the project root (pyproject.toml + functions/nlpserve)")


def _req_name(req: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    if not m:
        raise LayerBuildError(f"cannot parse requirement {req!r}")
    return re.sub(r"[-_.]+", "-", m.group(1)).lower()


def runtime_requirements(pyproject: str | os.PathLike) -> tuple[list[str], list[str]]:
    """(with_deps, no_deps) requirement strings from [project.dependencies], minus Lambda-provided."""
    data = tomllib.loads(Path(pyproject).read_text())
    deps = data.get("project", {}).get("dependencies", [])
    with_deps, no_deps = [], []
    for req in deps:
        name = _req_name(req)
        if name in LAMBDA_PROVIDED:
            continue
        (no_deps if name in NO_DEPS else with_deps).append(req.strip())
    return sorted(with_deps, key=str.lower), sorted(no_deps, key=str.lower)


def _is_junk(rel: Path) -> bool:
    return any(p == "__pycache__" or p.startswith(".") for p in rel.parts) or rel.suffix in (".pyc", ".pyo")


def package_files(pkg_dir: Path) -> list[Path]:
    """Files of our package to ship (sorted, relative): everything but caches and hidden files."""
    out = []
    for p in pkg_dir.rglob("*"):
        rel = p.relative_to(pkg_dir)
        if p.is_file() and not _is_junk(rel):
            out.append(rel)
    return sorted(out, key=lambda r: r.as_posix())


def tree_sha256(root: Path, files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for rel in files:
        h.update(rel.as_posix().encode() + b"\0")
        h.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _builder_sha256() -> str:
    """Hash of this module: a change in the recipe invalidates cached layers."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


# --- interpreter for bytecode -----------------------------------------------------------------------


def _probe_python(exe: str) -> str | None:
    """'3.12.1' if exe runs, else None."""
    try:
        out = subprocess.run(
            [exe, "-I", "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def find_interpreter(version: str, explicit: str | None = None) -> tuple[str | None, str]:
    """An interpreter of the target minor version, for compiling bytecode -> (path or None, note).

    Order: --python-bin, $NLPBUILD_PYTHON_<major><minor>, the running interpreter, python<ver> on PATH,
    pyenv / uv / common install locations. Bytecode is arch-independent, so any build of that minor
    version will do (the pyc magic number is fixed within a minor release).
    """
    env = os.environ.get(f"NLPBUILD_PYTHON_{version.replace('.', '')}")
    cands: list[str] = []
    if explicit:
        cands.append(explicit)
    if env:
        cands.append(env)
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable, f"local interpreter {platform.python_version()}"
    w = shutil.which(f"python{version}")
    if w:
        cands.append(w)
    home = Path.home()
    for pattern_root, pattern in (
        (home / ".pyenv" / "versions", f"{version}*/bin/python{version}"),
        (Path(os.environ.get("PYENV_ROOT", "/nonexistent")) / "versions", f"{version}*/bin/python{version}"),
        (home / ".local" / "share" / "uv" / "python", f"cpython-{version}*/bin/python{version}"),
    ):
        if pattern_root.is_dir():
            cands += [str(p) for p in sorted(pattern_root.glob(pattern), reverse=True)]
    cands += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    seen = set()
    for c in cands:
        if c in seen or not (os.path.isfile(c) or shutil.which(c)):
            continue
        seen.add(c)
        got = _probe_python(c)
        if got and got.rsplit(".", 1)[0] == version:
            return c, f"{c} ({got})"
        if explicit and c == explicit:
            raise LayerBuildError(f"--python-bin {explicit} is not a working python {version} (got {got})")
    return None, f"no python {version} interpreter found on this machine"


# --- zip --------------------------------------------------------------------------------------------


def _file_mode(path: Path) -> int:
    st = path.stat()
    executable = bool(st.st_mode & 0o111) or path.suffix == ".so" or ".so." in path.name
    return 0o755 if executable else 0o644


def collect_files(root: Path, prefix: str) -> list[tuple[str, Path]]:
    """(arcname, path) for every regular file under root, sorted by arcname. Symlinks are followed."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for fn in filenames:
            p = Path(dirpath) / fn
            if not p.is_file():
                continue
            arc = f"{prefix}/{p.relative_to(root).as_posix()}" if prefix else p.relative_to(root).as_posix()
            entries.append((arc, p))
    entries.sort(key=lambda e: e[0])
    return entries


def write_reproducible_zip(
    entries: Sequence[tuple[str, Path]], zip_path: Path, compresslevel: int = 6
) -> None:
    """Sorted entries, fixed times/permissions, deflate, no extra fields -> byte-identical for same inputs."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for arc, path in sorted(entries, key=lambda e: e[0]):
            zi = zipfile.ZipInfo(arc, date_time=FIXED_DATE_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            # ZipFile.open(zinfo, "w") takes the level from the ZipInfo, not the ZipFile
            slot = "compress_level" if "compress_level" in zipfile.ZipInfo.__slots__ else "_compresslevel"
            setattr(zi, slot, compresslevel)
            zi.create_system = 3  # unix, so external_attr carries the mode
            zi.external_attr = ((stat.S_IFREG | _file_mode(path)) & 0xFFFF) << 16
            with open(path, "rb") as src, zf.open(zi, "w", force_zip64=False) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(tmp, zip_path)


def zip_stats(zip_path: Path) -> tuple[int, int]:
    """(file_count, unzipped_bytes)."""
    with zipfile.ZipFile(zip_path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
    return len(infos), sum(i.file_size for i in infos)


def _cached(zip_path: Path, inputs_sha: str) -> LayerInfo | None:
    side = sidecar_path(zip_path)
    if not (zip_path.is_file() and side.is_file()):
        return None
    try:
        info = LayerInfo.from_json_file(side)
    except (ValueError, TypeError):
        return None
    if info.inputs_sha256 != inputs_sha or info.zipped_bytes != zip_path.stat().st_size:
        return None
    if file_sha256(zip_path) != info.sha256:
        return None
    return info


def sidecar_path(zip_path: Path) -> Path:
    return zip_path.with_name(zip_path.name + ".json")


def _finish(
    zip_path: Path, name: str, kind: str, inputs_sha: str, contents: dict, target: dict | None
) -> LayerInfo:
    count, unzipped = zip_stats(zip_path)
    info = LayerInfo(
        name=name,
        kind=kind,
        path=zip_path.name,
        sha256=file_sha256(zip_path),
        zipped_bytes=zip_path.stat().st_size,
        unzipped_bytes=unzipped,
        file_count=count,
        inputs_sha256=inputs_sha,
        contents=contents,
        target=target,
    )
    sidecar_path(zip_path).write_text(info.to_json())
    return info


# --- runtime layer ----------------------------------------------------------------------------------


def _pip_install(reqs: list[str], dest: Path, target: Target, no_deps: bool, pip_args: Sequence[str]) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",
        "--target",
        str(dest),
        "--implementation",
        "cp",
        "--python-version",
        target.python,
        "--only-binary=:all:",
        "--upgrade",
    ]
    for plat in target.platforms():
        cmd += ["--platform", plat]
    if no_deps:
        cmd.append("--no-deps")
    cmd += list(pip_args) + reqs
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise LayerBuildError(f"pip failed ({' '.join(reqs)}) for {target.tag}:\n{tail}")


def _merge_tree(src: Path, dst: Path) -> None:
    for item in sorted(src.iterdir()):
        target = dst / item.name
        if target.exists():
            if item.is_dir() and target.is_dir():
                _merge_tree(item, target)
                continue
            raise LayerBuildError(f"layer conflict: {target.name} installed twice")
        shutil.move(str(item), str(target))


def _drop_dists(site: Path, names: Iterable[str]) -> list[str]:
    """Uninstall distributions (by RECORD) from a --target dir; returns the dropped names."""
    names = set(names)
    dropped = []
    for d in sorted(site.glob("*.dist-info")):
        if _req_name(d.name.split("-")[0]) not in names:
            continue
        record = d / "RECORD"
        if record.is_file():
            for line in record.read_text().splitlines():
                rel = line.split(",")[0]
                f = site / rel
                if rel and f.is_file() and site in f.resolve().parents:
                    f.unlink()
        shutil.rmtree(d, ignore_errors=True)
        dropped.append(d.name)
    for dirpath, _dirs, _files in os.walk(site, topdown=False):
        if Path(dirpath) != site and not os.listdir(dirpath):
            os.rmdir(dirpath)
    return dropped


def _tree_bytes(p: Path) -> int:
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def slim(site: Path) -> dict[str, int]:
    """Delete what a Lambda never imports; returns bytes removed per rule."""
    removed: dict[str, int] = {}

    def rm(p: Path, rule: str) -> None:
        if not p.exists() and not p.is_symlink():
            return
        removed[rule] = removed.get(rule, 0) + _tree_bytes(p)
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()

    for rel in SLIM_DIRS:
        rm(site / rel, rel)
    for dirpath, dirnames, filenames in os.walk(site, topdown=True):
        d = Path(dirpath)
        for dn in list(dirnames):
            if dn in SLIM_DIR_NAMES:
                rm(d / dn, f"*/{dn}/")
                dirnames.remove(dn)
        for fn in filenames:
            if d.name.endswith(".dist-info") and fn in SLIM_DIST_INFO_FILES:
                rm(d / fn, f"*.dist-info/{fn}")
                continue
            rel = (d / fn).relative_to(site).as_posix()
            hit = next((pat for pat in SLIM_PATHS if fnmatch.fnmatch(rel, pat)), None)
            if hit:
                rm(d / fn, hit)
                continue
            for pat in SLIM_FILE_PATTERNS:
                if fnmatch.fnmatch(fn, pat):
                    rm(d / fn, pat)
                    break
    # empty directories left behind
    for dirpath, dirnames, filenames in os.walk(site, topdown=False):
        if not os.listdir(dirpath) and Path(dirpath) != site:
            os.rmdir(dirpath)
    return dict(sorted(removed.items()))


def compile_bytecode(site: Path, python_exe: str) -> tuple[int, list[str]]:
    """Compile every .py under site with the target interpreter: unchecked-hash pycs (no mtimes) whose
    co_filename is the Lambda path. Optimisation level 0 = what Lambda's interpreter loads (opt-1/2
    pycs are only used under -O/PYTHONOPTIMIZE). Returns (pyc count, errors)."""
    cmd = [
        python_exe,
        "-I",
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(site),
        "-p",
        LAMBDA_PYTHON_DIR,
        str(site),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["SOURCE_DATE_EPOCH"] = "315964800"
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    errors = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    return sum(1 for _ in site.rglob("*.pyc")), (errors if proc.returncode != 0 else [])


def _dist_versions(site: Path) -> dict[str, str]:
    out = {}
    for d in sorted(site.glob("*.dist-info")):
        m = re.match(r"(.+?)-([^-]+)\.dist-info$", d.name)
        if m:
            out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return out


def build_runtime_layer(
    out_dir: str | os.PathLike,
    target: Target | None = None,
    *,
    project_root: str | os.PathLike | None = None,
    bytecode: bool = True,
    python_bin: str | None = None,
    force: bool = False,
    pip_args: Sequence[str] = (),
) -> LayerInfo:
    """Build (or reuse) runtime-py<ver>-<arch>.zip: python/<deps> + python/nlpserve."""
    target = target or Target()
    out = Path(out_dir)
    root = find_project_root(project_root)
    with_deps, no_deps = runtime_requirements(root / "pyproject.toml")
    pkg_dir = root / "functions" / "nlpserve"
    pkg_files = package_files(pkg_dir)
    pkg_sha = tree_sha256(pkg_dir, pkg_files)

    compiler, compiler_note = (None, "disabled (--no-compile)")
    if bytecode:
        compiler, compiler_note = find_interpreter(target.python, python_bin)
    compiler_version = _probe_python(compiler) if compiler else None

    inputs = {
        "builder": BUILDER_VERSION,
        "builder_sha256": _builder_sha256(),
        "requirements": with_deps,
        "requirements_no_deps": no_deps,
        "target": dataclasses.asdict(target),
        "platforms": target.platforms(),
        "pip_args": list(pip_args),
        "nlpserve_sha256": pkg_sha,
        "bytecode": compiler_version and compiler_version.rsplit(".", 1)[0],
    }
    inputs_sha = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    zip_path = out / f"runtime-{target.tag}.zip"
    title = f"runtime layer {zip_path.name}"

    if not force and (cached := _cached(zip_path, inputs_sha)):
        log(
            f"{title}: up to date (inputs {inputs_sha[:12]}), {mb(cached.zipped_bytes)} zipped / "
            f"{mb(cached.unzipped_bytes)} unzipped - skipped (use --force to rebuild)"
        )
        return cached

    t_start = time.perf_counter()
    log(
        f"{title}: target python {target.python} {target.arch} ({target.platforms()[0]} .. "
        f"{target.platforms()[-1]})"
    )
    with tempfile.TemporaryDirectory(prefix=f"nlpbuild-{target.tag}-") as tmp:
        stage = Path(tmp) / "python"
        nodeps_dir = Path(tmp) / "nodeps"
        with Step(f"pip install {len(with_deps)} requirements (+deps)") as s:
            _pip_install(with_deps, stage, target, no_deps=False, pip_args=pip_args)
            s.note = mb(_tree_bytes(stage))
        if no_deps:
            with Step(f"pip install --no-deps {' '.join(no_deps)}") as s:
                _pip_install(no_deps, nodeps_dir, target, no_deps=True, pip_args=pip_args)
                s.note = mb(_tree_bytes(nodeps_dir))
                _merge_tree(nodeps_dir, stage)
        leaked = _drop_dists(stage, LAMBDA_PROVIDED)
        if leaked:
            log(f"dropped Lambda-provided packages pulled in by dependencies: {leaked}")
        with Step("copy nlpserve") as s:
            if (stage / "nlpserve").exists():
                raise LayerBuildError("a dependency installed a package named nlpserve")
            for rel in pkg_files:
                dst = stage / "nlpserve" / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(pkg_dir / rel, dst)
            s.note = f"{len(pkg_files)} files, {mb(_tree_bytes(stage / 'nlpserve'))}"
        before = _tree_bytes(stage)
        with Step("slim") as s:
            removed = slim(stage)
            after = _tree_bytes(stage)
            s.note = f"{mb(before)} -> {mb(after)} (removed {mb(before - after)})"
        bytecode_info: dict = {"compiled": False, "interpreter": compiler_version, "note": compiler_note}
        if compiler:
            with Step(f"compile bytecode with python {compiler_version}") as s:
                n, errors = compile_bytecode(stage, compiler)
                grown = _tree_bytes(stage) - after
                s.note = f"{n} pyc files, +{mb(grown)}"
                if errors:
                    log(
                        "compileall reported errors (those modules ship as source only):\n  "
                        + "\n  ".join(errors[:20])
                    )
            bytecode_info.update(
                compiled=True,
                pyc_files=n,
                pyc_bytes=grown,
                errors=errors[:50],
                invalidation_mode="unchecked-hash",
                optimization=0,
                source_path_prefix=LAMBDA_PYTHON_DIR,
            )
        else:
            log(
                f"bytecode NOT compiled for python {target.python}: {compiler_note}. The layer ships "
                "source only; Lambda compiles on each cold start (read-only /opt, no pyc cache)."
            )
        versions = _dist_versions(stage)
        top = {}
        for p in sorted(stage.iterdir()):
            if not p.name.endswith(".dist-info"):
                top[p.name] = _tree_bytes(p)
        with Step("zip") as s:
            write_reproducible_zip(collect_files(stage, "python"), zip_path)
            s.note = mb(zip_path.stat().st_size)
    contents = {
        "packages": versions,
        "requirements": with_deps + [f"{r} (--no-deps)" for r in no_deps],
        "excluded_lambda_provided": sorted(LAMBDA_PROVIDED),
        "nlpserve": {"files": len(pkg_files), "sha256": pkg_sha},
        "top_level_bytes": dict(sorted(top.items(), key=lambda kv: -kv[1])),
        "slimmed_bytes": removed,
        "bytecode": bytecode_info,
    }
    info = _finish(
        zip_path,
        "runtime",
        "runtime",
        inputs_sha,
        contents,
        {**dataclasses.asdict(target), "platforms": target.platforms()},
    )
    log(
        f"{title}: {mb(info.zipped_bytes)} zipped / {mb(info.unzipped_bytes)} unzipped, "
        f"{info.file_count} files, sha256 {info.sha256[:16]} ({time.perf_counter() - t_start:.1f}s)"
    )
    return info


# --- model layers -----------------------------------------------------------------------------------


def build_model_layer(
    models_dir: str | os.PathLike, bundle: str, out_dir: str | os.PathLike, *, force: bool = False
) -> LayerInfo:
    """Build (or reuse) model-<bundle>.zip holding models/<bundle>/<files>."""
    src = Path(models_dir) / bundle
    if not src.is_dir():
        raise LayerBuildError(
            f"model bundle {bundle!r} not found at {src} (build it with `python -m nlpbuild models`)"
        )
    files = package_files(src)
    if not files:
        raise LayerBuildError(f"model bundle {bundle!r} at {src} is empty")
    try:
        manifest = json.loads((src / "manifest.json").read_text())
    except (OSError, ValueError):
        manifest = None
    expected = ("model.onnx", "tokenizer.json", "manifest.json")
    if manifest is not None and manifest.get("kind") == "seq2seq":  # (nlpbuild seq2seq) lists its own files
        expected = (*(manifest.get("files") or {}), "manifest.json")
    missing = [f for f in expected if not (src / f).is_file()]
    if missing:
        log(f"warning: bundle {bundle!r} lacks {missing}")
    inputs = {
        "builder": BUILDER_VERSION,
        "builder_sha256": _builder_sha256(),
        "bundle": bundle,
        "files_sha256": tree_sha256(src, files),
    }
    inputs_sha = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    zip_path = Path(out_dir) / f"model-{bundle}.zip"
    if not force and (cached := _cached(zip_path, inputs_sha)):
        log(
            f"model layer {zip_path.name}: up to date, {mb(cached.zipped_bytes)} zipped / "
            f"{mb(cached.unzipped_bytes)} unzipped - skipped"
        )
        return cached
    with Step(f"model layer {zip_path.name}") as s:
        write_reproducible_zip([(f"models/{bundle}/{rel.as_posix()}", src / rel) for rel in files], zip_path)
        contents = {"bundle": bundle, "files": {rel.as_posix(): (src / rel).stat().st_size for rel in files}}
        if manifest is not None:
            contents["manifest"] = {k: manifest.get(k) for k in ("name", "version", "kind")}
        info = _finish(zip_path, bundle, "model", inputs_sha, contents, None)
        s.note = (
            f"{mb(info.zipped_bytes)} zipped / {mb(info.unzipped_bytes)} unzipped, {info.file_count} files"
        )
    return info


# --- functions and the size check -------------------------------------------------------------------


def function_specs(tasks: Iterable[str] | None = None) -> list[FunctionSpec]:
    """The catalogue's Lambda functions (``nlpserve.catalog.function_specs``) narrowed to the enabled tasks:
    a function none of whose tasks is enabled is left out, and each keeps the bundles of its enabled tasks
    (the batch function: those of every enabled batch task). Raises LayerBuildError for an unknown task."""
    enabled = list(TASK_BUNDLES) if tasks is None else list(tasks)
    unknown = sorted(set(enabled) - set(TASK_BUNDLES))
    if unknown:
        raise LayerBuildError(f"unknown task(s) {unknown}: known {sorted(TASK_BUNDLES)}")
    specs = []
    for spec in catalog.function_specs():
        on = tuple(t for t in spec.tasks if t in enabled)
        if spec.tasks and not on:
            continue
        bundles = tuple(b for b in catalog.BUNDLES if any(b in catalog.task_bundles(t) for t in on))
        specs.append(dataclasses.replace(spec, tasks=on, bundles=bundles))
    return specs


def _layer_bytes(layer_infos) -> dict[str, int]:
    """Accepts {name: LayerInfo | int} or an iterable of LayerInfo; runtime keyed 'runtime'."""
    if isinstance(layer_infos, Mapping):
        items = layer_infos.items()
    else:
        items = ((li.name, li) for li in layer_infos)
    out = {}
    for name, li in items:
        out[name] = int(li) if isinstance(li, int) else int(li.unzipped_bytes)
    return out


def check_function_sizes(
    layer_infos, functions=None, *, code_bytes: Mapping[str, int] | None = None,
    limit: int = LAMBDA_UNZIPPED_LIMIT, raise_on_error: bool = True
) -> list[FunctionSize]:
    """Per function: code + runtime layer + its model bundles, unzipped, against Lambda's 250 MB limit. The
    first 4 bundles are layers; the stack ships any further ones in the function's code asset, so they count
    towards the size but not the 5-layer limit.

    layer_infos: {"runtime": LayerInfo|bytes, "<bundle>": LayerInfo|bytes, ...} or a list of LayerInfo
    (e.g. ``load_layer_infos("build/layers")``). functions: FunctionSpec list, or {name: [bundles]};
    default: all functions of the catalogue. code_bytes: {function: its own code asset, unzipped} (our package
    lives in the runtime layer, so this is small; default 0). Raises FunctionSizeError naming every function
    over the limit (and by how much) or over 5 layers, unless raise_on_error=False.
    """
    sizes_by_layer = _layer_bytes(layer_infos)
    if functions is None:
        functions = function_specs()
    if isinstance(functions, Mapping):
        functions = [FunctionSpec(n, (), (), tuple(b)) for n, b in functions.items()]
    code_bytes = code_bytes or {}
    if "runtime" not in sizes_by_layer:
        raise LayerBuildError("check_function_sizes: no 'runtime' layer given")
    result = []
    for spec in functions:
        missing = [b for b in spec.bundles if b not in sizes_by_layer]
        if missing:
            raise LayerBuildError(
                f"function {spec.name!r} needs model layer(s) {missing} that were not built"
            )
        result.append(
            FunctionSize(
                function=spec.name,
                code_bytes=code_bytes.get(spec.name, 0),
                runtime_bytes=sizes_by_layer["runtime"],
                model_bytes={b: sizes_by_layer[b] for b in spec.bundles},
                # the CDK stack puts bundles past the 4th in the function's code asset (nlpinfra.stack)
                layer_count=1 + min(len(spec.bundles), LAMBDA_MAX_LAYERS - 1),
                limit=limit,
            )
        )
    bad = [fs for fs in result if not fs.ok]
    if bad and raise_on_error:
        lines = []
        for fs in bad:
            if fs.overshoot:
                lines.append(
                    f"function {fs.function!r} is {fs.total_bytes:,} bytes unzipped "
                    f"({mb(fs.total_bytes)}): over Lambda's {fs.limit:,}-byte limit by "
                    f"{fs.overshoot:,} bytes ({mb(fs.overshoot)})"
                )
            if fs.layer_count > LAMBDA_MAX_LAYERS:
                lines.append(
                    f"function {fs.function!r} needs {fs.layer_count} layers: Lambda allows "
                    f"{LAMBDA_MAX_LAYERS}"
                )
        raise FunctionSizeError("Lambda size check failed:\n  " + "\n  ".join(lines), result)
    return result


def format_size_table(sizes: Sequence[FunctionSize]) -> str:
    rows = [("function", "layers", "code", "runtime", "models", "total", "headroom", "status")]
    for fs in sizes:
        rows.append(
            (
                fs.function,
                "runtime" + "".join(f"+{b}" for b in fs.model_bytes),
                mb(fs.code_bytes),
                mb(fs.runtime_bytes),
                mb(sum(fs.model_bytes.values())),
                mb(fs.total_bytes),
                mb(fs.headroom),
                "ok" if fs.ok else ("OVER by " + mb(fs.overshoot) if fs.overshoot else "TOO MANY LAYERS"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(
        f"limit: {LAMBDA_UNZIPPED_LIMIT:,} bytes ({mb(LAMBDA_UNZIPPED_LIMIT)}) unzipped per function, "
        f"max {LAMBDA_MAX_LAYERS} layers"
    )
    return "\n".join(lines)


def load_layer_infos(out_dir: str | os.PathLike, target: Target | None = None) -> dict[str, LayerInfo]:
    """Sidecars of a build dir -> {"runtime": ..., "<bundle>": ...} (runtime of the given target)."""
    target = target or Target()
    out = Path(out_dir)
    infos: dict[str, LayerInfo] = {}
    rt = out / f"runtime-{target.tag}.zip.json"
    if rt.is_file():
        infos["runtime"] = LayerInfo.from_json_file(rt)
    for side in sorted(out.glob("model-*.zip.json")):
        li = LayerInfo.from_json_file(side)
        infos[li.name] = li
    return infos


# --- CLI --------------------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument(
        "--arch", choices=sorted(ARCH_MACHINE), default="arm64", help="Lambda architecture (default arm64)"
    )
    p.add_argument("--python", default="3.12", help="Lambda python version (default 3.12)")
    p.add_argument(
        "--glibc",
        default=DEFAULT_GLIBC,
        help=f"newest manylinux glibc the runtime has (default {DEFAULT_GLIBC}: Amazon Linux 2023)",
    )
    p.add_argument("--models-dir", default="build/models", help="model bundles (default build/models)")
    p.add_argument("--out", default="build/layers", help="output dir (default build/layers)")
    p.add_argument(
        "--tasks",
        nargs="+",
        metavar="TASK",
        help=f"enabled tasks (default all: {' '.join(TASK_BUNDLES)}); commas also accepted",
    )
    p.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    p.add_argument(
        "--project-root", help="repo root holding pyproject.toml + functions/nlpserve (default: found)"
    )
    p.add_argument("--no-compile", dest="compile", action="store_false", help="ship source only, no bytecode")
    p.add_argument("--python-bin", help="interpreter of the target version to compile bytecode with")
    p.add_argument("--no-runtime", dest="runtime", action="store_false", help="skip the runtime layer")
    p.add_argument("--no-models", dest="models", action="store_false", help="skip the model layers")
    p.add_argument(
        "--allow-missing-models",
        action="store_true",
        help="warn (instead of failing) when a bundle dir is missing; its functions are not checked",
    )
    p.add_argument("--no-size-check", dest="size_check", action="store_false")
    return p


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    try:
        target = Target(python=args.python, arch=args.arch, glibc=args.glibc)
        tasks = None
        if args.tasks:
            tasks = [t for item in args.tasks for t in item.split(",") if t]
        specs = function_specs(tasks)
        out = Path(args.out)
        infos: dict[str, LayerInfo] = {}
        if args.runtime:
            infos["runtime"] = build_runtime_layer(
                out,
                target,
                project_root=args.project_root,
                bytecode=args.compile,
                python_bin=args.python_bin,
                force=args.force,
            )
        bundles = sorted({b for s in specs for b in s.bundles})
        if args.models:
            for b in bundles:
                try:
                    infos[b] = build_model_layer(args.models_dir, b, out, force=args.force)
                except LayerBuildError as e:
                    if not args.allow_missing_models:
                        raise
                    log(f"warning: {e}")
        if args.size_check:
            have = load_layer_infos(out, target)
            have.update(infos)
            if "runtime" not in have:
                log("size check skipped: no runtime layer built for this target")
            else:
                checkable = [s for s in specs if all(b in have for b in s.bundles)]
                skipped = [s.name for s in specs if s not in checkable]
                if skipped:
                    log(f"size check skips {skipped}: model layers missing")
                try:
                    sizes = check_function_sizes(have, checkable)
                    print(format_size_table(sizes), file=sys.stderr)
                except FunctionSizeError as e:
                    print(format_size_table(e.sizes), file=sys.stderr)
                    raise
    except LayerBuildError as e:
        log(f"ERROR: {e}")
        return 1
    log(f"layers done in {time.perf_counter() - t0:.1f}s -> {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = add_arguments(
        argparse.ArgumentParser(prog="python -m nlpbuild layers", description=__doc__.split("\n")[0])
    )
    return run(p.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
