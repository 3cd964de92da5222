"""Shared fixtures: the post's scenes rendered once per test session into a temporary project."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENES = ROOT / "scenes"


def invoke(cwd: Path, args: list[str] | tuple[str, ...]):
    """Run the CLI in ``cwd`` as a user would, returning click's Result."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture(scope="session")
def post_project(tmp_path_factory) -> Path:
    """A project folder holding the post's scenes, rendered once, exactly as `make figures` does
    (the fast trainer runs the 100000-epoch continuation in a fraction of a second)."""
    base = tmp_path_factory.mktemp("post")
    shutil.copytree(SCENES, base / "scenes")
    result = invoke(base, ["render", "-q"])
    assert result.exit_code == 0, result.output
    return base
