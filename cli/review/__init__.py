"""Commands that read and review the config: validate, show, pools, schedule, plan, explain,
render, graph. They need no broker."""
