"""``asl_parse_cache``: an execution reuses the ANTLR parse tree of its definition.

moto lexes and parses the whole ASL again for every execution, about 0.3 s of CPU for the training pipeline. With the
fix the parse tree (read-only) is cached per definition; the evaluation components are still built fresh for each
execution, so executions share nothing mutable. Syntax errors are never cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from moto.stepfunctions.parser.asl.parse import asl_parser

from mlcp_cli.local.patches.context import active

_PARSE_CACHE_SIZE = 64  # definitions (a deployed stack has a handful; tests create more)
_PARSE_TREES: OrderedDict[str, Any] = OrderedDict()
_PARSE_LOCK = threading.Lock()


def _cached_tree(definition: str) -> Any:
    with _PARSE_LOCK:
        tree = _PARSE_TREES.get(definition)
        if tree is not None:
            _PARSE_TREES.move_to_end(definition)
    return tree


def _remember(definition: str, tree: Any) -> None:
    with _PARSE_LOCK:
        _PARSE_TREES[definition] = tree
        while len(_PARSE_TREES) > _PARSE_CACHE_SIZE:
            _PARSE_TREES.popitem(last=False)


def install() -> None:
    parser_cls = asl_parser.AmazonStateLanguageParser
    original = parser_cls.parse

    def parse(definition: str) -> tuple[Any, Any]:
        if active() is None:
            return original(definition)  # type: ignore[no-any-return]
        tree = _cached_tree(definition)
        if tree is None:
            program, tree = original(definition)  # syntax errors raise here and are never cached
            _remember(definition, tree)
            return program, tree
        # The parse tree is read-only; the evaluation components carry per-execution state, so build them anew.
        return asl_parser.Preprocessor().visit(tree), tree

    parser_cls.parse = staticmethod(parse)
