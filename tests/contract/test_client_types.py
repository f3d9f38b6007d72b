"""The OpenAPI document as client teams consume it: it passes openapi-spec-validator, and the
TypeScript types openapi-typescript generates from it compile under `tsc --strict` with a small
typed client (tests/contract/client.ts: dev-login, the product list, a direct order)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from openapi_spec_validator import validate

HERE = Path(__file__).parent
TOOLS = HERE / "node_modules"


def test_the_document_passes_openapi_spec_validator(client):
    validate(client.get("/api/v1/openapi.json").get_json())  # raises on any violation


def test_generated_types_compile_strictly_with_a_typed_client(client, tmp_path):
    node = shutil.which("node")
    assert node, "node is required (scripts/ensure-tools.sh installs it)"
    assert (TOOLS / "openapi-typescript").is_dir(), "run scripts/contract-tools.sh"
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(client.get("/api/v1/openapi.json").get_json()))
    # Defaults do not make a request field required (openapi-typescript's own default would).
    generate = [node, str(TOOLS / "openapi-typescript/bin/cli.js"), str(document), "--default-non-nullable", "false"]
    generated = subprocess.run(
        [*generate, "-o", str(tmp_path / "api.d.ts")], capture_output=True, text=True, timeout=180
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    shutil.copy(HERE / "client.ts", tmp_path / "client.ts")
    compiler = [node, str(TOOLS / "typescript/bin/tsc"), "--strict", "--noEmit", "--target", "es2022"]
    compiler += ["--module", "es2022", "--moduleResolution", "bundler", "--lib", "es2022,dom", "client.ts"]
    compiled = subprocess.run(compiler, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
