"""The node types of a page: built-in layout, content, input and data nodes, and Component."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, WithJsonSchema, model_validator

from atoll.sdui.actions import Action
from atoll.sdui.examples import NODE_EXAMPLES
from atoll.sdui.values import (
    FIELD_NAME_PATTERN,
    NAME_PATTERN,
    Bind,
    BoundJson,
    ExpressionOrBind,
    Flag,
    SduiModel,
    StatePath,
    Text,
)

EventName = Annotated[str, Field(pattern=r"^[a-z][A-Za-z]{0,31}$")]
Space = Annotated[int, Field(ge=0, le=128, description="Pixels.")]
Align = Literal["start", "center", "end", "stretch"]
Tone = Literal["neutral", "info", "success", "warning", "danger"]
Size = Literal["sm", "md", "lg"]
IconName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9-]{0,31}$",
        description="A bundled icon, e.g. `check`, `trash`, `users` (docs/gallery/Icon.md).",
    ),
]


class Repeat(SduiModel):
    """Render a node once per item of a list: ``{"over": "data.todos", "as": "todo"}``."""

    over: ExpressionOrBind
    as_: Annotated[str, Field(alias="as", pattern=NAME_PATTERN)] = "item"
    key: ExpressionOrBind | None = None


class NodeBase(SduiModel):
    """Fields every node has."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")] | None = None
    repeat: Repeat | None = None
    visible_when: ExpressionOrBind | None = None
    when: ExpressionOrBind | None = Field(
        None, description="Render the node only while this expression is truthy."
    )
    on: dict[EventName, list[Action]] = Field(default_factory=dict)
    children: list[Node] = Field(default_factory=list)


class StackProps(SduiModel):
    """A vertical stack."""

    gap: Space = 12
    align: Align = "stretch"
    padding: Space = 0
    max_width: Annotated[int, Field(ge=120, le=4096)] | None = Field(
        None, description="Pixels; the stack is centred when narrower than its container."
    )


class RowProps(SduiModel):
    """A horizontal row."""

    gap: Space = 12
    align: Align = "center"
    justify: Literal["start", "center", "end", "between", "around"] = "start"
    wrap: bool = False


class GridProps(SduiModel):
    """A grid of equal columns."""

    columns: Annotated[int, Field(ge=1, le=12)] | Bind = 2
    gap: Space = 12
    min_column_width: Space | None = None


class CardProps(SduiModel):
    """A bordered box with an optional title."""

    title: Text | None = None
    padding: Space = 16


class HeadingProps(SduiModel):
    """A heading."""

    text: Text
    level: Annotated[int, Field(ge=1, le=6)] = 2


class TextProps(SduiModel):
    """A paragraph of plain text."""

    text: Text
    tone: Literal["default", "muted", "danger", "success"] = "default"
    weight: Literal["normal", "strong"] = "normal"
    size: Size = "md"


class ImageProps(SduiModel):
    """An image."""

    src: Text
    alt: Text = ""
    width: Space | None = Field(None, le=4096)
    height: Space | None = Field(None, le=4096)


class LinkProps(SduiModel):
    """A link: ``to`` a page of the app (client-side), or ``href`` to anywhere else."""

    text: Text
    to: Text | None = None
    href: Text | None = None

    @model_validator(mode="after")
    def _one_target(self) -> LinkProps:
        if (self.to is None) == (self.href is None):
            raise ValueError('a Link needs exactly one of "to" (an app page) or "href"')
        return self


class MarkdownProps(SduiModel):
    """Markdown text (a safe subset; raw HTML is shown as text)."""

    text: Text


class FormProps(SduiModel):
    """A form; ``on.submit`` actions see the named inputs' values as ``form.<name>``."""

    submit_text: Text | None = None
    layout: Literal["stack", "inline"] = Field(
        "stack", description="`inline` puts the fields and buttons on one row."
    )


class InputProps(SduiModel):
    """A text input; ``bind`` keeps it in sync with page state."""

    label: Text | None = None
    name: Annotated[str, Field(pattern=FIELD_NAME_PATTERN)] | None = None
    placeholder: Text | None = None
    bind: StatePath | None = None
    value: Text | None = None
    input_type: Literal["text", "number", "email", "password", "date", "search", "url"] = "text"
    required: bool = False
    disabled: Flag = False
    hint: Text | None = None


class SelectOption(SduiModel):
    """One choice of a Select."""

    value: str | int | float
    label: Text | None = None


class SelectProps(SduiModel):
    """A drop-down."""

    label: Text | None = None
    name: Annotated[str, Field(pattern=FIELD_NAME_PATTERN)] | None = None
    options: list[SelectOption] | Bind
    bind: StatePath | None = None
    value: Text | None = None
    disabled: Flag = False


class CheckboxProps(SduiModel):
    """A checkbox."""

    label: Text | None = None
    name: Annotated[str, Field(pattern=FIELD_NAME_PATTERN)] | None = None
    bind: StatePath | None = None
    checked: Flag | None = None
    disabled: Flag = False
    strike: bool = Field(False, description="Strike the label through while checked.")


class Confirm(SduiModel):
    """Ask before running a button's actions (for destructive ones)."""

    title: Text = "Are you sure?"
    text: Text | None = None
    confirm_text: Text | None = None
    cancel_text: Text = "Cancel"


class ButtonProps(SduiModel):
    """A button; its ``click`` event runs actions (the button shows a spinner meanwhile)."""

    text: Text
    variant: Literal["primary", "secondary", "ghost", "danger", "link"] = "primary"
    size: Size = "md"
    icon: IconName | None = None
    icon_only: bool = Field(False, description="Show only the icon; `text` becomes its label.")
    disabled: Flag = False
    kind: Literal["button", "submit"] = "button"
    confirm: Confirm | None = None


class TableColumn(SduiModel):
    """A column of a Table: which key of each row, and its header."""

    key: Annotated[str, Field(min_length=1, max_length=128)]
    label: Text | None = None
    format: Literal["text", "number", "money", "percent", "date", "badge"] = "text"
    tones: dict[str, Tone] = Field(
        default_factory=dict, description="For `badge`: the tone of each value."
    )
    sortable: bool = True
    align: Literal["start", "end"] = "start"


class TableProps(SduiModel):
    """A table of rows (a list of objects): sortable columns, pages, an empty state.

    ``on.rowClick`` runs with ``row`` (the clicked row); rows are then keyboard-focusable.
    """

    rows: list[dict[str, BoundJson]] | Bind
    columns: list[TableColumn]
    empty: Text = "Nothing here yet."
    page_size: Annotated[int, Field(ge=0, le=500)] = Field(
        0, description="Rows per page (0: all on one page)."
    )
    sortable: bool = True
    caption: Text | None = None


class ListProps(SduiModel):
    """A list; each child (usually one with ``repeat``) becomes an item."""

    ordered: bool = False
    empty: Text | None = None


class NavItem(SduiModel):
    """One entry of an AppShell's navigation: a page of the app."""

    label: Text
    to: Annotated[str, Field(pattern=r"^/[A-Za-z0-9_/-]{0,200}$", description="An app route.")]
    icon: IconName | None = None


class AppShellProps(SduiModel):
    """The frame of an app: title, navigation between its pages, optional sidebar."""

    title: Text
    icon: IconName | None = None
    nav: list[NavItem] = Field(default_factory=list, max_length=20)
    sidebar: bool = Field(False, description="Render the first child as a sidebar.")


class TabItem(SduiModel):
    """One tab; the child at the same position is its panel."""

    label: Text
    icon: IconName | None = None


class TabsProps(SduiModel):
    """Tabs: one per child. ``bind`` keeps the selected index in page state."""

    tabs: list[TabItem] = Field(min_length=1, max_length=20)
    bind: StatePath | None = None
    label: Text | None = None


class DialogProps(SduiModel):
    """A modal dialog: open while ``bind`` (a state path) is set, or from its own trigger button.

    Escape, the close button and the backdrop close it (``bind`` is set to null, then
    ``on.close`` runs); focus is trapped inside while it is open and returns after.
    """

    title: Text
    text: Text | None = None
    bind: StatePath | None = None
    trigger_text: Text | None = None
    trigger_icon: IconName | None = None
    trigger_variant: Literal["primary", "secondary", "ghost", "danger"] = "secondary"
    size: Literal["md", "lg"] = "md"


class AlertProps(SduiModel):
    """A message box inside the page."""

    title: Text | None = None
    text: Text | None = None
    tone: Tone = "info"


class BadgeProps(SduiModel):
    """A small label."""

    text: Text
    tone: Tone = "neutral"
    icon: IconName | None = None


class StatProps(SduiModel):
    """A key figure with an optional change."""

    label: Text
    value: Text
    format: Literal["text", "number", "money", "percent"] = "text"
    delta: Text | None = None
    trend: Literal["up", "down", "none"] | Bind = "none"
    icon: IconName | None = None


class ProgressProps(SduiModel):
    """A progress bar."""

    value: Annotated[float, Field(ge=0)] | Bind
    max: Annotated[float, Field(gt=0)] | Bind = 100
    label: Text | None = None
    show_value: bool = True
    tone: Literal["default", "success", "warning", "danger"] = "default"


class DividerProps(SduiModel):
    """A horizontal rule, optionally with a label in it."""

    label: Text | None = None


class IconProps(SduiModel):
    """An icon of the bundled set, by name; decorative unless it has a ``label``."""

    name: IconName
    label: Text | None = None
    size: Annotated[int, Field(ge=8, le=128)] | None = None


class EmptyStateProps(SduiModel):
    """What to show where there is nothing yet; children (say, a Button) go below the text."""

    title: Text
    text: Text | None = None
    icon: IconName | None = None


class SkeletonProps(SduiModel):
    """Placeholder lines (data sources show these on their own while they load)."""

    lines: Annotated[int, Field(ge=1, le=12)] = 3
    height: Annotated[int, Field(ge=4, le=600)] | None = None


class ChartProps(SduiModel):
    """A chart of a list of objects: ``x`` names the label key, ``y`` the value key(s).

    The drawing code is loaded only by pages that have a Chart.
    """

    kind: Literal["line", "bar", "area", "pie"] = "line"
    data: list[dict[str, BoundJson]] | Bind
    x: Annotated[str, Field(min_length=1, max_length=128)]
    y: (
        Annotated[str, Field(min_length=1, max_length=128)]
        | Annotated[list[Annotated[str, Field(min_length=1, max_length=128)]], Field(max_length=5)]
    )
    height: Annotated[int, Field(ge=120, le=600)] = 220
    label: Text | None = Field(None, description="What the chart shows, for screen readers.")


class ComponentProps(SduiModel):
    """Mounts ``components/<name>.jsx`` in its own Shadow DOM; other props go to it."""

    model_config = ConfigDict(extra="allow")

    name: Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9_]{0,63}$")]


class StackNode(NodeBase):
    """Children stacked vertically."""

    type: Literal["Stack"]
    props: StackProps = Field(default_factory=StackProps)


class RowNode(NodeBase):
    """Children side by side."""

    type: Literal["Row"]
    props: RowProps = Field(default_factory=RowProps)


class GridNode(NodeBase):
    """Children in a grid."""

    type: Literal["Grid"]
    props: GridProps = Field(default_factory=GridProps)


class CardNode(NodeBase):
    """A bordered box."""

    type: Literal["Card"]
    props: CardProps = Field(default_factory=CardProps)


class HeadingNode(NodeBase):
    """A heading."""

    type: Literal["Heading"]
    props: HeadingProps


class TextNode(NodeBase):
    """A paragraph."""

    type: Literal["Text"]
    props: TextProps


class ImageNode(NodeBase):
    """An image."""

    type: Literal["Image"]
    props: ImageProps


class LinkNode(NodeBase):
    """A link."""

    type: Literal["Link"]
    props: LinkProps


class MarkdownNode(NodeBase):
    """Markdown text."""

    type: Literal["Markdown"]
    props: MarkdownProps


class FormNode(NodeBase):
    """A form; `on.submit` runs actions."""

    type: Literal["Form"]
    props: FormProps = Field(default_factory=FormProps)


class InputNode(NodeBase):
    """A text input."""

    type: Literal["Input"]
    props: InputProps = Field(default_factory=InputProps)


class SelectNode(NodeBase):
    """A drop-down."""

    type: Literal["Select"]
    props: SelectProps


class CheckboxNode(NodeBase):
    """A checkbox."""

    type: Literal["Checkbox"]
    props: CheckboxProps = Field(default_factory=CheckboxProps)


class ButtonNode(NodeBase):
    """A button; `on.click` runs actions."""

    type: Literal["Button"]
    props: ButtonProps


class TableNode(NodeBase):
    """A table."""

    type: Literal["Table"]
    props: TableProps


class ListNode(NodeBase):
    """A list of its children."""

    type: Literal["List"]
    props: ListProps = Field(default_factory=ListProps)


class AppShellNode(NodeBase):
    """The app's frame: top bar with title and navigation, optional sidebar, main area."""

    type: Literal["AppShell"]
    props: AppShellProps


class TabsNode(NodeBase):
    """Tabs; each child is the panel of the tab at its position."""

    type: Literal["Tabs"]
    props: TabsProps


class DialogNode(NodeBase):
    """A modal dialog; its children are its content."""

    type: Literal["Dialog"]
    props: DialogProps


class AlertNode(NodeBase):
    """A message box."""

    type: Literal["Alert"]
    props: AlertProps = Field(default_factory=AlertProps)


class BadgeNode(NodeBase):
    """A small label."""

    type: Literal["Badge"]
    props: BadgeProps


class StatNode(NodeBase):
    """A key figure."""

    type: Literal["Stat"]
    props: StatProps


class ProgressNode(NodeBase):
    """A progress bar."""

    type: Literal["Progress"]
    props: ProgressProps


class DividerNode(NodeBase):
    """A horizontal rule."""

    type: Literal["Divider"]
    props: DividerProps = Field(default_factory=DividerProps)


class IconNode(NodeBase):
    """An icon."""

    type: Literal["Icon"]
    props: IconProps


class EmptyStateNode(NodeBase):
    """An empty state."""

    type: Literal["EmptyState"]
    props: EmptyStateProps


class SkeletonNode(NodeBase):
    """Loading placeholder lines."""

    type: Literal["Skeleton"]
    props: SkeletonProps = Field(default_factory=SkeletonProps)


class ChartNode(NodeBase):
    """A line, bar, area or pie chart."""

    type: Literal["Chart"]
    props: ChartProps


class ComponentNode(NodeBase):
    """A tenant React component in its own Shadow DOM."""

    type: Literal["Component"]
    props: ComponentProps


BUILTIN_NODES: dict[str, type[NodeBase]] = {
    "Stack": StackNode,
    "Row": RowNode,
    "Grid": GridNode,
    "Card": CardNode,
    "Heading": HeadingNode,
    "Text": TextNode,
    "Image": ImageNode,
    "Link": LinkNode,
    "Markdown": MarkdownNode,
    "Form": FormNode,
    "Input": InputNode,
    "Select": SelectNode,
    "Checkbox": CheckboxNode,
    "Button": ButtonNode,
    "Table": TableNode,
    "List": ListNode,
    "AppShell": AppShellNode,
    "Tabs": TabsNode,
    "Dialog": DialogNode,
    "Alert": AlertNode,
    "Badge": BadgeNode,
    "Stat": StatNode,
    "Progress": ProgressNode,
    "Divider": DividerNode,
    "Icon": IconNode,
    "EmptyState": EmptyStateNode,
    "Skeleton": SkeletonNode,
    "Chart": ChartNode,
    "Component": ComponentNode,
}

_UNKNOWN_TYPE_SCHEMA = {
    "type": "string",
    "pattern": "^[A-Z][A-Za-z0-9_]*$",
    "not": {"enum": sorted(BUILTIN_NODES)},
    "description": "A node type this version does not know; the renderer shows a fallback.",
}


class UnknownNode(NodeBase):
    """A node of a type this version does not know: kept, and rendered as a visible fallback."""

    type: Annotated[
        str, Field(pattern=r"^[A-Z][A-Za-z0-9_]{0,63}$"), WithJsonSchema(_UNKNOWN_TYPE_SCHEMA)
    ]
    props: dict[str, BoundJson] = Field(default_factory=dict)


def _node_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if not isinstance(kind, str):
        return None
    return kind if kind in BUILTIN_NODES else "unknown"


Node = Annotated[
    Annotated[StackNode, Tag("Stack")]
    | Annotated[RowNode, Tag("Row")]
    | Annotated[GridNode, Tag("Grid")]
    | Annotated[CardNode, Tag("Card")]
    | Annotated[HeadingNode, Tag("Heading")]
    | Annotated[TextNode, Tag("Text")]
    | Annotated[ImageNode, Tag("Image")]
    | Annotated[LinkNode, Tag("Link")]
    | Annotated[MarkdownNode, Tag("Markdown")]
    | Annotated[FormNode, Tag("Form")]
    | Annotated[InputNode, Tag("Input")]
    | Annotated[SelectNode, Tag("Select")]
    | Annotated[CheckboxNode, Tag("Checkbox")]
    | Annotated[ButtonNode, Tag("Button")]
    | Annotated[TableNode, Tag("Table")]
    | Annotated[ListNode, Tag("List")]
    | Annotated[AppShellNode, Tag("AppShell")]
    | Annotated[TabsNode, Tag("Tabs")]
    | Annotated[DialogNode, Tag("Dialog")]
    | Annotated[AlertNode, Tag("Alert")]
    | Annotated[BadgeNode, Tag("Badge")]
    | Annotated[StatNode, Tag("Stat")]
    | Annotated[ProgressNode, Tag("Progress")]
    | Annotated[DividerNode, Tag("Divider")]
    | Annotated[IconNode, Tag("Icon")]
    | Annotated[EmptyStateNode, Tag("EmptyState")]
    | Annotated[SkeletonNode, Tag("Skeleton")]
    | Annotated[ChartNode, Tag("Chart")]
    | Annotated[ComponentNode, Tag("Component")]
    | Annotated[UnknownNode, Tag("unknown")],
    Discriminator(
        _node_tag,
        custom_error_type="node_type",
        custom_error_message='a node needs a string "type"',
    ),
]

for _name, _node in BUILTIN_NODES.items():
    _node.model_config["json_schema_extra"] = {"examples": NODE_EXAMPLES[_name]}

_ALL_NODES: list[type[NodeBase]] = [*BUILTIN_NODES.values(), UnknownNode]
# The first rebuild resolves every node type through the recursive `children` union at once,
# which nests deeper than Python's default limit allows with this many types.
_LIMIT = sys.getrecursionlimit()
sys.setrecursionlimit(max(_LIMIT, 6000))
try:
    for _model in _ALL_NODES:
        _model.model_rebuild()
finally:
    sys.setrecursionlimit(_LIMIT)
