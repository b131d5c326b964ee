"""``python -m threekg_lite.cli`` (and ``torchrun -m threekg_lite.cli``)."""

from threekg_lite.cli.main import main

raise SystemExit(main())
