"""`python -m kerasvision` runs the `kerasvision` command."""

from kerasvision.cli import main

main()
