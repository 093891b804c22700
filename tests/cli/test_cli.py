"""``condor-soap serve --help``: every setting once, in its group, its default said once; the
logging options. The help is read from the real command."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from condor_soap import cli
from condor_soap.config import GROUPS, SETTINGS, Config


@pytest.fixture(scope="module")
def help_text() -> str:
    done = subprocess.run([sys.executable, "-m", "condor_soap", "serve", "--help"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "100"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def option_blocks(text: str) -> dict[str, tuple[str, str]]:
    """{option: (its group heading, its help text joined into one line)}."""
    blocks: dict[str, tuple[str, str]] = {}
    group, option = "", None
    for line in text.splitlines():
        heading = re.match(r"^(\S[^:]*):$", line)
        if heading:
            group, option = heading.group(1), None
            continue
        found = re.match(r"^  (--[a-z-]+)", line)
        if found:
            option = found.group(1)
            blocks[option] = (group, line[len(found.group(0)):])
        elif option and line.startswith("   "):
            blocks[option] = (group, blocks[option][1] + " " + line.strip())
    return {name: (group, " ".join(body.split())) for name, (group, body) in blocks.items()}


def test_every_setting_once_in_its_group_with_its_default_once(help_text):
    blocks = option_blocks(help_text)
    for setting in SETTINGS:
        option = "--" + setting.name.replace("_", "-")
        assert help_text.count(f"  {option} ") + help_text.count(f"  {option}\n") == 1, option
        group, body = blocks[option]
        assert group == setting.group, (option, group)
        assert body.count("default") == 1 and f"(default: {setting.default_text()}" in body, (option, body)
        assert "None" not in body, (option, body)


def test_groups_in_order_for_a_newcomer(help_text):
    assert list(GROUPS) == ["listening", "backend", "transactions", "security", "limits", "watch", "logging"]
    positions = [help_text.index(f"\n{name}:\n") for name in GROUPS]
    assert positions == sorted(positions)
    for name, about in GROUPS.items():
        assert about in " ".join(help_text.split()), name
    assert help_text.startswith("usage: condor-soap serve [options]\n")


def test_the_defaults_the_issue_saw_twice_are_said_once(help_text):
    blocks = option_blocks(help_text)
    assert blocks["--host"][1] == "ADDRESS address to listen on (default: 127.0.0.1)"
    assert "(default: none)" in blocks["--password-file"][1]
    assert blocks["--schedd-name"][1].endswith(
        "(default: SCHEDD_HOST, else the local schedd, else the only one)")


@pytest.mark.parametrize("argv, message", [
    pytest.param(["serve", "--log-format", "xml"], "log_format must be one of text, json, not 'xml'", id="format"),
    pytest.param(["serve", "--log-level", "loud"], "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
                 id="level"),
    pytest.param(["serve", "--ready-timeout", "0"], "ready_timeout must be > 0", id="ready-timeout"),
])
def test_bad_logging_options_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_logging_options_reach_the_config():
    config = Config.from_argv(["--log-format", "JSON", "--log-level", "warning"])
    assert (config.log_format, config.log_level) == ("json", "WARNING")
    assert (Config().log_format, Config().log_level) == ("text", "INFO")
