"""Local stand-ins for the three model APIs the AI CLIs call, on 127.0.0.1 ephemeral ports.

Each mock plays one scripted session, the same for every CLI: write a new file (the developer
accepts it), propose an edit to another file (the developer rejects it), read a file, run one shell
command, then answer in text. The next step is chosen from the conversation the CLI sends back (how
many tool results it holds), so a CLI's side requests (titles, routing, quota checks) never advance
the script. Token counts per response are fixed, so a CLI's own totals are known in advance only
through its own JSON output, which the tests read.

What is real here is the CLI: these mocks replace only the vendor's model, which a test cannot reach.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# The session every mock plays, as (tool kind, arguments); the CLI names its tools differently.
NEW_FILE = "created.py"
NEW_LINES = ["def greet(name):", "    return f'hello {name}'", "", "print(greet('devtel'))"]
EDITED_FILE = "existing.py"
EDIT_OLD = "x = 1"
EDIT_NEW = "x = 2\ny = 3"
SHELL_COMMAND = "echo devtel-shell-step"
FINAL_TEXT = "All done."


def workspace(root: Path) -> None:
    """The file the session reads and then proposes to edit, as a developer's folder holds it."""
    (root / EDITED_FILE).write_text(f"{EDIT_OLD}\n")


@dataclass(frozen=True)
class Usage:
    """Tokens per model response, the same for every response."""

    input: int = 120
    output: int = 30
    cached: int = 40


USAGE = Usage()


@dataclass
class Mock:
    """One HTTP server; ``answer(path, body)`` returns (status, content type, chunks)."""

    answer: Callable[[str, dict[str, Any]], tuple[int, str, list[bytes]]]
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def start(self) -> Mock:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                mock.requests.append((self.path, body))
                status, ctype, chunks = mock.answer(self.path, body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                payload = b"".join(chunks)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _reply
            do_GET = _reply

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sse(events: list[tuple[str | None, dict[str, Any]]]) -> list[bytes]:
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out.append(f"{head}data: {json.dumps(data)}\n\n".encode())
    return out


# ---- Anthropic Messages (Claude Code) ----


def _claude_steps(root: Path) -> list[tuple[str, dict[str, Any]] | None]:
    return [
        ("Write", {"file_path": str(root / NEW_FILE), "content": "\n".join(NEW_LINES)}),
        ("Read", {"file_path": str(root / EDITED_FILE)}),  # Claude Code edits only what it has read
        ("Edit", {"file_path": str(root / EDITED_FILE), "old_string": EDIT_OLD, "new_string": EDIT_NEW}),
        ("Bash", {"command": SHELL_COMMAND, "description": "print a marker"}),
        None,
    ]


def _tool_results(messages: list[dict[str, Any]]) -> int:
    return sum(
        1
        for m in messages
        if m.get("role") == "user" and isinstance(m.get("content"), list)
        for block in m["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    )


def anthropic(root: Path) -> Mock:
    """``POST /v1/messages``, streamed: the scripted step when the request offers tools, else text."""
    steps = _claude_steps(root)

    def answer(path: str, body: dict[str, Any]) -> tuple[int, str, list[bytes]]:
        if not path.startswith("/v1/messages"):
            return 404, "application/json", [b'{"error": "not here"}']
        if "count_tokens" in path:
            return 200, "application/json", [b'{"input_tokens": 10}']
        step = (
            steps[min(_tool_results(body.get("messages", [])), len(steps) - 1)] if body.get("tools") else None
        )
        model = body.get("model", "claude-mock")
        usage_start = {
            "input_tokens": USAGE.input,
            "output_tokens": 1,
            "cache_read_input_tokens": USAGE.cached,
            "cache_creation_input_tokens": 0,
        }
        events: list[tuple[str | None, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_mock",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": usage_start,
                    },
                },
            ),
        ]
        if step is None:
            block = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": FINAL_TEXT}
            stop = "end_turn"
        else:
            name, args = step
            block = {
                "type": "tool_use",
                "id": f"toolu_{_tool_results(body['messages'])}",
                "name": name,
                "input": {},
            }
            delta = {"type": "input_json_delta", "partial_json": json.dumps(args)}
            stop = "tool_use"
        events += [
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": USAGE.output},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return 200, "text/event-stream", sse(events)

    return Mock(answer).start()


# ---- Gemini generateContent / streamGenerateContent (Gemini CLI) ----


def _gemini_steps(root: Path) -> list[tuple[str, dict[str, Any]] | None]:
    return [
        ("write_file", {"file_path": str(root / NEW_FILE), "content": "\n".join(NEW_LINES)}),
        ("read_file", {"file_path": str(root / EDITED_FILE)}),
        (
            "replace",
            {
                "file_path": str(root / EDITED_FILE),
                "old_string": EDIT_OLD,
                "new_string": EDIT_NEW,
                "instruction": "bump x",
            },
        ),
        ("run_shell_command", {"command": SHELL_COMMAND, "description": "print a marker"}),
        None,
    ]


def _function_responses(contents: list[dict[str, Any]]) -> int:
    return sum(1 for c in contents for part in c.get("parts", []) if "functionResponse" in part)


def gemini(root: Path) -> Mock:
    """The router's ``:generateContent`` gets a JSON verdict; ``:streamGenerateContent`` the script."""
    steps = _gemini_steps(root)
    meta = {
        "promptTokenCount": USAGE.input,  # Gemini's prompt count includes the cached part
        "cachedContentTokenCount": USAGE.cached,
        "candidatesTokenCount": USAGE.output,
        "totalTokenCount": USAGE.input + USAGE.output,
    }

    def answer(path: str, body: dict[str, Any]) -> tuple[int, str, list[bytes]]:
        if ":countTokens" in path:
            return 200, "application/json", [b'{"totalTokens": 10}']
        if ":generateContent" in path:  # the model router and other one-shot asks: plain JSON text
            verdict = {
                "reasoning": "simple",
                "complexity_reasoning": "simple",
                "complexity_score": 10,
                "model_choice": "flash",
            }
            reply = {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": json.dumps(verdict)}]},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": meta,
            }
            return 200, "application/json", [json.dumps(reply).encode()]
        if ":streamGenerateContent" not in path:
            return 404, "application/json", [b'{"error": {"code": 404, "message": "not here"}}']
        step = steps[min(_function_responses(body.get("contents", [])), len(steps) - 1)]
        part = {"text": FINAL_TEXT} if step is None else {"functionCall": {"name": step[0], "args": step[1]}}
        reply = {
            "candidates": [
                {"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": meta,
            "modelVersion": "gemini-mock",
        }
        return 200, "text/event-stream", sse([(None, reply)])

    return Mock(answer).start()


# ---- OpenAI Responses (Codex) ----


def _patch(root: Path) -> str:
    body = "".join(f"+{line}\n" for line in NEW_LINES)
    return f"*** Begin Patch\n*** Add File: {root / NEW_FILE}\n{body}*** End Patch\n"


def _codex_steps(root: Path) -> list[tuple[str, dict[str, Any] | str] | None]:
    return [
        ("apply_patch", _patch(root)),
        ("shell", {"command": ["bash", "-lc", f"cat {EDITED_FILE}"]}),
        ("shell", {"command": ["bash", "-lc", SHELL_COMMAND]}),
        None,
    ]


def _outputs(items: list[dict[str, Any]]) -> int:
    return sum(1 for item in items if str(item.get("type", "")).endswith("_call_output"))


# Where Codex's model calls go (its side calls, such as analytics, go elsewhere and get 404).
RESPONSES_PATH = "/v1/responses"


def openai_responses(root: Path) -> Mock:
    """``POST /v1/responses``, streamed; the analytics and other side calls get 404."""
    steps = _codex_steps(root)

    def answer(path: str, body: dict[str, Any]) -> tuple[int, str, list[bytes]]:
        if not path.startswith(RESPONSES_PATH):
            return 404, "application/json", [b'{"error": {"message": "not here"}}']
        done = _outputs(body.get("input", []))
        step = steps[min(done, len(steps) - 1)]
        tools = {t.get("name") for t in body.get("tools", [])}
        if step is None:
            item: dict[str, Any] = {
                "type": "message",
                "role": "assistant",
                "id": f"msg_{done}",
                "content": [{"type": "output_text", "text": FINAL_TEXT}],
            }
        elif step[0] == "apply_patch" and isinstance(step[1], str):
            item = {
                "type": "custom_tool_call",
                "id": f"ct_{done}",
                "call_id": f"call_{done}",
                "name": "apply_patch",
                "input": step[1],
            }
        else:
            name = step[0] if step[0] in tools else "exec_command" if "exec_command" in tools else step[0]
            args = step[1] if name == step[0] else {"cmd": " ".join(step[1]["command"][2:])}
            item = {
                "type": "function_call",
                "id": f"fc_{done}",
                "call_id": f"call_{done}",
                "name": name,
                "arguments": json.dumps(args),
            }
        response = {
            "id": f"resp_{done}",
            "object": "response",
            "status": "completed",
            "output": [item],
            "usage": {
                "input_tokens": USAGE.input,
                "input_tokens_details": {"cached_tokens": USAGE.cached},
                "output_tokens": USAGE.output,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": USAGE.input + USAGE.output,
            },
        }
        return (
            200,
            "text/event-stream",
            sse(
                [
                    (
                        "response.created",
                        {
                            "type": "response.created",
                            "response": {**response, "status": "in_progress", "output": []},
                        },
                    ),
                    (
                        "response.output_item.done",
                        {"type": "response.output_item.done", "output_index": 0, "item": item},
                    ),
                    ("response.completed", {"type": "response.completed", "response": response}),
                ]
            ),
        )

    return Mock(answer).start()


# The tools with which each CLI proposes a change to a file; the others read or run.
EDIT_TOOLS = frozenset({"Write", "Edit", "write_file", "replace", "apply_patch"})
STEPS = {"claude": _claude_steps, "gemini": _gemini_steps, "codex": _codex_steps}
MOCKS = {"claude": anthropic, "gemini": gemini, "codex": openai_responses}


def proposals(cli: str, root: Path) -> int:
    """How many changes the script has the CLI propose."""
    return sum(1 for step in STEPS[cli](root) if step is not None and step[0] in EDIT_TOOLS)
