"""`tfapps --help` and friends answer without importing TensorFlow, and document every default."""

import re
import subprocess
import sys

import pytest

HEAVY = ("tensorflow", "keras", "tensorflow_datasets", "pandas", "sklearn")


def _run_in_fresh_python(args: list[str]) -> tuple[str, list[str]]:
    """Runs the CLI in a new interpreter; returns its output and the heavy modules it imported."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from tfapps.cli import main\n"
        f"result = CliRunner().invoke(main, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        "print(result.output)\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    output, _, heavy = done.stdout.rpartition("HEAVY=")
    return output, [m for m in heavy.strip().split(",") if m]


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["image-classify", "--help"], ["datasets"]]
)
def test_answers_without_importing_tensorflow(args):
    output, heavy = _run_in_fresh_python(args)
    assert output.strip()
    assert heavy == []


def test_version_is_the_package_version():
    from tfapps import __version__

    output, _ = _run_in_fresh_python(["--version"])
    assert __version__ in output


def test_python_dash_m_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "tfapps", "--help"], capture_output=True, text=True, check=True
    )
    assert "image-classify" in done.stdout


def test_every_option_shows_its_default():
    import click
    from click.testing import CliRunner

    from tfapps.cli import main

    def commands(group):
        for command in group.commands.values():
            yield command
            if isinstance(command, click.Group):
                yield from commands(command)

    for command in commands(main):
        for param in command.params:
            if param.param_type_name == "argument":  # arguments are described in the docstring
                assert param.name.upper() in command.help, (command.name, param.name)
                continue
            assert param.help, f"{command.name} --{param.name} has no help text"
            if not param.is_flag and param.default is None:
                assert "Default:" in param.help, f"{command.name} --{param.name}: no default"
    help_text = CliRunner().invoke(main, ["image-classify", "--help"]).output.split("Options:")[1]
    for option in (
        "--epochs",
        "--batch-size",
        "--learning-rate",
        "--validation-split",
        "--seed",
        "--output-dir",
        "--precision",
        "--device",
        "--filters",
        "--dataset",
    ):
        block = help_text.split(option, 1)[1].split("\n  --", 1)[0]
        assert re.search(r"\[default: [^\]]+\]", block.replace("\n", " ")), option


def test_shared_training_options_are_all_present():
    from tfapps.cli import main

    names = {opt for p in main.commands["image-classify"].params for opt in p.opts}
    expected = {
        "--dataset",
        "--epochs",
        "--batch-size",
        "--learning-rate",
        "--validation-split",
        "--seed",
        "--output-dir",
        "--data-dir",
        "--max-examples",
        "--precision",
        "--device",
        "--quiet",
        "--debug",
    }
    assert expected <= names


def test_datasets_lists_embedded_and_catalog_names(run_cli):
    result = run_cli("datasets", "--task", "image-classify")
    assert result.exit_code == 0
    assert "digits" in result.output and "1797" in result.output
    assert "mnist" in result.output and "cifar10" in result.output


def test_the_cli_and_the_run_listing_need_no_fcntl(tmp_path):
    """Windows has no `fcntl`: nothing `tfapps --help` and `tfapps runs` import may need it."""
    interrupted = tmp_path / "regress" / "auto_mpg" / "20260101T000000Z.incomplete"
    interrupted.mkdir(parents=True)
    (interrupted / "run.json").write_text('{"task": "regress", "status": "interrupted"}')
    (interrupted / ".running.lock").touch()  # left by the process that trained it
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None\n"  # `import fcntl` now raises ImportError
        "import tfapps.cli\n"
        "from click.testing import CliRunner\n"
        f"for args in (['--help'], ['runs', {str(tmp_path)!r}, '--incomplete']):\n"
        "    result = CliRunner().invoke(tfapps.cli.main, args)\n"
        "    assert result.exit_code == 0, (args, result.output, result.exception)\n"
        "    print(result.output)\n"
        "print('MODULES=' + ','.join(m for m in sys.modules if m.startswith('tfapps.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "image-classify" in done.stdout and str(interrupted) in done.stdout
    modules = done.stdout.rpartition("MODULES=")[2].split(",")
    assert {"tfapps.run_dirs", "tfapps.runs", "tfapps.keras_internals"} <= set(modules)
