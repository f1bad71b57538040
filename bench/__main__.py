"""``python -m bench`` (what ``make bench`` runs): see :mod:`bench.cli`."""

from bench.cli import main

raise SystemExit(main())
