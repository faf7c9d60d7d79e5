"""The `air` command line: parses arguments, calls the runtime, prints."""
