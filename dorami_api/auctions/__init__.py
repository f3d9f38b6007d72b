"""Live auctions: one product (or variant) of a live stream put up for bids, with a countdown,
anti-sniping, proxy bids and one winner who gets an order."""
