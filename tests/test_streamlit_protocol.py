"""The load test's protocol client (``benchmarks/streamlit_protocol.py``, ``load_users.py``):
how it reads the server's ForwardMsgs into a page and what BackMsgs it sends, and, end to end
against a served demo study, that a simulated coordinator's saves over the protocol are in
the database as it recorded them. No timing is asserted (speed is the benchmark's job).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from tests.served_app import serve_demo

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
# Appended: the benchmarks' module names never shadow a package of the test process.
sys.path.append(str(BENCHMARKS))

import dashboard_load  # noqa: E402
from load_users import ProtocolUser, Recorder  # noqa: E402
from streamlit_protocol import Page, ProtocolError, rerun_message, selected_option, widget_key  # noqa: E402


def _delta(path: list[int], fill) -> ForwardMsg:
    msg = ForwardMsg()
    msg.metadata.delta_path.extend(path)
    fill(msg.delta.new_element)
    return msg


def _new_session(page_hash: str) -> ForwardMsg:
    msg = ForwardMsg()
    msg.new_session.page_script_hash = page_hash
    return msg


def _finished(status) -> ForwardMsg:
    msg = ForwardMsg()
    msg.script_finished = status
    return msg


def _navigation() -> ForwardMsg:
    msg = ForwardMsg()
    for url, page_hash, default in (("", "h-rct", True), ("analysis", "h-analysis", False)):
        page = msg.navigation.app_pages.add()
        page.url_pathname, page.page_script_hash, page.is_default = url, page_hash, default
    msg.navigation.page_script_hash = "h-rct"
    return msg


def _run_of_a_page() -> list[ForwardMsg]:
    def title(e):
        e.heading.body = "RCT overview"

    def group_box(e):
        e.selectbox.id = "$$ID-abc-attendance_group"
        e.selectbox.label = "Group"
        e.selectbox.options.extend(["G1", "G2"])
        e.selectbox.default = 1

    def save(e):
        e.button.id = "$$ID-def-attendance_save"
        e.button.label = "Save"

    def saved(e):
        e.alert.body = "Attendance of G2, week 3 saved (4 changed)."

    return [
        _new_session("h-rct"),
        _navigation(),
        _delta([0, 0], title),
        _delta([0, 1], group_box),
        _delta([0, 2], save),
        _delta([0, 3], saved),
        _finished(ForwardMsg.FINISHED_SUCCESSFULLY),
    ]


def test_a_page_holds_the_elements_widgets_and_pages_of_its_run():
    page = Page()
    for msg in _run_of_a_page():
        page.apply(msg)
    assert page.status == ForwardMsg.FINISHED_SUCCESSFULLY
    assert page.pages == {"": "h-rct", "analysis": "h-analysis"}
    assert page.texts() == ["RCT overview", "Attendance of G2, week 3 saved (4 changed)."]
    assert [(kind, widget_key(i)) for kind, i, _ in page.widgets()] == [
        ("selectbox", "attendance_group"),
        ("button", "attendance_save"),
    ]
    assert page.widget(key="attendance_group").options == ["G1", "G2"]
    assert page.widget(label="Save", kind="button").id == "$$ID-def-attendance_save"
    assert page.has_widget("attendance_")
    assert not page.has_widget("questionnaire_")
    with pytest.raises(ProtocolError, match="no widget key='attendance_week'"):
        page.widget(key="attendance_week")
    assert page.exceptions() == []


def test_a_new_run_starts_an_empty_page_but_keeps_the_navigation():
    page = Page()
    for msg in _run_of_a_page():
        page.apply(msg)
    page.apply(_new_session("h-analysis"))
    assert page.elements == {}
    assert page.status is None
    assert page.page_script_hash == "h-analysis"
    assert page.pages["analysis"] == "h-analysis"


def test_an_exception_box_is_reported():
    page = Page()

    def boom(e):
        e.exception.type = "KeyError"
        e.exception.message = "'week'"

    page.apply(_delta([0, 0], boom))
    assert page.exceptions() == ["KeyError: 'week'"]


def test_a_selectbox_shows_the_value_the_server_set_else_its_default():
    page = Page()
    for msg in _run_of_a_page():
        page.apply(msg)
    box = page.widget(key="attendance_group")
    assert selected_option(box) == "G2"
    box.raw_value, box.set_value = "G1", True
    assert selected_option(box) == "G1"
    box.ClearField("default")
    box.set_value = False
    assert selected_option(box) is None


@pytest.mark.parametrize(
    ("widget_id", "key"),
    [
        ("$$ID-9f8e-questionnaire_who", "questionnaire_who"),
        ("$$ID-9f8e-q_CPH-0012_post_who5_3", "q_CPH-0012_post_who5_3"),
        ("$$ID-9f8e-None", None),
        ("plain", None),
    ],
)
def test_the_user_key_is_read_from_a_widget_id(widget_id, key):
    assert widget_key(widget_id) == key


def test_a_rerun_sends_every_held_value_the_page_and_the_context():
    held = {
        "a": WidgetState(id="a", string_value="G2"),
        "b": WidgetState(id="b", trigger_value=True),
    }
    sent = BackMsg()
    sent.ParseFromString(rerun_message(held, "h-analysis", "http://127.0.0.1:9/").SerializeToString())
    state = sent.rerun_script
    assert sent.WhichOneof("type") == "rerun_script"
    assert state.page_script_hash == "h-analysis"
    assert {(w.id, w.WhichOneof("value")) for w in state.widget_states.widgets} == {
        ("a", "string_value"),
        ("b", "trigger_value"),
    }
    assert state.context_info.url == "http://127.0.0.1:9/"
    assert state.context_info.timezone == "UTC"


@pytest.fixture(scope="module")
def served_study(tmp_path_factory):
    """A 20-participant SQLite demo study served by ``streamlit run`` on a loopback port."""
    with serve_demo(tmp_path_factory.mktemp("protocol")) as served:
        yield served


def test_coordinators_over_the_protocol_save_what_they_recorded(served_study):
    base, engine = served_study
    plans = dashboard_load.plan_users(engine, ["attendance", "researcher", "questionnaire"], seed=3)
    recorder = Recorder()

    async def work() -> None:
        for plan in plans:
            user = ProtocolUser(plan, base, recorder, think=0, seed=3, timeout=120)
            try:
                await user.solo_round()
            finally:
                await user.close()

    asyncio.run(work())
    errors = [s for s in recorder.samples if s["error"]]
    assert errors == []
    pages = {s["page"] for s in recorder.samples}
    assert {"attendance: save", "questionnaire: save", "analysis", "RCT overview"} <= pages
    assert len(recorder.attendance) == 1
    assert len(recorder.questionnaires) == 1
    assert dashboard_load.missing_writes(engine, recorder) == []


def test_a_write_that_is_not_in_the_database_is_reported(served_study):
    _, engine = served_study
    recorder = Recorder()
    recorder.questionnaires[("NOBODY-1", "post", "who5")] = {"who5_1": 3}
    assert dashboard_load.missing_writes(engine, recorder) == [
        "questionnaire who5 post of NOBODY-1: stored None, saved {'who5_1': 3}"
    ]
