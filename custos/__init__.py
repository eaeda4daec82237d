"""The `custos` command line: assembles the command groups of every layer."""
