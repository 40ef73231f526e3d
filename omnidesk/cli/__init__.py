"""The `omnidesk` command line. See omnidesk/cli/app.py."""


def main() -> None:
    from omnidesk.cli.app import run

    run()
