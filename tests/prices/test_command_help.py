"""Every management command of ours explains itself in whole sentences."""

import pytest
from django.core.management import get_commands, load_command_class


def our_commands() -> list[tuple[str, str]]:
    return sorted(
        (name, app)
        for name, app in get_commands().items()
        if app.split(".")[0]
        in {"marketpulse", "assets", "prices", "portfolio", "analytics"}
    )


def test_there_are_commands_to_check():
    assert ("check_gaps", "prices") in our_commands()


@pytest.mark.parametrize(("name", "app"), our_commands())
def test_the_help_text_is_one_whole_sentence_or_more(name, app):
    command = load_command_class(app, name)
    text = command.help.strip()
    assert text, f"{name} has no help"
    assert text.endswith((".", ")")), f"{name}: help stops mid-sentence: {text!r}"
