"""Run the proxy alone: ``python -m linker.proxy --upstream HOST:PORT[,...]``.

Prints one line ``proxy listening on HOST:PORT`` once the bootstrap listener
is open (a parent process can read it), then serves until SIGTERM/SIGINT.
`linker proxy --config link.toml` (linker/app/linked_proxy.py) runs it for a link instead.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from linker.client import TlsSettings, run

from .config import ListenTls, PortMapping, ProxyConfig, UpstreamConfig
from .server import ProxyServer


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m linker.proxy", description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="bootstrap servers of the cluster to front")
    p.add_argument("--name", default="upstream", help="a name for that cluster in logs")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    p.add_argument("--advertise", default=None, help="host clients should connect to (default: --bind)")
    p.add_argument("--bootstrap-port", type=int, default=0, help="0: any free port")
    p.add_argument("--port-base", type=int, default=None, help="broker N is served on port BASE+N")
    p.add_argument("--upstream-ca", default=None, help="CA file: connect to the brokers with TLS")
    p.add_argument("--tls-cert", default=None, help="certificate (PEM) shown to clients")
    p.add_argument("--tls-key", default=None, help="key (PEM) of --tls-cert")
    fetch = p.add_mutually_exclusive_group()
    fetch.add_argument("--fetch-endpoints", action="store_true",
                       help="advertise Fetch v16+ and rewrite its KIP-951 leader endpoints (each Fetch "
                            "response is then collected whole before it is relayed)")
    fetch.add_argument("--no-fetch-endpoints", action="store_true",
                       help="cap Fetch at v15, every Fetch response relayed as it arrives (the default)")
    p.add_argument("--allow-plaintext-clients", action="store_true",
                   help="serve clients without --tls-cert although --upstream-ca is given")
    p.add_argument("--allow-sasl-plain", action="store_true",
                   help="accept SASL PLAIN from clients without --tls-cert (password in clear)")
    p.add_argument("--max-connections", type=int, default=ProxyConfig.max_connections,
                   help="client connections at once")
    p.add_argument("--max-connections-per-address", type=int, default=ProxyConfig.max_connections_per_address,
                   help="client connections at once from one address")
    p.add_argument("--log-level", default="INFO")
    return p


def config_from_args(args: argparse.Namespace) -> ProxyConfig:
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    upstream = UpstreamConfig(name=args.name, bootstrap=args.upstream,
                              tls=TlsSettings(ca_file=args.upstream_ca) if args.upstream_ca else None)
    return ProxyConfig(upstream=upstream, bind_host=args.bind, advertised_host=args.advertise,
                       bootstrap_port=args.bootstrap_port, ports=PortMapping(base=args.port_base),
                       listen_tls=ListenTls(args.tls_cert, args.tls_key) if args.tls_cert else None,
                       fetch_node_endpoints=args.fetch_endpoints,
                       allow_plaintext_clients=args.allow_plaintext_clients,
                       allow_sasl_plain_over_plaintext=args.allow_sasl_plain,
                       max_connections=args.max_connections,
                       max_connections_per_address=args.max_connections_per_address)


async def serve(config: ProxyConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with ProxyServer(config) as server:
        print(f"proxy listening on {server.bootstrap}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"linker.proxy: {exc}", file=sys.stderr)
        return 2
    run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
