"""Segment-compatible event ingestion (track / identify / page), linked to the lead pipeline."""
