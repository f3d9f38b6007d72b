"""The order as the API shows it (buyer and admin)."""

from __future__ import annotations

from dorami_api.db.types import money_str
from dorami_api.orders.models import Order, OrderItem
from dorami_api.settings.models import SystemConfig
from dorami_api.settings.service import bank_transfer_json, system_config
from dorami_api.web.responses import iso


def item_json(item: OrderItem) -> dict:
    return {
        "id": str(item.id),
        "productId": str(item.product_id) if item.product_id else None,
        "variantId": str(item.variant_id) if item.variant_id else None,
        "streamId": str(item.stream_id) if item.stream_id else None,
        "productName": item.product_name,
        "variantLabel": item.variant_label,
        "unitPrice": money_str(item.unit_price),
        "quantity": item.quantity,
        "lineTotal": money_str(item.unit_price * item.quantity),
    }


def order_json(order: Order, config: SystemConfig | None = None) -> dict:
    """With bank-transfer instructions while the order waits for payment. config: the shop
    settings, when the caller already read them (a batch of orders)."""
    data = {
        "id": order.id,
        "userId": str(order.user_id),
        "status": order.status,
        "subtotal": money_str(order.subtotal),
        "shippingFee": money_str(order.shipping_fee),
        "total": money_str(order.total),
        "depositorName": order.depositor_name,
        "instagramId": order.instagram_id,
        "shippingAddress": order.shipping_address,
        "trackingNumber": order.tracking_number,
        "cancelReason": order.cancel_reason,
        "items": [item_json(item) for item in order.items],
        "paidAt": iso(order.paid_at),
        "shippedAt": iso(order.shipped_at),
        "deliveredAt": iso(order.delivered_at),
        "cancelledAt": iso(order.cancelled_at),
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "bankTransfer": None,
    }
    if order.status == "PENDING_PAYMENT":
        data["bankTransfer"] = {
            **bank_transfer_json(config or system_config()),
            "amount": money_str(order.total),
            "depositorName": order.depositor_name,
        }
    return data


def admin_order_json(order: Order, config: SystemConfig | None = None) -> dict:
    return {**order_json(order, config), "userEmail": order.user_email}
