"""An mkdocs hook: the command reference, generated from the command line itself.

A page holding the line ``<!-- cli-reference -->`` gets, in its place, every command of
``latentwatch`` with its help text, its arguments and every option (names, default, help),
read from the typer application, so that the reference cannot fall behind the code.
"""

from __future__ import annotations

import re

MARKER = "<!-- cli-reference -->"
_MARKUP = re.compile(r"\[/?(?:bold|italic|dim|red|green|yellow|blue|cyan|magenta)\]")


def _plain(text: str | None) -> str:
    return _MARKUP.sub("", text or "").strip()


def _cell(text: str) -> str:
    return " ".join(_plain(text).split()).replace("|", "\\|")


def _default(param) -> str:
    if isinstance(param.show_default, str):
        return param.show_default
    if getattr(param, "is_flag", False) and not param.secondary_opts:
        return "off" if not param.default else "on"
    default = param.default
    if default is None or default == () or default == []:
        return ""
    if isinstance(default, list | tuple):
        return ", ".join(str(v) for v in default)
    return f"`{getattr(default, 'value', default)}`"


def _command(name: str, command) -> str:
    help_text = _plain(command.help)
    paragraphs = [" ".join(p.split()) for p in help_text.split("\n\n") if p.strip()]
    examples = [p for p in paragraphs if p.startswith("Example:")]
    prose = [p for p in paragraphs if not p.startswith("Example:")]
    prose = [p.replace("*", "\\*") for p in prose]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params
               if p.param_type_name == "option" and not getattr(p, "hidden", False)]
    usage = " ".join([f"latentwatch {name}", *(
        (p.metavar or p.name.upper()) if p.required else f"[{p.metavar or p.name.upper()}]"
        for p in arguments), "[OPTIONS]"])
    lines = [f"## `latentwatch {name}`", "", f"```text\n{usage}\n```", ""]
    for paragraph in prose:
        lines += [paragraph, ""]
    for example in examples:
        lines += [f"```console\n$ {example.removeprefix('Example:').strip()}\n```", ""]
    if options:
        lines += ["| option | default | what |", "|---|---|---|"]
        for option in options:
            names = ", ".join(f"`{n}`" for n in [*option.opts, *option.secondary_opts])
            envvar = f" (environment: `{option.envvar}`)" if isinstance(option.envvar, str) else ""
            lines.append(f"| {names} | {_cell(_default(option))} | "
                         f"{_cell(option.help or '')}{envvar} |")
        lines.append("")
    return "\n".join(lines)


def reference() -> str:
    """The markdown of every command, in the order of ``latentwatch --help``."""
    import typer

    from latentwatch.cli import COMMANDS, app

    group = typer.main.get_command(app)
    return "\n".join(_command(name, group.commands[name]) for name in COMMANDS)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, reference())
