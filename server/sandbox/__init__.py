"""A local stand-in for WeChat Pay and Alipay, for development and tests only.

It speaks the providers' wire protocols (signed requests and answers, AES-GCM notifications,
RSA2), so the product code talks to it exactly as it talks to the real providers: only the base
URLs differ (`WECHATPAY_API_BASE`, `ALIPAY_GATEWAY`). `baoxiu dev` starts it when no real
payment account is configured; `baoxiu serve` never does, and nothing in the server imports it.
"""
