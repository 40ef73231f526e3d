"""The knowledge base: Markdown articles in a folder, indexed, suggested, linted and published.

`article` reads one file, `markup` turns Markdown into text and HTML, `library` keeps the
store's index in step with the folder, `suggest` ranks articles for a conversation,
`lint` checks the folder, `publish` writes the static help centre. docs/kb.md.
"""
