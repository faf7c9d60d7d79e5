"""Commands that run and feed the platform: run, beat, up, send (tasks, workflows, bulk),
the dead-letter store, the task store's schema, the demo data."""
