"""The HTTP floor that bench/ingest.py measures single readings against: the same server (uvicorn
with the API's options, event loop and HTTP parser) serving an app that only reads each request's
body and answers what the single-reading route answers to a new reading. No key, no parsing, no
database: what one worker process can answer at most on this machine, measured in the same run.
"""

from __future__ import annotations

ANSWER = b'{"accepted":1,"duplicates":0}'
HEADERS = [(b"content-length", b"%d" % len(ANSWER)), (b"content-type", b"application/json")]


async def app(scope, receive, send) -> None:  # noqa: ANN001 - ASGI
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    status = 201 if scope["method"] == "POST" else 200
    await send({"type": "http.response.start", "status": status, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})
