"""Built-in data: the GA4 default channel ruleset and the source categories (MIT, see LICENSE)."""
