"""The loopback Alipay the tests run against: the development sandbox's (one implementation)."""

from server.sandbox.alipay import *  # noqa: F403
from server.sandbox.alipay import AlipayTestKeys, FakeAlipay, bill_zip  # noqa: F401
