"""marketops: a marketing operations engine — governance as code, one lead pipeline, trusted numbers."""

__version__ = "0.1.0"
