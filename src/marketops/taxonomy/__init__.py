"""Campaign taxonomy: UTM rules and naming templates (taxonomy.yml), and channel classification."""

from marketops.taxonomy.model import Taxonomy, load_taxonomy

__all__ = ["Taxonomy", "load_taxonomy"]
