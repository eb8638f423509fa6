"""Philatelic IM backend: HTTP routes from chalicelib.api blueprints, the three WebSocket entry points, and the
delivery function the table's stream drives."""
from collections.abc import Callable

from chalice import Chalice, Response
from chalice.app import Request, WebsocketEvent

from chalicelib.api import auth, docs, friends, groups, messages, server_groups, sessions, uploads, users
from chalicelib.http.cors import register_preflight_routes
from chalicelib.http.routing import not_routed
from chalicelib.realtime import delivery
from chalicelib.ws import handlers as ws

app = Chalice(app_name="philatelic-im")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.api.binary_types.append("multipart/form-data")

for blueprint in (auth.bp, users.bp, friends.bp, sessions.bp, messages.bp, groups.bp, uploads.bp,
                  server_groups.bp, docs.bp):
    app.register_blueprint(blueprint)
register_preflight_routes(app)


@app.middleware("http")
def answer_unrouted(request: Request | None, get_response: Callable[[Request], Response]) -> Response:
    """An HTTP API's `$default` route sends every request no route matches here: a path no route has gets the 404
    envelope instead of chalice's 500; a routed path asked with another method keeps chalice's 405 (with `Allow`),
    as the local stack answers it (tests/fuzz: unsupported_method)."""
    if request is None or request.path not in app.routes:
        return not_routed(request)
    return get_response(request)


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict:
    return ws.connect(event.to_dict())


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> dict:
    return ws.message(event.to_dict())


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> dict:
    return ws.disconnect(event.to_dict())


@app.lambda_function(name="deliver")
def deliver(event: dict, context: object) -> dict:
    return delivery.handle(event, context)
