"""Reading /metrics as Prometheus does, through prometheus-client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Scrape", "parse_scrape"]


class Scrape:
    """The samples and family types of one /metrics answer."""

    def __init__(self, text: str) -> None:
        self.types: dict[str, str] = {}
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float | None:
        """The sample `name` with exactly these labels, or None when there is none."""
        return self.samples.get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples `name` whose labels include these (0 when none)."""
        wanted = set(labels.items())
        return sum(
            value
            for (sample, sample_labels), value in self.samples.items()
            if sample == name and wanted <= sample_labels
        )

    def labels_of(self, name: str) -> list[dict[str, str]]:
        """The label sets of every sample `name`."""
        return [dict(labels) for sample, labels in self.samples if sample == name]


def parse_scrape(text: str) -> Scrape:
    """`text` parsed; raises ValueError when it is not the exposition format."""
    return Scrape(text)
