"""Every `cerlib ...` / `python -m cerlib ...` command the README and the notebooks show parses with the CLI's
own parsers (the same ones `cerlib` runs), so a student who copies one does not meet a usage error.

A command is taken from inline code or a line of a code block, up to the closing backtick, the end of the
line or a `#` comment. A bare subcommand name in prose (`cerlib train`) names the command and is not parsed.
"""
import argparse
import json
import re
import shlex
from pathlib import Path

import pytest

from cerlib import __main__ as cli

ROOT = Path(__file__).resolve().parent.parent
SUBCOMMANDS = ("info", "make-stubs", "train", "predict", "reproduce")
COMMAND = re.compile(r"(?:python -m cerlib|(?<![\w./-])cerlib)[ \t]+((?:%s)\b[^`\n#]*)" % "|".join(SUBCOMMANDS))


def sources():
    yield "README.md", (ROOT / "README.md").read_text()
    yield "notebooks/README.md", (ROOT / "notebooks" / "README.md").read_text()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        yield path.name, "\n".join("".join(cell["source"]) for cell in cells)


def commands(text):
    """The commands shown in ``text``, each as the argument list after ``cerlib``."""
    found = []
    for match in COMMAND.finditer(text):
        argv = shlex.split(match.group(1).strip().rstrip(".,;:)"))
        if len(argv) > 1:
            found.append(argv)
    return found


class Parsed(Exception):
    """Raised in place of running the command, once its arguments parsed."""


def parse(argv, monkeypatch, capsys):
    """Parse ``argv`` with the parsers `cerlib` itself uses; return argparse's message when it refuses."""
    real = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        raise Parsed(real(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
    try:
        cli.main(list(argv))
    except Parsed as parsed:
        return parsed.args[0]
    except SystemExit:
        return capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        monkeypatch.setattr(argparse.ArgumentParser, "parse_args", real)
    raise AssertionError(f"cerlib {' '.join(argv)} ran without parsing its arguments")


def test_the_parse_check_refuses_what_the_cli_refuses(monkeypatch, capsys):
    assert isinstance(parse(["train", "data_stubs/creativeit", "--epochs", "3"], monkeypatch, capsys),
                      argparse.Namespace)
    message = parse(["predict", "model.pt", "data_stubs/creativeit", "--out", "p"], monkeypatch, capsys)
    assert "--model" in message
    assert commands("run `python -m cerlib info data_stubs/creativeit`, or `cerlib train` alone") == [
        ["info", "data_stubs/creativeit"]]


@pytest.mark.parametrize("where,text", list(sources()), ids=[w for w, _ in sources()])
def test_every_command_shown_parses(where, text, monkeypatch, capsys):
    refused = []
    for argv in commands(text):
        result = parse(argv, monkeypatch, capsys)
        if not isinstance(result, argparse.Namespace):
            refused.append(f"cerlib {' '.join(argv)}  ->  {result}")
    assert not refused, f"{where} shows commands the CLI refuses:\n" + "\n".join(refused)


def test_the_course_shows_commands_at_all():
    shown = [argv[0] for _, text in sources() for argv in commands(text)]
    assert {"make-stubs", "train", "reproduce"} <= set(shown), shown
