"""Routing rules and automatic assignment (docs/rules.md).

    loader      the rules file -> a RuleSet; a mistake names file, line, rule and reason
    model       Rule, its conditions and actions
    engine      which rules fire for one conversation, and why
    assignment  the strategies: round-robin within a team, least open, skills match
    routing     the post-ingest hook: pending routing run, applied and cleared
"""
