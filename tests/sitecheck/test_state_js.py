"""The Explorer's state module (site_js/explorer/state.js) passes its Node unit tests (tests/js/)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_state_js_unit_tests_pass_under_node():
    node = shutil.which("node")
    assert node, "Node (20 or later) is needed for tests/js/"
    run = subprocess.run([node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"node --test tests/js/ failed:\n{output}"
    assert "# fail 0" in output and "# pass 0" not in output, output
