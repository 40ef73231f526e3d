"""`M` in a conversation: the macro picker, its live preview, the text in the composer, actions on send;
the composer shows the signature, and the sent mail carries it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from omnidesk.conversations import reads
from omnidesk.outbound.outbox import Dispatcher
from omnidesk.settings import AgentSettings, MacroSettings
from tests.fakes.smtp_server import FakeSMTPServer
from tests.integration.outbox_env import channel_settings
from tests.tui.conftest import make_app, open_conversation, screen_text, until, until_async
from tests.tui.seed import HOSTILE_SUBJECT

REPO = Path(__file__).resolve().parents[2]
SIZE = (160, 50)
ANN, MALLORY = 1, 5

BROKEN = '[text.email]\nen = "Dear {{ customer.nickname }}"\n'
HOSTILE = '[text.email]\nen = "About: {{ conversation.subject }} from {{ customer.name }}"\n'


def with_macros(base, folder: Path, **changes):  # type: ignore[no-untyped-def]
    return replace(base, settings=replace(base.settings, macros=MacroSettings(dir=folder), **changes))


@pytest.fixture
def macro_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "macros"
    folder.mkdir()
    for path in (REPO / "config" / "macros").glob("*.toml"):
        (folder / path.name).write_text(path.read_text("utf-8"), "utf-8")
    (folder / "broken.toml").write_text(BROKEN, "utf-8")
    (folder / "hostile.toml").write_text(HOSTILE, "utf-8")
    return folder


def _composer(app):  # type: ignore[no-untyped-def]
    return getattr(app.screen, "open_composer", lambda: None)()


def _picker(app):  # type: ignore[no-untyped-def]
    return app.screen if type(app.screen).__name__ == "MacroPickerScreen" else None


def _preview(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#macro-preview").render())


async def open_picker(pilot, app, cid: int, typed: str, shown: str) -> None:  # type: ignore[no-untyped-def]
    """Open conversation `cid`, press M, type `typed`, wait until the preview shows `shown`."""
    await open_conversation(pilot, app, cid)
    await pilot.press("M")
    await until(pilot, lambda: _picker(app) is not None, "picker")
    await pilot.press(*typed)
    await until(pilot, lambda: shown in _preview(app), f"preview showing {shown!r}")


async def test_pick_preview_edit_send_applies_the_actions(seeded, macro_dir: Path) -> None:
    desk = with_macros(seeded, macro_dir)
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, app, ANN, "refund", "Hello Ann,")
        preview = _preview(app)
        assert "email · en" in preview and "when sent: +refund, -triage, status pending" in preview
        assert "We have\nreceived your refund request (#1)" in preview
        # The preview follows the highlight.
        await pilot.press(*["backspace"] * len("refund"), *"late")
        await until(pilot, lambda: "your parcel is delayed" in _preview(app), "preview of shipping-delay")
        field = app.screen.query_one("#picker-input")
        field.value = "refund"
        await until(pilot, lambda: "Hello Ann," in _preview(app), "back to refund-received")
        await pilot.press("enter")
        await until(pilot, lambda: _composer(app) is not None and "Hello Ann," in _composer(app).text, "text")
        assert "macro refund-received: +refund, -triage, status pending when sent" in screen_text(app)
        # The text is the agent's to edit before sending.
        composer = _composer(app)
        composer.query_one("TextArea").move_cursor(composer.query_one("TextArea").document.end)
        await pilot.press("enter", *"Ann from billing")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: _composer(app) is None, "sent")

        async def replied():  # type: ignore[no-untyped-def]
            conv = await reads.get_conversation(seeded, ANN)
            out = [m for m in conv.messages if m.direction == "out"]
            return (conv, out) if out else None

        conv, out = await until_async(pilot, replied, "reply stored")
        assert out[0].text.startswith("Hello Ann,\n\nthank you for writing to us about Refund for order")
        assert "Best regards,\nAnn from billing" in out[0].text
        assert conv.summary.status == "pending" and "refund" in conv.summary.tags
        await until(pilot, lambda: "tagged +refund by macro 'refund-received'" in screen_text(app),
                    "timeline")
        # u: the reply and the macro's actions are undone together.
        await pilot.press("u")

        async def undone():  # type: ignore[no-untyped-def]
            conv = await reads.get_conversation(seeded, ANN)
            out = [m for m in conv.messages if m.direction == "out"]
            return conv if out[0].delivery == "cancelled" and conv.summary.status == "open" else None

        conv = await until_async(pilot, undone, "reply cancelled and status back")
    assert "refund" not in conv.summary.tags


async def test_a_broken_macro_shows_its_problem_and_picking_it_sends_nothing(seeded, macro_dir: Path) -> None:
    app = make_app(with_macros(seeded, macro_dir))
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, app, ANN, "broken", "customer has no field 'nickname'")
        await pilot.press("enter")
        await until(pilot, lambda: _picker(app) is None, "picker closed")
        await pilot.pause(0.2)
        assert _composer(app) is None


async def test_preview_shows_a_strangers_text_inert(seeded, macro_dir: Path) -> None:
    app = make_app(with_macros(seeded, macro_dir))
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, app, MALLORY, "hostile", "About:")
        text = screen_text(app)
        assert "[bold red]FREE[/]" in text  # markup shown as typed, never parsed
        assert "\x1b" not in _preview(app) and "\u202e" not in _preview(app)
        assert HOSTILE_SUBJECT.split()[0] in text


async def test_composer_shows_the_signature_and_the_sent_mail_carries_it(seeded, macro_dir: Path) -> None:
    with FakeSMTPServer() as smtp:
        channel = replace(
            channel_settings(smtp.port), from_name="{agent} at Acme",
            signature=(("en", "{agent_signature}\nAcme support"),),
            signature_html=(("", "<p>{agent}<br>Acme support</p>"),))
        alice = AgentSettings(name="alice", display_name="Alice", signature=(("en", "Alice, billing"),))
        desk = with_macros(seeded, macro_dir, channels=(channel,), agents=(alice,),
                           desk=replace(seeded.settings.desk, undo_seconds=0))
        app = make_app(desk)
        async with app.run_test(size=SIZE) as pilot:
            await open_conversation(pilot, app, ANN)
            await pilot.press("r")
            await until(pilot, lambda: _composer(app) is not None, "composer")
            await until(pilot, lambda: "From: Alice at Acme" in screen_text(app), "from name shown")
            text = screen_text(app)
            assert "sent as, signed below your reply" in text
            assert "Alice, billing" in text and "Acme support" in text
            await pilot.press(*"Refunded today.", "ctrl+j")
            await until(pilot, lambda: _composer(app) is None, "sent")
            await until_async(pilot, lambda: _sent(desk), "dispatched")
        [got] = await smtp.wait_for(1)
    msg = got.message
    assert str(msg["From"]) == "Alice at Acme <support@example.com>"
    plain = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.startswith("Refunded today.\n\n-- \nAlice, billing\nAcme support\n\nOn ")
    assert "<p>Alice<br>Acme support</p>" in msg.get_body(("html",)).get_content()


async def _sent(desk) -> bool:  # type: ignore[no-untyped-def]
    stats = await Dispatcher(desk).run_once()
    assert not stats.errors
    return stats.sent > 0


async def test_the_command_line_names_a_macro_without_the_picker(seeded, macro_dir: Path) -> None:
    app = make_app(with_macros(seeded, macro_dir))
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, ANN)
        await pilot.press(":", *"macro resolved-thanks", "enter")
        await until(pilot, lambda: _composer(app) is not None and "glad we could help" in _composer(app).text,
                    "text in the composer")
        assert "macro resolved-thanks: status resolved, assign me when sent" in screen_text(app)


async def test_ctrl_t_in_the_composer_inserts_at_the_cursor(seeded, macro_dir: Path) -> None:
    app = make_app(with_macros(seeded, macro_dir))
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, app, ANN)
        await pilot.press("r")
        await until(pilot, lambda: _composer(app) is not None and not _composer(app)._loading_draft,
                    "composer")
        await pilot.press(*"Hi! ", "ctrl+t")
        await until(pilot, lambda: _picker(app) is not None, "picker over the composer")
        await pilot.press(*"resolved", "enter")
        await until(pilot, lambda: "glad we could help" in _composer(app).text, "inserted")
        assert _composer(app).text.startswith("Hi! Hello Ann,")
        assert _composer(app).macro_actions.status == "resolved"
