from mathdistill.cli import main

raise SystemExit(main())
