"""Pilot tests: every binding of issue 5, each asserting what changed in the store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from omnidesk.conversations import reads
from omnidesk.store.drafts import get_draft
from tests.tui.conftest import inbox_ready, make_app, screen_text, until, until_async

SIZE = (150, 40)


async def summary(desk, conversation_id):
    return (await reads.get_conversation(desk, conversation_id)).summary


async def test_j_k_arrows_move_and_enter_opens_and_marks_read_esc_back(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        inbox = app.screen
        first = inbox.conv_list.current().id
        await pilot.press("j", "j", "down")
        assert inbox.conv_list.cursor == 3
        await pilot.press("k", "up")
        assert inbox.conv_list.cursor == 1
        second = inbox.conv_list.current().id
        assert second != first
        # scrolling past does not mark read
        assert (await summary(seeded, first)).unread
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "conversation", None) is not None, "conversation")
        assert app.screen.conversation_id == second
        await until_async(pilot, lambda: _read(seeded, second), "opened conversation marked read")
        assert (await summary(seeded, first)).unread
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is inbox, "back to the inbox")


async def _read(desk, conversation_id):
    return not (await summary(desk, conversation_id)).unread


async def test_J_K_move_between_conversations_while_reading(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        ids = [row.id for row in app.screen.conv_list.loaded_rows()]
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == ids[0], "first open")
        await pilot.press("J")
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == ids[1], "next")
        await pilot.press("J")
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == ids[2], "next again")
        await pilot.press("K")
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == ids[1], "previous")
        await until_async(pilot, lambda: _read(seeded, ids[2]), "J opens, so it marks read")


async def test_assign_picker_assign_me_and_undo(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        await pilot.press("a")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "picker")
        await pilot.press("b", "o", "b", "enter")
        await until_async(pilot, lambda: _is(seeded, cid, assignee="bob"), "assigned to bob")
        await pilot.press("A")
        await until_async(pilot, lambda: _is(seeded, cid, assignee="alice"), "assigned to me")
        assert any("u to undo" in n.message for n in app._notifications)
        await pilot.press("u")
        await until_async(pilot, lambda: _is(seeded, cid, assignee="bob"), "undo restores bob")


async def _is(desk, conversation_id, **expected):
    s = await summary(desk, conversation_id)
    return all((getattr(s, k) == v) if not callable(v) else v(getattr(s, k)) for k, v in expected.items())


async def test_tag_with_plus_minus_syntax_and_completion(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        await pilot.press("t")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "tag prompt")
        await pilot.press(*"+billing +spam")
        await pilot.press("enter")
        await until_async(
            pilot, lambda: _is(seeded, cid, tags=lambda t: set(t) == {"billing", "spam"}), "tagged"
        )
        await pilot.press("t")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "tag prompt")
        await pilot.press("-", "s", "p")
        picker = app.screen
        assert any(c.value == "-spam" for c in picker.shown), "completion offers known tags"
        await pilot.press("tab", "enter")
        await until_async(pilot, lambda: _is(seeded, cid, tags=lambda t: set(t) == {"billing"}), "untagged")


async def test_status_priority_snooze(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        await pilot.press("s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "status picker")
        await pilot.press(*"pending", "enter")
        await until_async(pilot, lambda: _is(seeded, cid, status="pending"), "pending")
        lst = app.screen.conv_list
        await until(
            pilot, lambda: lst.current() is not None and lst.current().id != cid, "pending left the view"
        )
        cid = lst.current().id
        await pilot.press("p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "priority picker")
        await pilot.press(*"urgent", "enter")
        await until_async(pilot, lambda: _is(seeded, cid, priority="urgent"), "urgent")

    app = make_app(seeded, clock=None)  # the real clock: a snooze must end in the future
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        await pilot.press("z")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "snooze picker")
        await pilot.press(*"tomorrow", "enter")
        await until_async(pilot, lambda: _is(seeded, cid, status="snoozed"), "snoozed")
        s = await summary(seeded, cid)
        # tomorrow 9:00 in the desk's time zone
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        tz = ZoneInfo("Europe/Budapest")
        until_local = datetime.fromtimestamp(s.snoozed_until / 1000, tz)
        assert (until_local.hour, until_local.minute) == (9, 0)
        assert until_local.date() == (datetime.now(tz) + timedelta(days=1)).date()


async def test_e_resolves_and_moves_to_the_next(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        lst = app.screen.conv_list
        ids = [row.id for row in lst.loaded_rows()]
        await pilot.press("e")
        await until_async(pilot, lambda: _is(seeded, ids[0], status="resolved"), "resolved")
        await until(
            pilot, lambda: lst.current() is not None and lst.current().id == ids[1], "cursor on the next"
        )
        # while reading: resolve and open the next
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == ids[1], "open")
        await pilot.press("e")
        await until_async(pilot, lambda: _is(seeded, ids[1], status="resolved"), "resolved while reading")
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == ids[2], "next opened")


async def test_merge_into_another_conversation(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        ids = [row.id for row in app.screen.conv_list.loaded_rows()]
        await pilot.press("m")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "merge prompt")
        await pilot.press(*f"#{ids[1]}", "enter")

        async def merged():
            return (await reads.get_conversation(seeded, ids[0])).merged_into == ids[1]

        await until_async(pilot, merged, "merged")


async def test_marks_space_x_V_star_and_bulk_confirmation(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        lst = app.screen.conv_list
        ids = [row.id for row in lst.loaded_rows()]
        await pilot.press("space", "x")
        assert lst.marked == {ids[0], ids[1]} and lst.cursor == 2
        await pilot.press("V", "j", "j", "V")
        assert lst.marked == {ids[0], ids[1], ids[2], ids[3], ids[4]}
        # five marked: a bulk action asks first; "n" leaves the store alone
        await pilot.press("p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "priority picker")
        await pilot.press(*"high", "enter")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", "bulk confirmation")
        await pilot.press("n")
        for i in ids[:5]:
            assert (await summary(seeded, i)).priority == "normal"
        await pilot.press("ctrl+x", "asterisk")
        await until(pilot, lambda: len(lst.marked) == len(ids), "* marks all matching")
        await pilot.press("A")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen", "bulk confirmation")
        await pilot.press("y")
        for i in ids:
            await until_async(pilot, lambda i=i: _is(seeded, i, assignee="alice"), f"#{i} assigned")


async def test_marked_set_is_fixed_before_the_first_step(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        lst = app.screen.conv_list
        ids = [row.id for row in lst.loaded_rows()]
        await pilot.press("x", "x")  # marks ids[0], ids[1]; cursor now on ids[2]
        await pilot.press("t")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen", "tag prompt")
        lst.marked.add(ids[3])  # the marks change while the prompt is open (e.g. a live update)
        lst.cursor = 4
        await pilot.press(*"+vip", "enter")
        await until_async(pilot, lambda: _is(seeded, ids[1], tags=lambda t: "vip" in t), "tagged")
        assert "vip" in (await summary(seeded, ids[0])).tags
        assert "vip" not in (await summary(seeded, ids[3])).tags
        assert "vip" not in (await summary(seeded, ids[4])).tags


async def test_filter_and_saved_views(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        inbox = app.screen
        await pilot.press("slash")
        await pilot.press(*"from:wang")
        await until(pilot, lambda: inbox.conv_list.row_count == 1, "filtered to one")
        assert inbox.conv_list.current().customer_address == "wang@example.cn"
        await pilot.press("escape")
        await until(pilot, lambda: inbox.conv_list.row_count == 7, "filter cleared")
        await pilot.press("slash", *"status:bogus")
        await until(pilot, lambda: "bogus" in inbox.last_error, "a bad query names the token")
        await pilot.press("escape")
        # 9 is the saved "Billing" view (tag:billing): empty until something is tagged
        await pilot.press("9")
        await until(pilot, lambda: inbox.query_text == "tag:billing", "saved view 9")
        await pilot.press("3")
        await until(pilot, lambda: inbox.query_text == "status:open", "third sidebar view")


async def test_reply_composer_send_and_undo_window(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        await pilot.press("r")
        await until(
            pilot, lambda: getattr(app.screen, "open_composer", lambda: None)() is not None, "composer"
        )
        assert "via support (email) to ann@example.com" in screen_text(app)
        await pilot.press(*"Refund is on its way")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: app.screen.open_composer() is None, "sent")

        async def queued():
            messages = (await reads.get_conversation(seeded, cid)).messages
            return [m for m in messages if m.direction == "out" and m.text.startswith("Refund is on its way")]

        out = (await until_async(pilot, queued, "out message stored"))[0]
        assert out.delivery == "queued"
        await until(pilot, lambda: "Sending in" in screen_text(app), "undo countdown")
        await pilot.press("u")

        async def cancelled():
            messages = (await reads.get_conversation(seeded, cid)).messages
            return [m for m in messages if m.id == out.id and m.delivery == "cancelled"] or not [
                m for m in messages if m.id == out.id
            ]

        await until_async(pilot, cancelled, "reply cancelled within the undo window")


async def test_note_is_stored_as_note(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "conversation", None) is not None, "open")
        await pilot.press("i")
        await until(pilot, lambda: app.screen.open_composer() is not None, "note composer")
        await pilot.press(*"Customer called too", "ctrl+j")

        async def noted():
            messages = (await reads.get_conversation(seeded, cid)).messages
            return [m for m in messages if m.direction == "note" and "Customer called too" in m.text]

        await until_async(pilot, noted, "note stored")
        await until(pilot, lambda: "NOTE" in screen_text(app), "note shown as a note")


async def test_drafts_saved_as_you_type_ctrl_s_editor_and_channel_switch(seeded, tmp_path, monkeypatch):
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'a').write(' -- edited in $EDITOR')\n")
    monkeypatch.setenv("VISUAL", f"{sys.executable} {editor}")
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        agent_id = seeded.agent.id
        await pilot.press("r")
        await until(
            pilot, lambda: getattr(app.screen, "open_composer", lambda: None)() is not None, "composer"
        )
        await pilot.press(*"Draft one")

        async def draft_is(text):
            draft = await get_draft(seeded.db, conversation_id=cid, agent_id=agent_id)
            return draft is not None and draft.body == text

        await until_async(pilot, lambda: draft_is("Draft one"), "draft saved after a pause")
        await pilot.press(*" two", "ctrl+s")
        await until_async(pilot, lambda: draft_is("Draft one two"), "ctrl+s saves")
        await pilot.press("ctrl+e")
        await until_async(pilot, lambda: draft_is("Draft one two -- edited in $EDITOR"), "$EDITOR round trip")
        composer = app.screen.open_composer()
        assert composer.text == "Draft one two -- edited in $EDITOR"
        await pilot.press("ctrl+o")  # one route only: stays on support, still shown
        assert composer.route.channel == "support"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.open_composer() is None, "closed, draft kept")
        await pilot.press("r")
        await until(pilot, lambda: app.screen.open_composer() is not None, "reopened")
        await until(
            pilot,
            lambda: app.screen.open_composer().text == "Draft one two -- edited in $EDITOR",
            "draft restored",
        )


async def test_customer_panel_copy_link_help_palette_and_command_line(seeded):
    app = make_app(seeded)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        await pilot.press("y")
        assert app.clipboard == f"omnidesk://acme/conversation/{cid}"
        await pilot.press("question_mark")
        await until(pilot, lambda: app.screen.id == "help", "help")
        text = screen_text(app)
        assert "resolve-next" in text and "Resolve and move to the next" in text
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette", "palette")
        await pilot.press(*"priority")
        await until(pilot, lambda: "Set priority" in screen_text(app), "palette lists actions")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.id == "inbox", "palette closed")
        await pilot.press("colon")
        await until(pilot, lambda: app.screen.id == "command-line", "command line")
        await pilot.press(*"ta")
        await until(pilot, lambda: "Tag: +billing -spam" in screen_text(app), "completion shows descriptions")
        await pilot.press(*"g +vip", "enter")
        await until_async(pilot, lambda: _is(seeded, cid, tags=lambda t: "vip" in t), ":tag +vip")
        await pilot.press("c")
        await until(
            pilot,
            lambda: app.screen.__class__.__name__ == "CustomerScreen" and app.screen.customer is not None,
            "customer panel",
        )
        assert "ann@example.com" in screen_text(app)


async def test_keys_are_remappable_by_action_id(seeded, tmp_path):
    from dataclasses import replace

    from tests.tui.seed import settings

    desk = replace(seeded, settings=settings(keys={"resolve-next": "d"}))
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: inbox_ready(app), "inbox")
        cid = app.screen.conv_list.current().id
        await pilot.press("e")  # no longer bound
        await pilot.press("d")
        await until_async(pilot, lambda: _is(seeded, cid, status="resolved"), "d resolves")
        for i in range(1, 8):
            if i != cid:
                assert (await summary(seeded, i)).status == "open"


def test_editor_notice_without_editor(monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    from omnidesk.tui.app import OmnideskApp

    app = OmnideskApp.__new__(OmnideskApp)
    notes = []
    app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
    assert OmnideskApp.edit_externally(app, "text") is None
    assert "EDITOR" in notes[0]
    assert os.environ.get("EDITOR") is None
    assert Path(".").exists()
