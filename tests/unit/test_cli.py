import importlib
import subprocess
import sys

import pytest

from fleet.cli import _DELEGATED, main


@pytest.mark.parametrize("name", sorted(_DELEGATED))
def test_every_subcommand_resolves_to_a_callable(name: str) -> None:
    module, func, _ = _DELEGATED[name]
    assert callable(getattr(importlib.import_module(module), func))


@pytest.mark.parametrize("name", sorted(_DELEGATED))
def test_every_subcommand_answers_help(name: str) -> None:
    out = subprocess.run([sys.executable, "-m", "fleet.cli", name, "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_proxy_command_does_not_load_the_fleet_managers_heavy_imports() -> None:
    code = ("import sys; import fleet.cli; fleet.cli._DELEGATED; import mesh.proxy;"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert not loaded & {"aiohttp", "kubernetes", "pygit2", "jsonschema", "textual"}
