"""A Streamlit client that speaks the app's own websocket protocol, without a browser.

What the Streamlit frontend does, reduced to what a load test needs (read from the installed
``streamlit`` package: ``web/server/starlette/starlette_websocket.py``,
``runtime/app_session.py``, ``runtime/state/session_state.py``):

- **session handshake**: open ``/_stcore/stream`` with the subprotocol ``streamlit``; the
  server makes a session and waits for the client's first ``rerun_script`` BackMsg;
- **a run**: the client sends ``BackMsg.rerun_script`` (a ``ClientState``: the page's
  ``page_script_hash``, the query string, ``widget_states``, the browser's ``context_info``);
  the server answers with ForwardMsgs: ``new_session`` when a script run starts,
  ``navigation`` (the pages and their hashes), ``delta``\\ s (``new_element`` /
  ``add_block``, addressed by ``metadata.delta_path``) and ``script_finished``. A run that
  calls ``st.rerun()`` ends ``FINISHED_EARLY_FOR_RERUN`` and the next run follows at once;
  the page is shown when a run ends ``FINISHED_SUCCESSFULLY``;
- **widgets**: every widget element carries its ``id`` (``$$ID-<hash>-<key>`` for a keyed
  widget); the client sends the value of every widget it holds on each rerun (a selectbox
  sends its option's text as ``string_value``, a button ``trigger_value`` once); values of
  widgets in a form wait until the form's submit button is pressed, as in the browser;
- **navigation**: a rerun with another page's ``page_script_hash`` (what a click in the
  sidebar sends).

It never asks for cached messages (no ``cached_message_hashes``), so the server sends every
element in full; messages are parsed by protobuf's C implementation, so a simulated user
costs little CPU and a load test measures the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

__all__ = ["Page", "ProtocolError", "StreamlitSession", "rerun_message", "widget_key"]

#: A run's end that shows the page (a rerun requested by the script is not the end).
SHOWN = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
#: Elements whose text a page check may look for.
TEXT_FIELDS = {"heading": "body", "markdown": "body", "alert": "body", "text": "body"}


class ProtocolError(RuntimeError):
    """The server did not answer as the protocol says, or the page showed an exception."""


def widget_key(widget_id: str) -> str | None:
    """The user key of a widget id (``$$ID-<hash>-<key>``); ``None`` for a widget without one.

    >>> widget_key("$$ID-0f3a9c-attendance_group")
    'attendance_group'
    >>> widget_key("$$ID-0f3a9c-q_CPH-0012_post_who5")
    'q_CPH-0012_post_who5'
    >>> widget_key("$$ID-0f3a9c-None") is None
    True
    """
    parts = widget_id.split("-", 2)
    if len(parts) < 3 or parts[0] != "$$ID" or parts[2] == "None":
        return None
    return parts[2]


@dataclass
class Page:
    """What the last finished run showed: its elements by delta path, its pages and texts."""

    elements: dict[tuple[int, ...], Element] = field(default_factory=dict)
    #: url path (``rct``, ``analysis``, ...) → page_script_hash, from the ``navigation`` message
    pages: dict[str, str] = field(default_factory=dict)
    page_script_hash: str = ""
    status: int | None = None

    def apply(self, msg: ForwardMsg) -> None:
        """Take one ForwardMsg into the page (a new run starts a new page; pages persist)."""
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.elements = {}
            self.status = None
            self.page_script_hash = msg.new_session.page_script_hash
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_script_hash = msg.navigation.page_script_hash or self.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self.elements[tuple(msg.metadata.delta_path)] = msg.delta.new_element
        elif kind == "script_finished":
            self.status = msg.script_finished

    def widgets(self) -> Iterator[tuple[str, str, Any]]:
        """``(kind, id, proto)`` of every widget on the page, in delta-path order."""
        for path in sorted(self.elements):
            element = self.elements[path]
            kind = element.WhichOneof("type")
            if kind is None:
                continue
            proto = getattr(element, kind)
            widget_id = getattr(proto, "id", "")
            if widget_id:
                yield kind, widget_id, proto

    def widget(self, key: str | None = None, label: str | None = None, kind: str | None = None):
        """The first widget with user key ``key`` (and/or ``label``, element ``kind``);
        ``ProtocolError`` when there is none."""
        for k, widget_id, proto in self.widgets():
            if (
                (key is None or widget_key(widget_id) == key)
                and (label is None or getattr(proto, "label", None) == label)
                and (kind is None or k == kind)
            ):
                return proto
        raise ProtocolError(f"no widget key={key!r} label={label!r} kind={kind!r} on the page")

    def has_widget(self, key_prefix: str) -> bool:
        """Whether a widget whose user key starts with ``key_prefix`` is on the page."""
        return any((widget_key(i) or "").startswith(key_prefix) for _, i, _ in self.widgets())

    def texts(self) -> list[str]:
        """The text of every heading, markdown, caption, alert and text element, in order."""
        out = []
        for path in sorted(self.elements):
            element = self.elements[path]
            kind = element.WhichOneof("type")
            if kind in TEXT_FIELDS:
                out.append(getattr(getattr(element, kind), TEXT_FIELDS[kind]))
        return out

    def exceptions(self) -> list[str]:
        """The message of every exception box on the page."""
        return [
            f"{e.exception.type}: {e.exception.message}"
            for e in self.elements.values()
            if e.WhichOneof("type") == "exception"
        ]


def selected_option(proto) -> str | None:
    """The option text a selectbox shows: the server's value if it set one, else its default.

    >>> from streamlit.proto.Selectbox_pb2 import Selectbox
    >>> selected_option(Selectbox(options=["a", "b"], default=1))
    'b'
    >>> selected_option(Selectbox(options=["a", "b"], default=0, raw_value="a", set_value=True))
    'a'
    """
    if proto.set_value:
        return proto.raw_value or None
    if proto.HasField("default") and 0 <= proto.default < len(proto.options):
        return proto.options[proto.default]
    return None


def rerun_message(
    widgets: dict[str, WidgetState], page_script_hash: str = "", url: str = "", query_string: str = ""
) -> BackMsg:
    """The ``rerun_script`` BackMsg the frontend sends: every widget value it holds, the page
    to run and the browser's context (UTC, English).

    >>> msg = rerun_message({"w": WidgetState(id="w", string_value="CPH")}, "abc", "http://127.0.0.1:1/")
    >>> msg.rerun_script.page_script_hash, msg.rerun_script.widget_states.widgets[0].string_value
    ('abc', 'CPH')
    """
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query_string
    state.page_script_hash = page_script_hash
    state.widget_states.widgets.extend(widgets.values())
    state.context_info.timezone = "UTC"
    state.context_info.timezone_offset = 0
    state.context_info.locale = "en-US"
    state.context_info.url = url
    return msg


def string_state(widget_id: str, value: str) -> WidgetState:
    """A widget's text value (text input, selectbox option)."""
    return WidgetState(id=widget_id, string_value=value)


def trigger_state(widget_id: str) -> WidgetState:
    """A button press."""
    return WidgetState(id=widget_id, trigger_value=True)


class StreamlitSession:
    """One browser tab's Streamlit session over one websocket.

    ``await open()`` fetches the app's page and host configuration (as a browser does before
    it connects) and runs the default page; ``await rerun(...)`` sends a rerun and waits for
    the page to be shown; ``page`` is what it shows. Times are in seconds.
    """

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.page = Page()
        #: widget id → the value this client holds (sent on every rerun, like the frontend)
        self.values: dict[str, WidgetState] = {}
        self._ws: Any = None  # a websockets ClientConnection once open
        self._reader: asyncio.Task | None = None
        self._shown = asyncio.Event()
        self._closed: BaseException | None = None

    async def open(self) -> None:
        """Load the app as a browser tab does (HTML, health, host config), connect, run."""
        await asyncio.to_thread(self._fetch_http)
        ws_url = "ws" + self.base.removeprefix("http") + "/_stcore/stream"
        self._ws = await connect(
            ws_url, subprotocols=[Subprotocol("streamlit")], max_size=None, open_timeout=self.timeout
        )
        self._reader = asyncio.create_task(self._read())
        await self.rerun()

    def _fetch_http(self) -> None:
        for path in ("/", "/_stcore/health", "/_stcore/host-config"):
            with urllib.request.urlopen(self.base + path, timeout=self.timeout) as response:
                response.read()

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self.page.apply(msg)
                if msg.WhichOneof("type") == "script_finished" and msg.script_finished in SHOWN:
                    self._shown.set()
        except Exception as exc:  # the connection broke: the waiting rerun fails with it
            self._closed = exc
        else:
            self._closed = ProtocolError("the server closed the websocket")
        self._shown.set()

    async def rerun(self, page_script_hash: str | None = None, extra: Iterable[WidgetState] = ()) -> float:
        """Send a rerun with the held widget values plus ``extra`` (a button press, a
        submitted form) and wait until the page is shown; returns the seconds it took.
        ``ProtocolError`` on a timeout, a broken connection or an exception on the page."""
        if self._ws is None:
            raise ProtocolError("not connected")
        states = dict(self.values)
        for state in extra:
            states[state.id] = state
        page = self.page.page_script_hash if page_script_hash is None else page_script_hash
        self._shown.clear()
        t0 = time.perf_counter()
        await self._ws.send(rerun_message(states, page, self.base + "/").SerializeToString(), text=False)
        try:
            await asyncio.wait_for(self._shown.wait(), self.timeout)
        except TimeoutError:
            raise ProtocolError(f"no script_finished within {self.timeout:g} s") from None
        seconds = time.perf_counter() - t0
        if self._closed is not None:
            raise ProtocolError(f"connection lost: {self._closed}")
        # Held values: those of widgets still on the page, never a button press (a trigger
        # is sent once); a submitted form's values stay, as the frontend keeps them.
        on_page = {i for _, i, _ in self.page.widgets()}
        self.values = {
            i: s for i, s in states.items() if i in on_page and s.WhichOneof("value") != "trigger_value"
        }
        problems = self.page.exceptions()
        if problems:
            raise ProtocolError("exception on the page: " + problems[0][:200])
        return seconds

    async def navigate(self, url_path: str) -> float:
        """Open the page at ``url_path`` (a click in the sidebar)."""
        if url_path not in self.page.pages:
            raise ProtocolError(f"no page {url_path!r} in the navigation ({sorted(self.page.pages)})")
        return await self.rerun(self.page.pages[url_path])

    async def choose(self, key: str, option: str) -> float:
        """Choose ``option`` (its text) in the selectbox with user key ``key`` and rerun;
        0 when it is chosen already (the frontend sends nothing then)."""
        proto = self.page.widget(key=key, kind="selectbox")
        if option not in proto.options:
            raise ProtocolError(f"selectbox {key!r} has no option {option!r}")
        held = self.values.get(proto.id)
        current = held.string_value if held is not None else selected_option(proto)
        if current == option:
            return 0.0
        self.values[proto.id] = string_state(proto.id, option)
        return await self.rerun()

    async def press(
        self, key: str | None = None, label: str | None = None, form: dict | None = None
    ) -> float:
        """Press a button (by user key or label) and rerun; ``form`` maps widget ids to the
        values a submitted form sends with its submit button."""
        proto = self.page.widget(key=key, label=label, kind="button")
        extra = [trigger_state(proto.id)]
        for widget_id, value in (form or {}).items():
            extra.append(string_state(widget_id, value))
        return await self.rerun(extra=extra)

    async def close(self) -> None:
        """Close the websocket (the server ends the session)."""
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        self._ws = None
