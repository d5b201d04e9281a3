"""Each HTTP request's database budget (`CP_DB_DEADLINE`), counted from its arrival.

The watchdog that enforces the budget is database code and lives with it (app.db_deadline,
framework-free: app.db imports it); this is only the ASGI side that binds one budget per
request and lifts it once the response starts.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db_deadline import request_budget


class DatabaseDeadlineMiddleware:
    """Start each HTTP request's database budget at its arrival; end it when the response
    starts (a streamed body is then bounded per round trip only)."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_budget(self.seconds) as budget:

            async def started(message: Message) -> None:
                if message["type"] == "http.response.start":
                    budget.end = None
                await send(message)

            await self.app(scope, receive, started)
