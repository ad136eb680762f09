"""Provider callbacks (WeChat Pay and Alipay notifications) live here."""
