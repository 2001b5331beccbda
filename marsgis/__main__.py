"""``python -m marsgis`` runs the CLI."""

from marsgis.cli import main

main()
