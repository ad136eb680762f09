"""The loopback WeChat Pay the tests run against: the development sandbox's (one implementation)."""

from server.sandbox.wechatpay import *  # noqa: F403
from server.sandbox.wechatpay import FakeWeChatPay  # noqa: F401  (named for readers and mypy)
