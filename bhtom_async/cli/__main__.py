"""`python -m bhtom_async.cli` runs `bhtom` (handy where the console script is not on PATH)."""

from .main import main

main()
