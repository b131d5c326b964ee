"""The ``threekg`` command (:mod:`threekg_lite.cli.main`)."""

from threekg_lite.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
