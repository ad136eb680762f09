"""The pure rules of orders: states, eligibility, the grab cap. No I/O, no frameworks."""
