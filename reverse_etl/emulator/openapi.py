"""Validate HTTP requests against an OpenAPI 3.0 document (Klaviyo's published spec).

OpenAPI 3.0 schemas are JSON Schema plus ``nullable``; we rewrite ``nullable: true`` into
JSON Schema (``type: [T, "null"]`` or ``anyOf [..., null]``) and validate with ``jsonschema``.
Checks: the path and method exist, required header parameters are present, only declared
query parameters are used, the security header has the documented form, and the JSON body
validates against the operation's request schema.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
_REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[A-Za-z0-9]+)?$")


def find_klaviyo_spec_dir() -> Path | None:
    """The spec beside the repo (../shared/vendor-specs/klaviyo) or the vendored test copy."""
    candidates = []
    if os.environ.get("RW_KLAVIYO_SPEC_DIR"):
        candidates.append(Path(os.environ["RW_KLAVIYO_SPEC_DIR"]))
    candidates += [
        REPO_ROOT.parent / "shared" / "vendor-specs" / "klaviyo",
        REPO_ROOT / "tests" / "reverse_etl" / "specs" / "klaviyo",
    ]
    for c in candidates:
        if c.is_dir() and any(c.glob("*.json")):
            return c
    return None


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions", "schemas"):
            out[key] = (
                {k: _nullable(v) for k, v in value.items()} if isinstance(value, dict) else value
            )
        else:
            out[key] = _nullable(value)
    if out.get("nullable") is True:
        out.pop("nullable")
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    elif "nullable" in out and isinstance(out["nullable"], bool):
        out.pop("nullable")
    return out


class OpenApiValidator:
    def __init__(self, spec_dir: Path) -> None:
        self.operations: list[tuple[str, re.Pattern, dict, dict]] = []
        self.security: dict[str, Any] = {}
        self._roots: list[dict] = []
        for path in sorted(Path(spec_dir).glob("*.json")):
            doc = json.loads(path.read_text())
            root = {"components": _nullable(doc.get("components", {}))}
            self._roots.append(root)
            self.security.update(doc.get("components", {}).get("securitySchemes", {}))
            for template, ops in doc.get("paths", {}).items():
                regex = re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$")
                for method, op in ops.items():
                    if method in ("get", "post", "put", "patch", "delete"):
                        self.operations.append((method.upper(), regex, op, root))
        # Literal paths before templated ones (e.g. /api/profiles before /api/profiles/{id}).
        self.operations.sort(key=lambda t: t[1].pattern.count("[^/]+"))

    def find(self, method: str, path: str) -> tuple[dict, dict] | None:
        for m, regex, op, root in self.operations:
            if m == method and regex.match(path):
                return op, root
        return None

    def validate(
        self,
        method: str,
        path: str,
        query: dict[str, Any],
        headers: dict[str, str],
        body: bytes | None,
        max_array_items: int | None = None,
        parsed: Any = None,
    ) -> list[str]:
        found = self.find(method, path)
        if found is None:
            return [f"{method} {path}: no such operation in the spec"]
        op, root = found
        errors: list[str] = []
        lower = {k.lower(): v for k, v in headers.items()}
        declared_query = set()
        for p in op.get("parameters", []):
            if p["in"] == "header" and p.get("required") and p["name"].lower() not in lower:
                errors.append(f"missing required header {p['name']!r}")
            is_revision = p["in"] == "header" and p["name"].lower() == "revision"
            if is_revision and "revision" in lower and not _REVISION.match(lower["revision"]):
                errors.append("revision header must be YYYY-MM-DD[.suffix]")
            if p["in"] == "query":
                declared_query.add(p["name"])
        for name in query:
            if name not in declared_query:
                errors.append(f"undeclared query parameter {name!r}")
        for scheme in self.security.values():
            if scheme.get("in") == "header":
                value = lower.get(scheme["name"].lower(), "")
                prefix = scheme.get("x-default", "").split(" ")[0]
                if not value or (prefix and not value.startswith(prefix + " ")):
                    errors.append(f"{scheme['name']} header must be '{prefix} <key>'")
        rb = op.get("requestBody")
        if rb is not None:
            content = rb.get("content", {})
            ctype = lower.get("content-type", "").split(";")[0].strip()
            if ctype not in content:
                errors.append(f"content-type {ctype!r} not in {sorted(content)}")
            elif not body:
                if rb.get("required"):
                    errors.append("request body is required")
            else:
                try:
                    payload = parsed if parsed is not None else json.loads(body)
                except ValueError:
                    return [*errors, "body is not JSON"]
                if max_array_items is not None:
                    payload = _truncate(payload, max_array_items)
                schema = content[ctype]["schema"]
                validator = _validator(id(root), json.dumps(schema, sort_keys=True), root)
                for err in sorted(validator.iter_errors(payload), key=lambda e: list(e.path))[:5]:
                    pointer = "/" + "/".join(str(p) for p in err.absolute_path)
                    errors.append(f"body {pointer}: {err.message[:200]}")
        elif body:
            errors.append("operation takes no request body")
        return errors


_VALIDATORS: dict[tuple[int, str], Any] = {}


def _validator(root_id: int, schema_json: str, root: dict):
    key = (root_id, schema_json)
    if key not in _VALIDATORS:
        import jsonschema  # dev dependency: the emulator validates only when it is installed

        _VALIDATORS[key] = jsonschema.Draft7Validator({**root, **json.loads(schema_json)})
    return _VALIDATORS[key]


def _truncate(node: Any, n: int) -> Any:
    if isinstance(node, list):
        return [_truncate(x, n) for x in node[:n]]
    if isinstance(node, dict):
        return {k: _truncate(v, n) for k, v in node.items()}
    return node
