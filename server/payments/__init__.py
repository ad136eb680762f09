"""Payment accounts (WeChat Pay merchants, Alipay apps) and the channels tenants may pay with."""
