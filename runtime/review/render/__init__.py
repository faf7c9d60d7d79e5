"""Deployment files rendered from a Plan: Docker Compose, Kubernetes (with KEDA), systemd.

Pure functions of a Plan and the config's own YAML text; deterministic, stable order, each file
headed by the checksum of the YAML it came from. Writing files is the CLI's job.
"""
