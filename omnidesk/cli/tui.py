"""`omnidesk tui` (the console) and `omnidesk demo [--headless]`.

Nothing here imports Textual at module level: the CLI's other commands stay fast.
The demo builds a fresh desk with omnidesk.demo's builder (real Maildir ingest, real SMTP to
a LocalReceiver on 127.0.0.1; Slack, Telegram, Mastodon and Twilio served by local fakes),
keeps simulated customers writing in, runs the sync in-process, and opens the console
on it. `--headless` drives the same console with Textual's Pilot through a scripted
session (open, reply, assign, resolve; then replies on Telegram, Mastodon and SMS) and
checks that the replies really reached the local receiver and the fakes, and that the
customer who wrote on four channels is one customer.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from omnidesk.cli.common import cli_state, fail, no_terminal, run


def register(app: typer.Typer) -> None:
    app.command("tui")(tui_command)
    app.command("demo")(demo_command)


def tui_command(ctx: typer.Context) -> None:
    """Open the console (the default when omnidesk runs with no command)."""
    from omnidesk.errors import UserError
    from omnidesk.services.opendesk import load_config, open_desk_from_settings

    refused = no_terminal("the console", "run it in a terminal (ssh -t), or use the other commands")
    if refused is not None:
        raise refused
    state = cli_state(ctx)
    try:
        settings = load_config(state.config_path)  # config errors: one clean line, before the screen changes
    except UserError as exc:
        raise fail(str(exc), hint=exc.hint) from None
    from omnidesk.tui.app import OmnideskApp

    app = OmnideskApp(
        open_desk=lambda: open_desk_from_settings(settings, as_agent=state.as_agent, data_dir=state.data_dir),
        run_sync=True,
    )
    app.run()
    if app.return_code:
        raise typer.Exit(app.return_code)


def demo_command(
    headless: bool = typer.Option(
        False, "--headless", help="Run a scripted session without a terminal; exit 0 if it worked."
    ),
    directory: Path | None = typer.Option(
        None, "--dir", help="Build the demo desk here (default: a new temp dir)."
    ),
    conversations: int = typer.Option(
        300, "--conversations", min=10, max=100_000, help="How many conversations to invent."
    ),
    seed: int = typer.Option(1, "--seed", help="Random seed for the invented history."),
) -> None:
    """A fresh demo desk (multilingual history, live simulated customers, local mail and chat services)."""
    refused = None if headless else no_terminal("the demo console", "run it in a terminal or pass --headless")
    if refused is not None:
        raise refused
    directory = Path(directory or tempfile.mkdtemp(prefix="omnidesk-demo-"))
    if headless:
        ok = run(headless_session(directory, conversations=min(conversations, 120), seed=seed))
        raise typer.Exit(0 if ok else 1)
    _interactive(directory, conversations=conversations, seed=seed)


def _interactive(directory: Path, *, conversations: int, seed: int) -> None:
    from omnidesk.demo.builder import build_demo
    from omnidesk.demo.chat import ChatServices
    from omnidesk.demo.receiver import LocalReceiver
    from omnidesk.demo.simulator import simulate
    from omnidesk.services.opendesk import open_desk

    receiver = LocalReceiver(directory=directory / "received").start()
    chat = ChatServices().start()
    try:
        sys.stderr.write(f"omnidesk demo: building a desk in {directory} ...\n")
        config = run(build_demo(directory, conversations=conversations, seed=seed, receiver=receiver,
                                chat=chat))
        sys.stderr.write(
            f"omnidesk demo: mail replies go to a local receiver on 127.0.0.1:{receiver.port} "
            f"(copies in {directory / 'received'}); Slack at {chat.slack.base_url}, "
            f"Telegram at {chat.telegram.api_url}, Mastodon at {chat.mastodon.base_url}, "
            f"SMS and WhatsApp (Twilio) at {chat.twilio.api_url}, all local fakes\n"
        )
        from omnidesk.tui.app import OmnideskApp

        async def customers_keep_writing(stop: asyncio.Event) -> None:
            await simulate(directory, stop, receiver=receiver, chat=chat)

        app = OmnideskApp(
            open_desk=lambda: open_desk(config, as_agent=demo_agent(config)),
            run_sync=True,
            background=[customers_keep_writing],
        )
        app.run()
        sys.stderr.write(
            f"omnidesk demo: the desk stays in {directory}; reopen it with `omnidesk --config {config} tui`\n"
        )
    finally:
        receiver.stop()
        chat.stop()


async def headless_session(directory: Path, *, conversations: int = 80, seed: int = 1) -> bool:
    """Open, reply, assign, resolve through the real console (Pilot), reply on Telegram, Mastodon and
    SMS, then check the store, the receiver, the fakes and the four-channel customer."""
    from omnidesk.demo.builder import build_demo, chat_conversations, load_state
    from omnidesk.demo.chat import ChatServices
    from omnidesk.demo.receiver import LocalReceiver
    from omnidesk.services.opendesk import open_desk
    from omnidesk.tui.app import OmnideskApp

    began = time.perf_counter()
    receiver = LocalReceiver(directory=directory / "received").start()
    chat = ChatServices().start()
    try:
        config = await build_demo(directory, conversations=conversations, seed=seed, receiver=receiver,
                                  chat=chat)
        desk = await open_desk(config, as_agent=demo_agent(config))
        if desk.agent is None:
            _say("no acting agent in the demo config")
            await desk.db.close()
            return False
        state = load_state(directory)
        crossing, on_chat = state["cross_channel_conversation"], state["chat_conversations"]
        by_mail = [s for s in await chat_conversations(desk, "support") if s.id != crossing]
        on_telegram = await chat_conversations(desk, "telegram")
        if not by_mail or not on_telegram or crossing is None or not {"mastodon", "sms"} <= set(on_chat):
            _say("no mail, Telegram, Mastodon or SMS conversation, or no four-channel customer in the desk")
            await desk.db.close()
            return False
        before = len(receiver.messages)
        chat_reply = f"Köszönjük! 谢谢! ممنون! (headless demo {seed})"
        app = OmnideskApp(desk, run_sync=True, close_desk=True)
        reply = f"Thanks for writing; this is the headless demo ({seed})."
        async with app.run_test(size=(160, 45)) as pilot:
            inbox = await _until(pilot, lambda: _inbox_ready(app), "the inbox to show conversations")
            # Chat customers wrote last: the newest conversation answered by mail may be further down.
            inbox.conv_list.move_to(inbox.conv_list.index_of(by_mail[0].id) or 0)
            target = inbox.conv_list.current()
            _say(f"inbox: {inbox.conv_list.row_count} conversations; opening #{target.id}")
            await pilot.press("enter")
            await _until(
                pilot,
                lambda: getattr(app.screen, "conversation", None) is not None,
                "the conversation to open",
            )
            await pilot.press("r")
            await _until(pilot, lambda: app.screen.open_composer() is not None, "the composer")
            app.screen.open_composer().query_one("TextArea").insert(reply)
            await pilot.press("ctrl+j")
            await _until(pilot, lambda: app.screen.open_composer() is None, "the reply to be queued")
            _say("reply queued; waiting for the undo window and the local receiver")
            await pilot.press("A")
            await _until(
                pilot, lambda: _summary_is(app, target.id, assignee=desk.agent.name), "the assignment"
            )
            captured = await _until(
                pilot, lambda: len(receiver.messages) > before, "the reply to be delivered", timeout=60
            )
            await pilot.press("e")
            await _until(
                pilot,
                lambda: getattr(app.screen, "conversation_id", None) != target.id,
                "resolve-and-next to move on",
            )
            on_fake = {}
            for service, conversation_id, replies in (
                ("Telegram", on_telegram[0].id, chat.telegram_replies),
                ("Mastodon", on_chat["mastodon"], chat.mastodon_replies),
                ("SMS", on_chat["sms"], chat.sms_replies),
            ):
                _say(f"opening {service} conversation #{conversation_id} and replying there")
                await _reply_in_console(pilot, inbox, conversation_id, chat_reply, service)
                on_fake[service] = await _until(
                    pilot, lambda r=replies: any(chat_reply in t for t in r()),
                    f"the reply to reach {service}", timeout=60,
                )
        conversation = await _reopen_check(config, target.id)
        story = await _reopen_check(config, crossing)
        sent = [m for m in conversation.messages if m.direction == "out" and reply in m.text]
        delivered = [c for c in receiver.messages[before:] if reply in c.data.decode("utf-8", "replace")]
        identities = sorted({i.kind for i in story.customer.identities})
        channels = sorted({m.channel_kind for m in story.messages if m.direction == "in" and m.channel_kind})
        one_story = {"email", "telegram", "phone", "mastodon"} <= set(identities) and {
            "maildir", "telegram", "twilio", "mastodon"} <= set(channels)
        ok = (
            bool(captured)
            and bool(delivered)
            and bool(sent)
            and conversation.summary.status == "resolved"
            and conversation.summary.assignee == desk.agent.name
            and all(on_fake.values())
            and one_story
        )
        _say(
            f"reply delivered to 127.0.0.1:{receiver.port}: {bool(delivered)}; stored as out message: "
            f"{bool(sent)} ({sent[0].delivery if sent else '-'}); status {conversation.summary.status}; "
            f"assignee {conversation.summary.assignee}; Telegram reply reached {chat.telegram.api_url}: "
            f"{on_fake['Telegram']}; Mastodon reply reached {chat.mastodon.base_url}: {on_fake['Mastodon']};"
            f" SMS reply reached {chat.twilio.api_url}: {on_fake['SMS']}; four-channel customer"
            f" {story.customer.id} of #{crossing}: one customer with {', '.join(identities)} on"
            f" {', '.join(channels)}: {one_story}; {time.perf_counter() - began:.1f} s"
        )
        return ok
    except TimeoutError as exc:
        _say(f"FAILED: {exc}")
        return False
    finally:
        receiver.stop()
        chat.stop()


async def _reply_in_console(pilot: Any, inbox: Any, conversation_id: int, text: str, service: str) -> None:
    """Open the conversation with its composer, type `text`, send it (ctrl+j) and wait until it is queued."""
    inbox.open_conversation(conversation_id, compose="reply")
    await _until(pilot, lambda: getattr(pilot.app.screen, "conversation_id", None) == conversation_id
                 and pilot.app.screen.open_composer() is not None, f"the {service} composer")
    composer = pilot.app.screen.open_composer()
    # The composer takes focus once it has loaded its routes and draft; keys sent before go elsewhere.
    await _until(pilot, lambda: composer.has_focus_within, f"the {service} composer to take the keys")
    composer.query_one("TextArea").insert(text)
    await pilot.press("ctrl+j")
    await _until(pilot, lambda: pilot.app.screen.open_composer() is None, f"the {service} reply to be queued")


def demo_agent(config: Path) -> str | None:
    """The demo's agent for this OS user (its config names one), else its first agent."""
    from omnidesk.services.opendesk import load_config

    agents = load_config(config).agents
    mine = [a for a in agents if a.os_user]
    chosen = mine[0] if mine else (agents[0] if agents else None)
    return chosen.name if chosen else None


def _say(text: str) -> None:
    sys.stderr.write(f"omnidesk demo --headless: {text}\n")
    sys.stderr.flush()


def _inbox_ready(app: Any) -> Any:
    screen = app.screen
    lst = getattr(screen, "conv_list", None) if getattr(screen, "context", "") == "inbox" else None
    return screen if lst is not None and lst.current() is not None else None


def _summary_is(app: Any, conversation_id: int, **expected: Any) -> bool:
    conversation = getattr(app.screen, "conversation", None)
    if conversation is None or conversation.summary.id != conversation_id:
        return False
    return all(getattr(conversation.summary, k) == v for k, v in expected.items())


async def _until(pilot: Any, predicate: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


async def _reopen_check(config: Path, conversation_id: int) -> Any:
    from omnidesk.conversations import reads
    from omnidesk.services.opendesk import open_desk

    desk = await open_desk(config)
    try:
        return await reads.get_conversation(desk, conversation_id)
    finally:
        await desk.db.close()
