"""The `cardiorehab` command line."""
