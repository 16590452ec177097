"""Reading a server's Prometheus metrics: GET /metrics, parsed with the client library's parser."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from twofa_server.app import Application

Labels = tuple[tuple[str, str], ...]
Series = dict[tuple[str, Labels], float]


def scrape(source: Application | str) -> Series:
    """Every sample of GET /metrics, by (sample name, sorted labels).

    Args:
        source: a server in this process, or the host:port of another's metrics_listen.
    """
    address = source.metrics_address if isinstance(source, Application) else source
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    return series[(name, tuple(sorted(labels.items())))]
