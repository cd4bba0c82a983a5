from srdistill.cli import main

raise SystemExit(main())
