"""回访: return-visit tasks after low ratings, reopens and a sample of closed orders."""
