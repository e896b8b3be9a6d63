"""A third-party enricher as a user would write one (loaded by `enrichment.plugins`)."""


class ReverseLookup:
    name = "reverse"

    def __init__(self, suffix: str):
        self.suffix = suffix

    def lookup(self, domains: set[str]) -> dict[str, dict[str, object]]:
        return {
            d: {"industry": f"{d.split('.')[0]}{self.suffix}", "employees": 42} for d in domains
        }


def make(workspace, suffix: str = "-co"):
    return ReverseLookup(suffix)
