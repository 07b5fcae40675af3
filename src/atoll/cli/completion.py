"""Shell completion scripts for bash, zsh and fish, generated from the command tree."""

from __future__ import annotations

from collections.abc import Sequence

from atoll.cli.parsing import GLOBAL_ARGS, Command

SHELLS = ("bash", "zsh", "fish")


def _tree(commands: Sequence[Command]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Sub-commands after each command path, and the options of each complete command."""
    subs: dict[str, list[str]] = {}
    options: dict[str, list[str]] = {}
    globals_ = [f for a in GLOBAL_ARGS for f in a.flags]
    for command in commands:
        for depth in range(len(command.words)):
            path = " ".join(command.words[:depth])
            word = command.words[depth]
            if word not in subs.setdefault(path, []):
                subs[path].append(word)
        flags = [f for a in command.args if a.is_option for f in a.flags if f.startswith("--")]
        options[command.name] = flags + globals_ + ["--help"]
    for path in subs:  # a group takes the global options before its sub-command too
        options.setdefault(path, globals_ + ["--help"])  # (a command that is also a group: its own)
    options[""] = globals_ + ["--help", "--version"]
    return subs, options


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def bash(commands: Sequence[Command]) -> str:
    """A bash completion script (``source <(atoll completion bash)``)."""
    subs, options = _tree(commands)
    sub_cases = "".join(
        f"        {_quote(path)}) echo {_quote(' '.join(words))} ;;\n"
        for path, words in subs.items()
    )
    opt_cases = "".join(
        f"        {_quote(path)}) echo {_quote(' '.join(flags))} ;;\n"
        for path, flags in options.items()
    )
    return f"""# atoll completion for bash: source <(atoll completion bash)
_atoll_subs() {{
    case "$1" in
{sub_cases}    esac
}}
_atoll_opts() {{
    case "$1" in
{opt_cases}    esac
}}
_atoll() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" path="" word i subs
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        subs=" $(_atoll_subs "$path") "
        if [[ "$word" != -* && "$subs" == *" $word "* ]]; then
            path="${{path:+$path }}$word"
        fi
    done
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(_atoll_opts "$path")" -- "$cur"))
        return
    fi
    subs="$(_atoll_subs "$path")"
    if [[ -n "$subs" ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o default -F _atoll atoll
"""


def zsh(commands: Sequence[Command]) -> str:
    """A zsh completion script: the bash one through zsh's bashcompinit."""
    return (
        "# atoll completion for zsh: source <(atoll completion zsh)\n"
        "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit }\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(commands)
    )


def _fish_text(text: str) -> str:
    return _quote(text.rstrip("."))


def _fish_before_sub(path: str, words: list[str]) -> str:
    """The fish condition of "after ``path``, before any of its sub-commands ``words``"."""
    if not path:
        return "__fish_use_subcommand"
    return (
        f"__fish_seen_subcommand_from {path.split()[-1]}; and not "
        f"__fish_seen_subcommand_from {' '.join(words)}"
    )


def fish(commands: Sequence[Command]) -> str:
    """A fish completion script (``atoll completion fish | source``)."""
    subs, options = _tree(commands)
    helps = {c.name: c.help for c in commands}
    lines = ["# atoll completion for fish: atoll completion fish | source", "complete -c atoll -f"]
    for path, words in subs.items():
        cond = _fish_before_sub(path, words)
        for word in words:
            name = f"{path} {word}".strip()
            text = helps.get(name, "")
            lines.append(
                f"complete -c atoll -n {_quote(cond)} -a {_quote(word)}"
                + (f" -d {_fish_text(text)}" if text else "")
            )
    for name, flags in options.items():
        words = name.split()
        if name in subs:  # a group (or none yet): only until its sub-command is typed
            cond = _fish_before_sub(name, subs[name])
        else:
            cond = "; and ".join(f"__fish_seen_subcommand_from {w}" for w in words)
        for flag in flags:
            lines.append(f"complete -c atoll -n {_quote(cond)} -l {_quote(flag[2:])}")
    lines.append("complete -c atoll -n '__fish_seen_subcommand_from push pull link' -F")
    return "\n".join(lines) + "\n"
