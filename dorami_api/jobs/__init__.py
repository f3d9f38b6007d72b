"""Background jobs, run by the `worker` process of the Procfile (`python -m dorami_api.jobs`):
expired cart holds, stale waitlist promotions, unpaid orders. See runner.py for how each tick
runs exactly once across processes and hosts."""
