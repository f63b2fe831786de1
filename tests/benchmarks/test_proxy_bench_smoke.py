"""The proxy benchmark still runs end to end (one broker, the proxy processes); no timing asserted."""
from __future__ import annotations

from benchmarks import proxy_bench


def test_proxy_benchmark_smoke_run_reports_every_figure():
    # many clients and TLS covered with 10 clients (100 would only add start-up time here)
    f = proxy_bench.run(smoke=True, scenarios=("10 clients", "1 client over TLS"))
    assert f.rounds == 1 and len(f.produce_ratios) == len(f.consume_ratios) == 1
    for value in (f.produce_mb_s_direct, f.produce_mb_s_proxy, f.consume_mb_s_direct, f.consume_mb_s_proxy,
                  f.p50_ms_direct, f.p50_ms_proxy, f.p99_ms_direct, f.p99_ms_proxy, f.proxy_cpu_s_per_gb):
        assert value > 0
    assert f.produce_ratio == f.produce_ratios[0]
    assert abs(f.consume_ratio - f.consume_mb_s_proxy / f.consume_mb_s_direct) < 0.01
    assert set(f.scenarios) == {"10 clients", "1 client over TLS"}
    for sc in f.scenarios.values():
        assert min(sc.produce_mb_s_direct, sc.produce_mb_s_proxy, sc.consume_mb_s_direct, sc.consume_mb_s_proxy) > 0
        assert len(sc.produce_ratios) == len(sc.consume_ratios) == 1
    text = proxy_bench.render(f)
    assert "| Consume throughput (MB/s) |" in text and "per-round ratios" in text and "| 10 clients |" in text
