"""Routing that sales trusts: capacity, availability, account matching, reassignment, audit."""
