"""Daily reconciliation (对账): the providers' trade bills against our payments and refunds."""
