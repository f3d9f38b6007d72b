"""Every model, imported once so that Alembic and the app see the whole schema."""

from dorami_api.auctions.models import Auction, AuctionBid
from dorami_api.auth.models import AuthSession
from dorami_api.cart.models import CartHold
from dorami_api.chat.models import ChatModeration
from dorami_api.orders.models import Order, OrderDayCounter, OrderItem
from dorami_api.products.models import Product, ProductVariant
from dorami_api.settings.models import SystemConfig
from dorami_api.streaming.models import LiveStream
from dorami_api.users.models import User
from dorami_api.waitlist.models import WaitlistEntry

__all__ = [
    "Auction",
    "AuctionBid",
    "AuthSession",
    "CartHold",
    "ChatModeration",
    "LiveStream",
    "Order",
    "OrderDayCounter",
    "OrderItem",
    "Product",
    "ProductVariant",
    "SystemConfig",
    "User",
    "WaitlistEntry",
]
