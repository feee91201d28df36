"""`devtel-agent report`: the developer's own period (hours, commits, test and build runs, their
chokepoints, AI use) from this machine's local stores, in the terminal, as JSON or as one page."""
