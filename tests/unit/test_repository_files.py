"""The CI workflow and the Dependabot configuration are valid for their schemas (SchemaStore's,
as check-jsonschema ships them), so the public repository's automation does not break silently."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.settings import ROOT


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
        ("vendor.dependabot", ".github/dependabot.yml"),
    ],
)
def test_automation_files_match_their_schema(schema, path):
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(ROOT / path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
