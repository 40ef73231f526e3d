"""Inbound: channel records and imported mail -> customer -> conversation -> stored message."""
