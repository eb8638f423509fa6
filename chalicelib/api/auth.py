"""Registration, login, email codes, password reset (each also at the seed alias without /auth)."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.http.routing import Call, endpoint
from chalicelib.http.schema import display_text, email, enum, obj, string
from chalicelib.services import auth

bp = Blueprint(__name__)

PASSWORD = string(min_length=1, max_length=72)
CODE = string(min_length=1, max_length=16)

SEND_CODE = obj({"email": email(), "email_type": enum(1, 2, description="1 register, 2 reset password")},
                required=["email", "email_type"])
REGISTER = obj(
    {"email": email(), "name": display_text(min_length=1, max_length=20), "password": PASSWORD,
     "password_repeat": PASSWORD, "code": CODE, "email_type": enum(1)},
    required=["email", "name", "password", "password_repeat", "code"],
)
LOGIN = obj({"email": email(), "password": PASSWORD}, required=["email", "password"])
RESET = obj({"email": email(), "code": CODE, "password": PASSWORD, "password_repeat": PASSWORD},
            required=["email", "code", "password", "password_repeat"])
LOGOUT = obj({"all_devices": enum(0, 1, description="1 ends every token of the caller and closes their sockets")})
LOGIN_DATA = obj({"id": {"type": "integer"}, "uid": {"type": "string"}, "name": {"type": "string"},
                  "avatar": {"type": "string"}, "email": {"type": "string"}, "token": {"type": "string"},
                  "expire_time": {"type": "integer"}, "ttl": {"type": "integer"}})


@endpoint(bp, "/auth/sendEmailCode", ["POST"], auth=False, schema=SEND_CODE, aliases=["/sendEmailCode"],
          summary="Email a 6-digit code (1 register, 2 reset password); same answer for known and unknown addresses")
def send_email_code(call: Call) -> Any:
    auth.send_email_code(call.params["email"], call.params["email_type"], call.source_ip)
    return {}


@endpoint(bp, "/auth/registered", ["POST"], auth=False, schema=REGISTER, aliases=["/registered"],
          summary="Register with the emailed code")
def registered(call: Call) -> Any:
    p = call.params
    auth.register(p["email"], p["name"], p["password"], p["password_repeat"], p["code"])
    return {}


@endpoint(bp, "/auth/login", ["POST"], auth=False, schema=LOGIN, aliases=["/login"], response=LOGIN_DATA,
          summary="Log in with email and password; returns the token")
def login(call: Call) -> Any:
    return auth.login(call.params["email"], call.params["password"], call.source_ip)


@endpoint(bp, "/auth/resetPassword", ["POST"], auth=False, schema=RESET, aliases=["/resetPassword"],
          summary="Set a new password with an emailed type-2 code")
def reset_password(call: Call) -> Any:
    p = call.params
    auth.reset_password(p["email"], p["code"], p["password"], p["password_repeat"])
    return {}


@endpoint(bp, "/auth/logout", ["POST"], schema=LOGOUT,
          summary="End the caller's token (all_devices=1: every token of the caller; their sockets get 2004 and close)")
def logout(call: Call) -> Any:
    auth.logout(call.claims, call.params.get("all_devices") == 1)
    return {}
