"""The node types of a page: built-in layout, content, input and data nodes, and Component."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, WithJsonSchema, model_validator

from atoll.sdui.actions import Action
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
    on: dict[EventName, list[Action]] = Field(default_factory=dict)
    children: list[Node] = Field(default_factory=list)


class StackProps(SduiModel):
    """A vertical stack."""

    gap: Space = 12
    align: Align = "stretch"
    padding: Space = 0


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


class InputProps(SduiModel):
    """A text input; ``bind`` keeps it in sync with page state."""

    label: Text | None = None
    name: Annotated[str, Field(pattern=FIELD_NAME_PATTERN)] | None = None
    placeholder: Text | None = None
    bind: StatePath | None = None
    value: Text | None = None
    input_type: Literal["text", "number", "email", "password", "date", "search", "url"] = "text"
    required: bool = False


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


class CheckboxProps(SduiModel):
    """A checkbox."""

    label: Text | None = None
    name: Annotated[str, Field(pattern=FIELD_NAME_PATTERN)] | None = None
    bind: StatePath | None = None
    checked: Flag | None = None


class ButtonProps(SduiModel):
    """A button; its ``click`` event runs actions."""

    text: Text
    variant: Literal["primary", "secondary", "danger", "link"] = "primary"
    disabled: Flag = False
    kind: Literal["button", "submit"] = "button"


class TableColumn(SduiModel):
    """A column of a Table: which key of each row, and its header."""

    key: Annotated[str, Field(min_length=1, max_length=128)]
    label: Text | None = None


class TableProps(SduiModel):
    """A table of rows (a list of objects)."""

    rows: list[dict[str, BoundJson]] | Bind
    columns: list[TableColumn]
    empty: Text = "Nothing here yet."


class ListProps(SduiModel):
    """A list; each child (usually one with ``repeat``) becomes an item."""

    ordered: bool = False
    empty: Text | None = None


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
    | Annotated[ComponentNode, Tag("Component")]
    | Annotated[UnknownNode, Tag("unknown")],
    Discriminator(
        _node_tag,
        custom_error_type="node_type",
        custom_error_message='a node needs a string "type"',
    ),
]

_ALL_NODES: list[type[NodeBase]] = [*BUILTIN_NODES.values(), UnknownNode]
for _model in _ALL_NODES:
    _model.model_rebuild()
