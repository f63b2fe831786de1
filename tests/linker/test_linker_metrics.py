import asyncio
import json

import pytest

from linker.metrics import MetricsServer, MirrorMetrics, Registry


def test_text_format():
    r = Registry()
    g = r.gauge("x_lag", "Lag.")
    c = r.counter("x_errors_total", "Errors.")
    g.set(5, topic='a"b', partition=0)
    g.set(1.5, topic="c", partition=1)
    c.inc(error="NOT_LEADER_OR_FOLLOWER")
    c.inc(2, error="NOT_LEADER_OR_FOLLOWER")
    assert r.render() == (
        "# HELP x_lag Lag.\n# TYPE x_lag gauge\n"
        'x_lag{partition="0",topic="a\\"b"} 5\n'
        'x_lag{partition="1",topic="c"} 1.5\n'
        "# HELP x_errors_total Errors.\n# TYPE x_errors_total counter\n"
        'x_errors_total{error="NOT_LEADER_OR_FOLLOWER"} 3\n')
    with pytest.raises(ValueError):
        c.inc(-1)
    with pytest.raises(ValueError):
        r.counter("bad", "no suffix")


def test_server_serves_metrics_and_status():
    async def main():
        m = MirrorMetrics()
        m.bytes_total.inc(10)
        srv = MetricsServer(m, lambda: {"partitions": [{"topic": "t"}]}, "127.0.0.1", 0)
        await srv.start()
        try:
            async def get(path):
                r, w = await asyncio.open_connection("127.0.0.1", srv.port)
                w.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
                data = await r.read()
                w.close()
                head, _, body = data.partition(b"\r\n\r\n")
                return head.split(b"\r\n")[0], body
            status, body = await get("/metrics")
            assert status.endswith(b"200 OK") and b"linker_mirrored_bytes_total 10" in body
            status, body = await get("/status")
            assert json.loads(body) == {"partitions": [{"topic": "t"}]}
            status, _ = await get("/nope")
            assert b"404" in status
        finally:
            await srv.close()
    asyncio.run(main())
