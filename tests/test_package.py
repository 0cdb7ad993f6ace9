"""The built wheel is complete: installed on its own (not the editable source) it imports a
Salesforce export with the CRM mapping that ships inside it."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from ingest.test_mappings import salesforce_export

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_the_mappings_and_imports_a_salesforce_export(tmp_path):
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists():
        pytest.skip("uv is not installed (make install puts it in .venv/bin)")
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the work tree
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([uv, "build", "--wheel", "--quiet", "-o", str(tmp_path / "dist"), str(source)], check=True)
    wheel = next((tmp_path / "dist").glob("fairshare-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())  # fmt: skip
    # the dependencies come from this environment's site-packages (appended after the venv's own,
    # and without its .pth files, so the editable install of the source is not on the path)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--no-deps", "--python", str(python), str(wheel)], check=True
    )
    export = salesforce_export(tmp_path / "sf")
    where = subprocess.check_output([python, "-c", "import fairshare; print(fairshare.__file__)"], text=True)
    assert where.startswith(str(site)), where  # the wheel, not the source tree
    out = subprocess.run(
        [venv / "bin" / "fairshare", "init", str(tmp_path / "ws")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    out = subprocess.run([venv / "bin" / "fairshare", "import", str(export), "--mapping", "salesforce",
                          "-w", str(tmp_path / "ws"), "--format", "json"], capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert '"rows.opportunities": 1' in out.stdout and '"rows.accounts": 2' in out.stdout
