"""Customers: identity normalisation and customer resolution."""
