"""Commands that watch the running platform: health, status, monitor, exporter, Flower."""
