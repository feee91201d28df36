"""Shell command telemetry: the hooks, their spool, the classifier, and the day's summary.

The hooks (``hooks/devtel.{bash,zsh,fish}``, printed by ``devtel-agent hook SHELL``) append
one line per interactive command with shell builtins only. The agent drains that spool
(``spool``), classifies each command and maps its directory to a repository (``ingest``,
``classify``), keeps only the result (``store``), and summarises a day (``summary``).
"""
