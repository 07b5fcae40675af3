"""Examples of every built-in node: put in the JSON Schema, the docs' gallery and its tests."""

from __future__ import annotations

from pydantic import JsonValue

_TODOS: JsonValue = {"$bind": "data.todos"}
_SALES: JsonValue = [
    {"month": "Jan", "revenue": 4200, "costs": 3100},
    {"month": "Feb", "revenue": 5100, "costs": 3300},
    {"month": "Mar", "revenue": 4800, "costs": 3500},
    {"month": "Apr", "revenue": 6300, "costs": 3900},
]

NODE_EXAMPLES: dict[str, list[JsonValue]] = {
    "Stack": [
        {
            "type": "Stack",
            "props": {"gap": 8},
            "children": [
                {"type": "Heading", "props": {"text": "Settings", "level": 2}},
                {"type": "Text", "props": {"text": "Stacked vertically.", "tone": "muted"}},
            ],
        }
    ],
    "Row": [
        {
            "type": "Row",
            "props": {"gap": 8, "justify": "end"},
            "children": [
                {"type": "Button", "props": {"text": "Cancel", "variant": "secondary"}},
                {"type": "Button", "props": {"text": "Save"}},
            ],
        }
    ],
    "Grid": [
        {
            "type": "Grid",
            "props": {"columns": 3},
            "children": [
                {"type": "Stat", "props": {"label": "Open", "value": 12}},
                {"type": "Stat", "props": {"label": "Won", "value": 7}},
                {"type": "Stat", "props": {"label": "Lost", "value": 2}},
            ],
        }
    ],
    "Card": [
        {
            "type": "Card",
            "props": {"title": "Account"},
            "children": [{"type": "Text", "props": {"text": "A bordered box with a title."}}],
        }
    ],
    "Heading": [{"type": "Heading", "props": {"text": "Customers", "level": 1}}],
    "Text": [
        {"type": "Text", "props": {"text": "Saved a minute ago.", "tone": "muted"}},
        {"type": "Text", "props": {"text": "Total due", "weight": "strong"}},
    ],
    "Image": [{"type": "Image", "props": {"src": "/static/logo.png", "alt": "Logo", "width": 96}}],
    "Link": [
        {"type": "Link", "props": {"text": "About", "to": "/about"}},
        {"type": "Link", "props": {"text": "Python docs", "href": "https://docs.python.org/"}},
    ],
    "Markdown": [{"type": "Markdown", "props": {"text": "**Bold**, *italic* and `code`."}}],
    "Form": [
        {
            "type": "Form",
            "props": {"layout": "inline"},
            "on": {
                "submit": [
                    {
                        "action": "call",
                        "function": "todos",
                        "body": {"title": {"$bind": "form.title"}},
                    },
                    {"action": "refresh", "data": "todos"},
                ]
            },
            "children": [
                {"type": "Input", "props": {"name": "title", "label": "New todo"}},
                {"type": "Button", "props": {"text": "Add", "kind": "submit", "icon": "plus"}},
            ],
        }
    ],
    "Input": [
        {
            "type": "Input",
            "props": {"label": "Email", "name": "email", "inputType": "email", "required": True},
        },
        {
            "type": "Input",
            "props": {"placeholder": "Search…", "inputType": "search", "bind": "state.q"},
        },
    ],
    "Select": [
        {
            "type": "Select",
            "props": {
                "label": "Stage",
                "bind": "state.stage",
                "options": [{"value": "", "label": "Any"}, {"value": "lead"}, {"value": "won"}],
            },
        }
    ],
    "Checkbox": [
        {"type": "Checkbox", "props": {"label": "Done", "checked": True, "strike": True}},
        {"type": "Checkbox", "props": {"label": "Email me", "bind": "state.subscribe"}},
    ],
    "Button": [
        {"type": "Button", "props": {"text": "Save", "icon": "check"}},
        {"type": "Button", "props": {"text": "Cancel", "variant": "secondary"}},
        {"type": "Button", "props": {"text": "More", "variant": "ghost"}},
        {
            "type": "Button",
            "props": {
                "text": "Delete",
                "variant": "danger",
                "icon": "trash",
                "confirm": {"title": "Delete this item?", "text": "This cannot be undone."},
            },
        },
    ],
    "Table": [
        {
            "type": "Table",
            "props": {
                "rows": [
                    {"name": "Ada", "stage": "won", "value": 1200},
                    {"name": "Linus", "stage": "lead", "value": 300},
                ],
                "columns": [
                    {"key": "name", "label": "Name"},
                    {
                        "key": "stage",
                        "label": "Stage",
                        "format": "badge",
                        "tones": {"won": "success", "lead": "info"},
                    },
                    {"key": "value", "label": "Value", "format": "money"},
                ],
                "pageSize": 10,
                "empty": "No customers match.",
            },
        }
    ],
    "List": [
        {
            "type": "List",
            "props": {"empty": "Nothing to do."},
            "children": [
                {
                    "type": "Checkbox",
                    "repeat": {"over": _TODOS, "as": "todo", "key": "todo.id"},
                    "props": {"label": {"$bind": "todo.title"}, "checked": {"$bind": "todo.done"}},
                }
            ],
        },
        {
            "type": "List",
            "children": [
                {"type": "Text", "props": {"text": "First"}},
                {"type": "Text", "props": {"text": "Second"}},
            ],
        },
    ],
    "AppShell": [
        {
            "type": "AppShell",
            "props": {
                "title": "Acme CRM",
                "icon": "briefcase",
                "nav": [
                    {"label": "Overview", "to": "/", "icon": "layout"},
                    {"label": "Customers", "to": "/customers", "icon": "users"},
                ],
            },
            "children": [{"type": "Heading", "props": {"text": "Overview", "level": 1}}],
        }
    ],
    "Tabs": [
        {
            "type": "Tabs",
            "props": {"tabs": [{"label": "Details"}, {"label": "Activity", "icon": "clock"}]},
            "children": [
                {"type": "Text", "props": {"text": "The first tab's panel."}},
                {"type": "Text", "props": {"text": "The second tab's panel."}},
            ],
        }
    ],
    "Dialog": [
        {
            "type": "Dialog",
            "props": {
                "title": "Invite a teammate",
                "text": "They get an email with a link.",
                "triggerText": "Invite",
                "triggerIcon": "mail",
            },
            "children": [{"type": "Input", "props": {"label": "Email", "name": "email"}}],
        },
        {
            "type": "Dialog",
            "props": {"title": {"$bind": "state.selected.name"}, "bind": "state.selected"},
            "children": [{"type": "Text", "props": {"text": {"$bind": "state.selected.email"}}}],
        },
    ],
    "Alert": [
        {"type": "Alert", "props": {"title": "Heads up", "text": "Trial ends in 3 days."}},
        {"type": "Alert", "props": {"text": "Payment failed.", "tone": "danger"}},
    ],
    "Badge": [
        {"type": "Badge", "props": {"text": "Active", "tone": "success"}},
        {"type": "Badge", "props": {"text": "Draft"}},
    ],
    "Stat": [
        {
            "type": "Stat",
            "props": {
                "label": "Revenue",
                "value": "$12,400",
                "delta": "+8% vs last month",
                "trend": "up",
                "icon": "dollar",
            },
        }
    ],
    "Progress": [{"type": "Progress", "props": {"label": "Storage", "value": 64}}],
    "Divider": [{"type": "Divider"}, {"type": "Divider", "props": {"label": "or"}}],
    "Icon": [
        {"type": "Icon", "props": {"name": "check-circle", "label": "Done"}},
        {"type": "Icon", "props": {"name": "users", "size": 24}},
    ],
    "EmptyState": [
        {
            "type": "EmptyState",
            "props": {"title": "No todos yet", "text": "Add one above.", "icon": "check-square"},
        }
    ],
    "Skeleton": [{"type": "Skeleton", "props": {"lines": 3}}],
    "Chart": [
        {
            "type": "Chart",
            "props": {
                "kind": "line",
                "data": _SALES,
                "x": "month",
                "y": ["revenue", "costs"],
                "label": "Revenue and costs",
            },
        },
        {"type": "Chart", "props": {"kind": "bar", "data": _SALES, "x": "month", "y": "revenue"}},
        {
            "type": "Chart",
            "props": {"kind": "area", "data": _SALES, "x": "month", "y": "costs", "height": 160},
        },
        {"type": "Chart", "props": {"kind": "pie", "data": _SALES, "x": "month", "y": "revenue"}},
    ],
    "Component": [
        {"type": "Component", "props": {"name": "Counter", "start": 3}},
    ],
}

# One or two per action type: what an event's list of actions can hold.
ACTION_EXAMPLES: dict[str, list[JsonValue]] = {
    "call": [
        {
            "action": "call",
            "function": "todos",
            "method": "POST",
            "body": {"title": {"$bind": "form.title"}},
            "onSuccess": [{"action": "refresh", "data": "todos"}],
            "onError": [
                {"action": "message", "text": {"$bind": "error.message"}, "level": "error"}
            ],
        }
    ],
    "setState": [{"action": "setState", "path": "state.draft", "value": ""}],
    "refresh": [{"action": "refresh", "data": ["todos", "stats"]}, {"action": "refresh"}],
    "navigate": [{"action": "navigate", "to": {"$bind": "'/todos/' + todo.id"}}],
    "message": [{"action": "message", "text": "Saved", "level": "success"}],
}

# A page's named data: a function's answer, or a value.
DATA_SOURCE_EXAMPLES: list[JsonValue] = [
    {"function": "todos", "query": {"done": {"$bind": "state.showDone"}}},
    {"value": [{"label": "Open", "value": "open"}, {"label": "Done", "value": "done"}]},
]
