"""Reading a request body: decompressed as a stream and capped, so a small bomb never inflates."""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

from otlp_receiver.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

_CHUNK_OUT = 64 * 1024


def _decompressor(encoding: str) -> Any:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(wbits=zlib.MAX_WBITS)
    raise BadRequest(f"unsupported Content-Encoding {encoding!r}: use gzip, deflate or none")


async def read_body(chunks: AsyncIterator[bytes], content_encoding: str, limit: int) -> bytes:
    """The whole body, decompressed; PayloadTooLarge as soon as it passes ``limit`` bytes."""
    inflater = _decompressor(content_encoding)
    out = bytearray()

    def take(data: bytes) -> None:
        out.extend(data)
        if len(out) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes after decompression")

    try:
        async for chunk in chunks:
            if inflater is None:
                take(chunk)
                continue
            data = chunk
            while data:
                take(inflater.decompress(data, _CHUNK_OUT))
                data = inflater.unconsumed_tail
        if inflater is not None:
            take(inflater.flush())
            if not inflater.eof:
                raise BadRequest(f"truncated {content_encoding} body")
    except zlib.error as exc:
        raise BadRequest(f"body is not valid {content_encoding}: {exc}") from None
    return bytes(out)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def require_json(content_type: str | None) -> None:
    kind = media_type(content_type)
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not supported: send application/json")


def _refuse_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a JSON number: send a finite number")


def _bounded_int(digits: str) -> int:
    """Python refuses to read integers longer than 4,300 digits; anything past 64 bits is no count."""
    if len(digits.lstrip("-")) > 20:
        raise BadRequest(f"a number of {len(digits)} digits is too large: at most 64-bit integers")
    return int(digits)


def decode_json(body: bytes) -> Any:
    if not body:
        raise BadRequest("body is empty: send a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise BadRequest("JSON nests too deeply") from None
