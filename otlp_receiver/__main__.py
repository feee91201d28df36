from otlp_receiver.cli import main

raise SystemExit(main())
