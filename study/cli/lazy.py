"""Sub-commands imported when they are used, not when the command line starts.

``peerstudy randomise`` imports the randomise command's module and builds that one command;
the other sub-commands' modules are neither imported nor turned into Click commands (typer
builds every command of an app up front, about a tenth of a second for ~60 commands; issue 16).
``--help`` and shell completion, which list every command, still load them all.

The root group (:class:`LazyGroup`) keeps its sub-commands in a :class:`LazyCommands` mapping:
its keys are every command's name, in the order given, and looking one up builds that command
from its source (``"module:attribute"``, a typer function or a ``typer.Typer`` sub-app) the
first time. Typer's own lookups (running a command, "Did you mean …?", help) read that
mapping, so they behave as with eagerly built commands.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import typer
from typer.core import TyperGroup

__all__ = ["LazyCommands", "LazyGroup", "Source", "load_source"]


@dataclass(frozen=True)
class Source:
    """Where a sub-command lives.

    ``target`` is ``"module:attribute"``: a function becomes a command, a ``typer.Typer`` a
    group of commands. ``added`` holds commands that live in other modules but belong to
    this group (name → ``"module:function"``); they are listed after the group's own.
    """

    target: str
    added: Mapping[str, str] = field(default_factory=dict)


def load_source(target: str) -> Any:
    """The object ``"module:attribute"`` names, importing its module."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _build(name: str, target: Any, parent: TyperGroup) -> Any:
    """The Click command typer makes of ``target`` under ``name``, with ``parent``'s settings.

    Built through a one-command ``typer.Typer`` so that typer applies the same rules (help
    from the docstring, the sub-app's own settings) as when the root app registers it.
    """
    holder = typer.Typer(
        add_completion=False,
        rich_markup_mode=parent.rich_markup_mode,
        suggest_commands=parent.suggest_commands,
    )
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]


class LazyCommands(MutableMapping[str, Any]):
    """A group's sub-commands by name; each is built from its :class:`Source` when first read.

    Iterating gives the names without building anything. Commands added the usual way
    (``group.add_command``) are kept as they are.
    """

    def __init__(self, parent: TyperGroup, sources: Mapping[str, Source], built: Mapping[str, Any]):
        self._parent = parent
        self._sources = dict(sources)
        self._built: dict[str, Any] = dict(built)
        self._order = list(dict.fromkeys([*built, *sources]))

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            source = self._sources[name]  # KeyError: no such command
            command = _build(name, load_source(source.target), self._parent)
            for added_name, added_target in source.added.items():
                command.add_command(_build(added_name, load_source(added_target), command))
            self._built[name] = command
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._order:
            raise KeyError(name)
        self._order.remove(name)
        self._built.pop(name, None)
        self._sources.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._order


class LazyGroup(TyperGroup):
    """A typer group whose sub-commands (:attr:`lazy_commands`) are imported on first use.

    Subclasses set :attr:`lazy_commands`; a sub-command registered on the Typer app itself is
    built by typer as usual and listed first.
    """

    #: name → where the sub-command lives, in the order ``--help`` lists them
    lazy_commands: ClassVar[Mapping[str, Source]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self, self.lazy_commands, self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        # The names only: TyperGroup's version reads every (command) value, building them all.
        return list(self.commands)
