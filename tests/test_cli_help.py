"""Every flag's --help states its default where it has one (issue 22)."""

from __future__ import annotations

import argparse

from qnas.cli import build_parser


def parsers(parser: argparse.ArgumentParser, path: str = "qnas"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}")


def test_every_flag_with_a_default_states_it_in_its_help() -> None:
    missing = []
    for path, parser in parsers(build_parser()):
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS):
                if f"(default: {action.default})" not in text and "default" not in action.help:
                    missing.append(f"{path} {action.option_strings[0]}")
    assert missing == []
    show = dict(parsers(build_parser()))["qnas studies show"].format_help()
    assert "--top TOP" in show and "(default: 10)" in show
