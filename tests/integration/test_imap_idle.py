"""IDLE on every configured folder against a real Dovecot; folders that cannot be watched are polled."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.email.idle import MAX_IDLE_FOLDERS
from tests.integration.dovecot import Dovecot
from tests.integration.test_imap import adapter, drain, mail, wait_until

pytestmark = pytest.mark.dovecot

FOLDERS = ["INBOX", "Ügyfelek", "退款", "پشتیبانی"]


async def test_mail_in_the_second_folder_wakes_the_waiter_well_before_a_poll(dovecot: Dovecot) -> None:
    for n, folder in enumerate(FOLDERS):
        dovecot.deliver(mail(n), folder=folder)  # creates the folder
    a = adapter(dovecot, folders=FOLDERS, poll_seconds=60)
    try:
        _, cursor = await drain(a, None)
        waiter = asyncio.create_task(a.wait_for_changes(60))
        await wait_until(lambda: a.imap.idles >= len(FOLDERS))  # one IDLE per folder
        started = time.monotonic()
        dovecot.deliver(mail(10), folder="Ügyfelek")
        await asyncio.wait_for(waiter, 10)  # the poll interval is 60 s
        assert time.monotonic() - started < 10
        batches, cursor = await drain(a, cursor)
        assert [(r.external_id, r.meta["imap"]["folder"]) for b in batches for r in b.records] == [
            ("<m10@example.com>", "Ügyfelek")]
        # And the last folder too, on the connections kept from the first wait.
        waiter = asyncio.create_task(a.wait_for_changes(60))
        await wait_until(lambda: a.imap.idles >= 2 * len(FOLDERS))
        dovecot.deliver(mail(11), folder="پشتیبانی")
        await asyncio.wait_for(waiter, 10)
        batches, _ = await drain(a, cursor)
        assert [r.external_id for b in batches for r in b.records] == ["<m11@example.com>"]
    finally:
        await a.close()


async def test_a_folder_that_cannot_be_watched_is_polled(dovecot: Dovecot) -> None:
    dovecot.deliver(mail(1))
    a = adapter(dovecot, folders=["INBOX", "Nincs ilyen"], poll_seconds=0.4)
    try:
        started = time.monotonic()
        await asyncio.wait_for(a.wait_for_changes(60), 10)
        assert 0.3 <= time.monotonic() - started < 5  # the poll interval, not the 60 s timeout
    finally:
        await a.close()


async def test_folders_beyond_the_idle_limit_are_polled(dovecot: Dovecot) -> None:
    folders = ["INBOX", *(f"Mappa {n}" for n in range(1, MAX_IDLE_FOLDERS + 1))]
    for n, folder in enumerate(folders):
        dovecot.deliver(mail(n), folder=folder)
    a = adapter(dovecot, folders=folders, poll_seconds=0.5)
    try:
        _, cursor = await drain(a, None)
        started = time.monotonic()
        await asyncio.wait_for(a.wait_for_changes(60), 10)
        assert 0.4 <= time.monotonic() - started < 5  # the poll interval, not the 60 s timeout
        # The watchers' connections are kept between waits; on a loaded machine logging
        # them all in may take longer than one poll interval.
        deadline = time.monotonic() + 30
        while a.imap.idles < MAX_IDLE_FOLDERS and time.monotonic() < deadline:
            await asyncio.wait_for(a.wait_for_changes(60), 10)
        assert a.imap.idles >= MAX_IDLE_FOLDERS  # every watchable folder was IDLE meanwhile
        dovecot.deliver(mail(50), folder=folders[-1])
        batches, _ = await drain(a, cursor)  # the poll after the interval finds it
        assert [r.meta["imap"]["folder"] for b in batches for r in b.records] == [folders[-1]]
    finally:
        await a.close()
