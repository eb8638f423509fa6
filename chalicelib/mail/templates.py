"""Email bodies. Plain string formatting: nothing heavy to import on a cold start."""
from __future__ import annotations

from html import escape

from chalicelib.mail.ses import Email

PURPOSE_TEXT = {1: "完成注册 (finish registering)", 2: "重置密码 (reset your password)"}


def code_email(to: str, code: str, purpose: int, ttl_minutes: int) -> Email:
    action = PURPOSE_TEXT[purpose]
    text = (f"您的 Philatelic 验证码是 {code}，{ttl_minutes} 分钟内有效，用于{action}。\n"
            f"Your Philatelic verification code is {code}. It expires in {ttl_minutes} minutes.\n"
            "如果不是您本人操作，请忽略此邮件。 If you did not ask for it, ignore this email.")
    html = ("<p>您的 Philatelic 验证码 / Your verification code:</p>"
            f"<p style=\"font-size:24px\"><b>{escape(code)}</b></p>"
            f"<p>{ttl_minutes} 分钟内有效，用于{escape(action)}。</p>"
            "<p>如果不是您本人操作，请忽略此邮件。 If you did not ask for it, ignore this email.</p>")
    return Email(to=to, subject="Philatelic 验证码 / verification code", text=text, html=html)


def already_registered_email(to: str) -> Email:
    text = ("有人用此邮箱申请注册 Philatelic，但该邮箱已经注册。请直接登录，或使用“忘记密码”。\n"
            "Someone asked to register this address on Philatelic, but it already has an account. "
            "Log in, or reset your password.")
    html = ("<p>有人用此邮箱申请注册 Philatelic，但该邮箱已经注册。请直接登录，或使用“忘记密码”。</p>"
            "<p>Someone asked to register this address on Philatelic, but it already has an account. "
            "Log in, or reset your password.</p>")
    return Email(to=to, subject="Philatelic 账号已存在 / account exists", text=text, html=html)
