"""fhir_mappings stays pure (README.md "Layout") and smart_app never imports the sandbox."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_STDLIB = frozenset(
    {
        "__future__",
        "base64",  # decoding an attachment's data to check its type: no I/O
        "binascii",
        "collections",
        "collections.abc",
        "copy",
        "dataclasses",
        "datetime",
        "enum",
        "functools",
        "hashlib",  # deterministic digests (a record's version when the EHR gives none)
        "html",
        "itertools",
        "json",  # canonical JSON for those digests: no files, no I/O
        "re",
        "typing",
        "unicodedata",
        "urllib.parse",
        "xml.etree.ElementTree",
    }
)
ALLOWED_PREFIXES = ("fhir.resources.R4B", "fhir_mappings")
FORBIDDEN_CALLS = frozenset(
    {"now", "today", "utcnow", "uuid1", "uuid4", "random", "randint", "choice", "open", "getenv"}
)
FORBIDDEN_PACKAGES = frozenset({"launch", "sandbox_ehr"})


def impurities(source: str) -> list[str]:
    """Imports outside the allow-list and calls to the clock, randomness or files."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        found += [f"import {m}" for m in modules if not _allowed(m)]
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FORBIDDEN_CALLS:
                found.append(f"call {name}() at line {node.lineno}")
    return found


def sandbox_imports(source: str) -> list[str]:
    """Absolute imports of the launch package or the sandbox EHR."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_PACKAGES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FORBIDDEN_PACKAGES:
                found.append(node.module)
    return found


def _allowed(module: str) -> bool:
    return module in ALLOWED_STDLIB or any(
        module == prefix or module.startswith(prefix + ".") for prefix in ALLOWED_PREFIXES
    )


def test_fhir_mappings_is_pure() -> None:
    modules = sorted((ROOT / "fhir_mappings").glob("*.py"))
    assert len(modules) > 5
    problems = {
        path.name: found for path in modules if (found := impurities(path.read_text("utf-8")))
    }
    assert problems == {}


def test_the_purity_check_catches_clock_randomness_io_and_foreign_imports() -> None:
    source = (
        "import os\nimport requests\nfrom fhir.resources.servicerequest import ServiceRequest\n"
        "from datetime import datetime\nimport uuid\nimport random\n"
        "datetime.now()\nuuid.uuid4()\nrandom.random()\nopen('x')\n"
    )
    assert impurities(source) == [
        "import os",
        "import requests",
        "import fhir.resources.servicerequest",
        "import uuid",
        "import random",
        "call now() at line 7",
        "call uuid4() at line 8",
        "call random() at line 9",
        "call open() at line 10",
    ]


def test_the_purity_check_accepts_r4b_and_our_own_modules() -> None:
    source = (
        "from fhir.resources.R4B.servicerequest import ServiceRequest\n"
        "from fhir_mappings.codes import SNOMED\nfrom collections.abc import Mapping\n"
    )
    assert impurities(source) == []


def test_smart_app_never_imports_the_sandbox() -> None:
    modules = sorted((ROOT / "smart_app").rglob("*.py"))
    problems = {
        str(path.relative_to(ROOT)): found
        for path in modules
        if (found := sandbox_imports(path.read_text("utf-8")))
    }
    assert problems == {}


def test_the_sandbox_check_ignores_relative_and_lookalike_imports() -> None:
    source = "from . import launch\nfrom .views.launch import bp\nimport launcher\n"
    assert sandbox_imports(source) == []
    assert sandbox_imports("import launch.registrations\nfrom sandbox_ehr import app\n") == [
        "launch.registrations",
        "sandbox_ehr",
    ]


def test_nothing_in_the_repository_cites_files_outside_it() -> None:
    """Code and docs cite docs/fhir-mapping.md and docs/domain-rules.md, never notes kept elsewhere."""
    outside = ("CODES" + ".md", "DESIGN" + " §", "DESIGN" + ".md", "../" + "shared", "/work/" + "shared")
    skip = {".git", ".venv", ".tools", ".data", "node_modules", "__pycache__"}
    offenders = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in ROOT.rglob("*")
        if path.is_file()
        and not skip.intersection(path.relative_to(ROOT).parts)
        and path.suffix in {".py", ".md", ".toml", ".html", ".css", ".sh", ".json", ".txt"}
        for needle in outside
        if needle in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []
