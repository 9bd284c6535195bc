"""The `bhtom` command line: a thin layer over the library (no HTTP, retry or journal logic here).

Run ``bhtom --help``; the entry point is `bhtom_async.cli.main:main`. Needs the ``cli`` extra.
"""

__all__: list[str] = []
