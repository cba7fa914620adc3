"""``python -m study.cli`` runs the command line (same as the ``peerstudy`` script)."""

from study.cli import main

main()
