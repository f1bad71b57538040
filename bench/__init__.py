"""Benchmarks of issue 8: ``python -m bench`` (``make bench``) prints a table and writes ``bench/RESULTS.md``.

- :mod:`bench.synthetic` — a vectorised synthetic world (100k to 5M conversations, 300k authors with tier
  history) in the columns of ``dashboard/schema.py``.
- :mod:`bench.engine_ours`, :mod:`bench.baseline_pandas`, :mod:`bench.baseline_duckdb` — the four benchmarked
  metrics (business-hours first response, SLA attainment by tier x priority, backlog at an instant, at-risk
  list) in our engine, plain pandas and DuckDB SQL; :mod:`bench.agreement` checks they give the same numbers.
- :mod:`bench.worker` / :mod:`bench.proc` — each engine in its own process, timed, with its own peak RSS.
- :mod:`bench.metrics_bench`, :mod:`bench.stages_bench`, :mod:`bench.sync_bench`, :mod:`bench.pages_bench`
  (+ :mod:`bench.pages_browser`), :mod:`bench.parse_bench` — the sections; :mod:`bench.report` — the Markdown.

``python -m bench --quick`` checks the harness in about a minute; ``--only metrics,parse`` selects sections.
Generated worlds and raw figures go to ``bench/out/`` (git-ignored).
"""
