"""Reports: support metrics defined once (docs/reports.md), computed from events and messages."""
