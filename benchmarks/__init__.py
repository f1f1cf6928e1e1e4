"""Named speed, memory and accuracy benchmarks of galaxy-xai.

Run ``python -m benchmarks NAME [--quick]``; each benchmark is a module
``benchmarks/<name with '-' as '_'>.py`` with ``run(quick: bool) -> dict``, returning a
flat mapping of named figures. The runner prints them as a table and writes
``benchmarks/results/NAME.json``.
"""
