"""`make bench`: throughput and latency figures, written to var/bench/latest.json.

Each section is a module here with `main() -> dict[str, dict]`; its keys are merged into
the JSON (so runs can be compared) and printed as one table. Run one section alone with
`python -m bench SECTION`.
"""
