from radiobench.cli import main

raise SystemExit(main())
