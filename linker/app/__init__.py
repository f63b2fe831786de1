"""Wiring: where the link file meets the parts (engine, lifecycle, proxy, metrics).

``cli`` parses the command line; ``run`` assembles `linker run`; the proxy of a
link is ``proxy_settings`` (link file -> proxy config), ``state_following``
(guard and holds from the state topic), ``proxied_promotion`` (promote and
failover through the proxy), ``control`` (the loopback endpoint and its client)
and ``linked_proxy`` (the `linker proxy` command putting these together).
Nothing below this package imports it.
"""
