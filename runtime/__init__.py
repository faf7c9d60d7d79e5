"""air runtime, in layers; each imports only the layers listed before it.

config     (pure) YAML files -> checked model + diagnostics
compiler   (pure) model -> Plan: Celery settings, worker command lines, beat entries
review     (pure) builds on the Plan only: diff, explain, render, graph
broker     Redis as broker and store: transport, result backend, dead letters
celeryapp  the Celery app built from a Plan and what plugs into it: task base, hooks, consumer
sending    what sends on a schedule or in bulk: beat, bulk send, declared workflows
process    processes on this host: supervisor, embedded Redis, health, status, exporter

tests/unit/test_layers.py enforces the order and forbids circles.
"""
