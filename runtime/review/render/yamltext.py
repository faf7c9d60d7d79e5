"""YAML text of rendered files: plain (no anchors), block style, one-line scalar lists."""

from __future__ import annotations

from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors or aliases, even where two values are equal objects."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line text (the config files in the ConfigMap) as a literal block, readable as is.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.SequenceNode:
    # A command line or a list of names reads best on one line: [air, run, default].
    flat = all(isinstance(item, str | int) and "\n" not in str(item) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _list)


def dump(document: Any) -> str:
    text: str = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, width=1000, default_flow_style=False
    )
    return text
