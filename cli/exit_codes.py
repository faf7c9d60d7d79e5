"""Exit codes of every `air` command. Scripts and CI depend on these numbers."""

OK = 0  # success; warnings never change the exit code
CONFIG_ERROR = 1  # the config has errors (YAML syntax included), or a task failed
UNHEALTHY = 1  # `air health`: a check failed (each failing check is printed)
USAGE_ERROR = 2  # bad command line, or a file that cannot be read at all (click uses 2 too)
BROKER_UNREACHABLE = 3  # the Redis broker does not answer
DATABASE_UNREACHABLE = 6  # the task store's database does not answer (`air db`)
CHANGES = 4  # air plan: the two revisions differ
RISKY_CHANGES = 5  # air plan: they differ and a change carries a risk flag
INTERNAL_ERROR = 70  # a bug in air (EX_SOFTWARE); rerun with --traceback and report it
INTERRUPTED = 130  # stopped with Ctrl-C
