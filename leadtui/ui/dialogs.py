"""The dialogs the rules need: a line of input (appointment, amount, follow-up, PIN, why), a type-to-filter
picker (rep, assign), the Already Sold confirmation and the phone to call. Escape cancels every one of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from leadtui.ui.style import plain


class Dialog(ModalScreen):
    """A modal box with a title; escape dismisses it with None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]
    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > Vertical { width: 70; max-width: 100%; height: auto; max-height: 100%; border: thick $accent;
                        background: $surface; padding: 0 1; }
    Dialog .title { text-style: bold; width: 1fr; }
    Dialog .hint { color: $text-muted; }
    Dialog .error { color: $error; }
    Dialog OptionList { height: auto; max-height: 12; }
    """

    closing = False  # dismissed, not yet gone: keys typed meanwhile wait for the screen below

    def dismiss(self, result=None):
        self.closing = True
        return super().dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def closes_on(self, event) -> bool:
        """Whether this key may close the dialog: keys after it wait until its answer is handled (F3)."""
        return event.key in ("enter", "escape")

    def on_mount(self) -> None:
        """Focus the first input; keys typed while the dialog opened come after that (F3)."""
        for widget in self.query("Input, OptionList"):
            widget.focus()
            break
        self.app.call_later(self.app.release, "opening")


class Ask(Dialog):
    """One line of text. `check(text)` returns (error, preview); enter is refused while there is an error."""

    def __init__(
        self,
        title: str,
        hint: str,
        *,
        placeholder: str = "",
        password: bool = False,
        check: Callable[[str], tuple[str | None, str]] | None = None,
        value: str = "",
    ) -> None:
        super().__init__()
        self.title_text, self.hint, self.placeholder, self.password, self.check = (
            title,
            hint,
            placeholder,
            password,
            check,
        )
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Static(self.hint, classes="hint", markup=False)
            yield Input(self.value, placeholder=self.placeholder, password=self.password, id="answer")
            yield Static("", id="preview", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.check:
            error, preview = self.check(event.value)
            shown = self.query_one("#preview", Static)
            shown.update(error if error and event.value.strip() else preview)
            shown.set_class(bool(error and event.value.strip()), "error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.check:
            error, _ = self.check(event.value)
            if error:
                self.query_one("#preview", Static).update(error)
                self.query_one("#preview", Static).add_class("error")
                self.app.release("closing")  # the dialog stays open with the text, saying why
                return
        self.dismiss(event.value)


class Pick(Dialog):
    """A type-to-filter list; enter picks the highlighted entry and returns its value."""

    def __init__(
        self, title: str, choices: list[tuple[str, str]], hint: str = "Type to filter, enter to pick"
    ) -> None:
        super().__init__()
        self.title_text, self.choices, self.hint = title, choices, hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Static(self.hint, classes="hint", markup=False)
            yield Input(placeholder="filter", id="filter")
            yield OptionList(*self._options(""), id="choices")

    def _options(self, text: str) -> list[Option]:
        text = text.strip().lower()
        return [
            Option(Text(plain(label)), id=value) for value, label in self.choices if text in label.lower()
        ]

    def on_input_changed(self, event: Input.Changed) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.clear_options()
        choices.add_options(self._options(event.value))
        if choices.option_count:
            choices.highlighted = 0

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        if choices.option_count:
            choices.highlighted = 0

    def key_down(self) -> None:
        self.query_one("#choices", OptionList).action_cursor_down()

    def key_up(self) -> None:
        self.query_one("#choices", OptionList).action_cursor_up()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        choices = self.query_one("#choices", OptionList)
        if choices.highlighted is not None:
            self.dismiss(choices.get_option_at_index(choices.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ConfirmSold(Dialog):
    """W11: the owner's other properties first, then where the sale was seen (one key each)."""

    def __init__(self, label: str, others: list[dict], sources: tuple[str, ...]) -> None:
        super().__init__()
        self.label, self.others, self.sources = label, others, sources
        self.keys = {source[0]: source for source in sources}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.label}: this kills the lead", classes="title")
            lines = Text()
            if self.others:
                lines.append("The owner's other properties — work these:\n", style="bold")
                for lead in self.others[:8]:
                    lines.append(
                        f"  {lead['id']:>7}  {lead['symbol']} {lead['status_label']:<16} "
                        f"{plain(lead['address'])}, {plain(lead['city'])} {plain(lead['state'])}\n"
                    )
                if len(self.others) > 8:
                    lines.append(f"  … and {len(self.others) - 8} more\n")
            else:
                lines.append("The owner has no other properties here.\n", style="dim")
            lines.append("\nWhere was the sale seen?  ")
            lines.append("  ".join(f"[{key}] {source}" for key, source in self.keys.items()), style="bold")
            lines.append("   escape: cancel", style="dim")
            yield Static(lines, id="others")

    def closes_on(self, event) -> bool:
        return event.key == "escape" or event.character in self.keys

    def on_key(self, event) -> None:
        if event.character in self.keys:
            event.stop()
            self.dismiss(self.keys[event.character])


class PickPhone(Dialog):
    """The lead's phones, one key each (its number in the list); escape keeps the current one."""

    def __init__(self, lead: dict, phones: list[dict]) -> None:
        super().__init__()
        self.lead = lead
        self.keys = {
            str(p["position"]): p["position"]
            for p in phones
            if p["position"] < 10 and not (p["bad"] or p["dnc"] or p["litigator"])
        }
        self.phones = phones

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Lead {self.lead['id']}: which phone?", classes="title")
            lines = Text()
            for p in self.phones:
                flags = " ".join(name.upper() for name in ("dnc", "litigator", "bad") if p[name])
                key = f"[{p['position']}]" if str(p["position"]) in self.keys else "   "
                lines.append(f"{key} {p['number']} {plain(p['type'] or '')} ")
                lines.append(f"{flags}\n", style="bold red")
            if not self.keys:
                lines.append("No phone of this lead may be dialled.\n", style="dim")
            lines.append("escape: keep the current one", style="dim")
            yield Static(lines, id="phones")

    def closes_on(self, event) -> bool:
        return event.key == "escape" or event.character in self.keys

    def on_key(self, event) -> None:
        if event.character in self.keys:
            event.stop()
            self.dismiss(self.keys[event.character])
