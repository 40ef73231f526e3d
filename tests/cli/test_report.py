"""`omnidesk report`: the formats, the schema and one-line errors, over the hand-computed desk."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from omnidesk.timeutil import iso
from tests.unit import reportdesk as rd

PERIOD = ("--since", iso(rd.T0), "--until", iso(rd.at(1440)))


@pytest.fixture
def desk_env(cli_env):
    cli_env.run(rd.build)
    return cli_env


def test_summary_json_has_the_documented_schema(desk_env) -> None:
    result = desk_env.invoke("report", "summary", *PERIOD, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"report", "since", "until", "timezone", "time", "business_hours",
                        "reopen_window_seconds", "filters", "rows"}
    assert doc["business_hours"] == "not configured" and doc["time"] == "calendar"
    assert doc["since"] == "2026-11-02T00:00:00Z"
    rows = {r["metric"]: r for r in doc["rows"]}
    assert set(rows["first_response_time"]) == {"metric", "unit", "n", "total", "median", "p90", "mean"}
    assert rows["first_response_time"]["median"] == 3600
    assert rows["backlog"]["total"] == 3


def test_csat_json_on_a_desk_with_no_surveys(desk_env) -> None:
    result = desk_env.invoke("report", "csat", *PERIOD, "--json")
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)["rows"]
    assert row == {"group": "all", "name": "", "csat_asked": 0, "csat_answered": 0,
                   "csat_response_rate": None, "csat_rate": None, "nps_asked": 0, "nps_answered": 0,
                   "nps_response_rate": None,
                   "promoters": 0, "passives": 0, "detractors": 0, "nps": None}


def test_piped_output_is_tsv_and_csv_has_a_header(desk_env) -> None:
    tsv = desk_env.invoke("report", "channels", *PERIOD)
    assert tsv.exit_code == 0, tsv.stderr
    lines = tsv.stdout.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["support", "4"], ["tg", "1"]]
    csv = desk_env.invoke("report", "agents", *PERIOD, "--csv")
    head, *body = csv.stdout.splitlines()
    assert head.startswith("agent,replies,frt_median")
    assert [b.split(",")[0] for b in body] == ["alice", "bob"]


def test_table_says_calendar_time(desk_env) -> None:
    result = desk_env.invoke("report", *PERIOD, "--format", "table")
    assert "business hours: not configured" in result.stdout
    assert "1h 00m" in result.stdout  # the median first response


def test_process_pipe_and_filters(desk_env) -> None:
    result = desk_env.process("report", "summary", *PERIOD, "--channel", "tg", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["metric"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows["conversations"]["total"] == 1
    tagged = desk_env.invoke("report", "summary", *PERIOD, "--query", "tag:refund", "--json")
    assert {r["metric"]: r for r in json.loads(tagged.stdout)["rows"]}["conversations"]["total"] == 1


@pytest.mark.parametrize(("args", "message"), [
    (("report", "weekly"), "unknown report 'weekly'"),
    (("report", "--since", "soon"), "cannot read --since 'soon'"),
    (("report", "--since", "1d", "--until", "2d"), "is not before --until"),
    (("report", "--channel", "fax"), "unknown channel 'fax'"),
    (("report", "--team", "nobody"), "unknown team 'nobody'"),
    (("report", "--query", "status:"), "bad --query"),
    (("report", "--reopen-window", "forever"), "cannot read --reopen-window"),
    (("report", "--csv", "--json"), "--csv conflicts"),
    (("report", "sla"), "needs SLA policies"),
    (("report", "csat", "--team", "x"), "not --team or --query"),
    (("report", "--since", "99999y"), "more than ten years"),
])
def test_bad_arguments_are_one_line(desk_env, args, message) -> None:
    result = desk_env.process(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2 and "Traceback" not in result.stderr


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_html_page_is_self_contained_and_reads_back_in_a_browser(desk_env, tmp_path) -> None:
    out = tmp_path / "report.html"
    result = desk_env.process("report", *PERIOD, "--html", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text("utf-8")
    assert "src=" not in text and "href=" not in text and "<script" not in text  # nothing to fetch
    if CHROMIUM is None:
        pytest.skip("no chromium to open the page in")
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          out.as_uri()], capture_output=True, text=True, timeout=120).stdout
    soup = dict(re.findall(r'<tr data-metric="(\w+)"><td data-field="metric" data-value="\w+">\w+</td>'
                           r'<td data-field="unit" data-value="[^"]*">[^<]*</td>'
                           r'<td data-field="n" data-value="(\d+)">', dom))
    assert soup["first_response_time"] == "4" and soup["conversations"] == "5"
    medians = re.findall(r'data-metric="first_response_time">.*?data-field="median" data-value="(\d+)">'
                         r"([^<]+)</td>", dom)
    assert medians == [("3600", "1h 00m")]
    charts = {c: re.findall(r'data-label="([^"]+)" data-value="([^"]+)"', part)
              for c, part in re.findall(r'<svg id="(\w+)"(.*?)</svg>', dom, re.S)}
    assert charts["backlog"] == [("2026-11-02", "3")]
    assert charts["channels"] == [("support", "4"), ("tg", "1")]
    assert charts["frt"] == [("2026-11-02", "3600")]


def test_html_refuses_other_formats_and_unwritable_files(desk_env, tmp_path) -> None:
    result = desk_env.process("report", "--html", str(tmp_path / "r.html"), "--json")
    assert result.returncode != 0 and "--html writes the summary page" in result.stderr
    result = desk_env.process("report", "--html", str(tmp_path / "missing" / "r.html"))
    assert result.returncode != 0 and "cannot write" in result.stderr and "Traceback" not in result.stderr


def test_multilingual_and_hostile_tags_stay_one_line(desk_env) -> None:
    async def tag(desk):
        from omnidesk.store import actions as store_actions

        async with desk.db.write() as conn:
            names = ["退款", "بازپرداخت", "számla\u202e\x1b[31m"]
            ids = await store_actions.tag_ids(conn, names, create=True)
            for tag_id in ids.values():
                await store_actions.add_tag(conn, 1, tag_id)

    desk_env.run(tag)
    tsv = desk_env.invoke("report", "tags", *PERIOD)
    assert tsv.exit_code == 0, tsv.stderr
    assert "\x1b" not in tsv.stdout and "\u202e" not in tsv.stdout
    names = [line.split("\t")[0] for line in tsv.stdout.splitlines()]
    assert {"退款", "بازپرداخت", "számla\\u202e\\x1b[31m"} <= set(names)
    table = desk_env.invoke("report", "tags", *PERIOD, "--format", "table")
    assert "退款" in table.stdout and "\x1b" not in table.stdout and "\u202e" not in table.stdout
