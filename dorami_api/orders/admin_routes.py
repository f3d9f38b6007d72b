"""/admin/orders: the admin's side of the order lifecycle, list filters and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, stream_with_context

from dorami_api.auth.guards import admin_required
from dorami_api.db.types import money_str, utcnow
from dorami_api.extensions import db
from dorami_api.orders import lifecycle, service
from dorami_api.orders.models import Order, OrderItem
from dorami_api.orders.schemas import AdminOrderOut, AdminOrdersQuery, Cancel, ExportQuery, Ship
from dorami_api.orders.serializers import admin_order_json
from dorami_api.web.fields import page_schema
from dorami_api.web.responses import iso, ok, page_of
from dorami_api.web.validation import body, documented, query

bp = Blueprint("admin_orders", __name__)
bp.record_once(lambda state: state.app.url_map.converters.setdefault("order_number", lifecycle.OrderNumber))
EXPORT_BATCH = 500


def _moment(value: datetime | date, end: bool) -> datetime:
    """A date means the whole UTC day; a naive time is UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    start = datetime.combine(value, time.min, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def _filters(q: AdminOrdersQuery | ExportQuery) -> list:
    conditions = []
    if q.status:
        conditions.append(Order.status == q.status)
    if q.userId:
        conditions.append(Order.user_id == q.userId)
    if q.streamId:
        conditions.append(sa.exists().where(OrderItem.order_id == Order.id, OrderItem.stream_id == q.streamId))
    if q.dateFrom:
        conditions.append(Order.created_at >= _moment(q.dateFrom, end=False))
    if q.dateTo:
        # A date includes its whole day; a time is inclusive.
        if isinstance(q.dateTo, datetime):
            conditions.append(Order.created_at <= _moment(q.dateTo, end=True))
        else:
            conditions.append(Order.created_at < _moment(q.dateTo, end=True))
    if q.search:
        pattern = "%" + q.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            sa.or_(
                Order.id.ilike(pattern, escape="\\"),
                Order.user_email.ilike(pattern, escape="\\"),
                Order.depositor_name.ilike(pattern, escape="\\"),
                Order.instagram_id.ilike(pattern, escape="\\"),
            )
        )
    return conditions


@bp.get("")
@admin_required
@query(AdminOrdersQuery)
@documented(
    "Orders with filters (status, stream, user, date range, search)",
    response=page_schema(AdminOrderOut),
    tags=("admin",),
    auth="admin",
)
def list_orders(query: AdminOrdersQuery):
    conditions = _filters(query)
    orders, total = service.page_orders(conditions, query.page, query.limit)
    return ok(page_of([admin_order_json(order) for order in orders], query.page, query.limit, total))


# --- CSV export ------------------------------------------------------------------------------

CSV_COLUMNS = (
    "orderId", "createdAt", "status", "userEmail", "depositorName", "instagramId", "items",
    "subtotal", "shippingFee", "total", "recipient", "address1", "address2", "city", "state", "zip",
    "trackingNumber", "paidAt", "shippedAt", "deliveredAt", "cancelledAt",
)  # fmt: skip
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """Text a spreadsheet will not run: a leading =, +, -, @, tab or CR is escaped with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _csv_row(order: Order) -> list[str]:
    address = order.shipping_address or {}
    items = "; ".join(
        f"{item.product_name}{' (' + item.variant_label + ')' if item.variant_label else ''} x{item.quantity}"
        for item in order.items
    )
    values = (
        order.id, iso(order.created_at), order.status, order.user_email, order.depositor_name, order.instagram_id,
        items, money_str(order.subtotal), money_str(order.shipping_fee), money_str(order.total),
        address.get("fullName"), address.get("address1"), address.get("address2"), address.get("city"),
        address.get("state"), address.get("zip"), order.tracking_number, iso(order.paid_at), iso(order.shipped_at),
        iso(order.delivered_at), iso(order.cancelled_at),
    )  # fmt: skip
    return [csv_cell(value) for value in values]


@bp.get("/export.csv")
@admin_required
@query(ExportQuery)
@documented("Orders as CSV (same filters as the list)", tags=("admin",), auth="admin", media_type="text/csv")
def export_csv(query: ExportQuery):
    conditions = _filters(query)

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        offset = 0
        while True:
            page = sa.select(Order).where(*conditions).order_by(Order.created_at, Order.id)
            batch = db.session.scalars(page.offset(offset).limit(EXPORT_BATCH)).all()
            for order in batch:
                writer.writerow(_csv_row(order))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if len(batch) < EXPORT_BATCH:
                return
            offset += EXPORT_BATCH

    filename = f"orders_{utcnow():%Y%m%d}.csv"
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- one order -------------------------------------------------------------------------------


@bp.get("/<order_number:order_id>")
@admin_required
@documented("An order with its buyer's snapshot", response=AdminOrderOut, errors=(404,), tags=("admin",), auth="admin")
def get_order(order_id: str):
    return ok(admin_order_json(lifecycle.order_or_404(order_id)))


@bp.post("/<order_number:order_id>/confirm-payment")
@admin_required
@documented("PENDING_PAYMENT → PAID", response=AdminOrderOut, errors=(404, 409), tags=("admin",), auth="admin")
def confirm_payment(order_id: str):
    return ok(admin_order_json(lifecycle.confirm_payment(order_id)))


@bp.post("/<order_number:order_id>/ship")
@admin_required
@body(Ship)
@documented(
    "PAID → SHIPPED with a tracking number", response=AdminOrderOut, errors=(404, 409), tags=("admin",), auth="admin"
)
def ship(order_id: str, body: Ship):
    return ok(admin_order_json(lifecycle.ship(order_id, body.trackingNumber)))


@bp.post("/<order_number:order_id>/deliver")
@admin_required
@documented("SHIPPED → DELIVERED", response=AdminOrderOut, errors=(404, 409), tags=("admin",), auth="admin")
def deliver(order_id: str):
    return ok(admin_order_json(lifecycle.deliver(order_id)))


@bp.post("/<order_number:order_id>/cancel")
@admin_required
@body(Cancel, optional=True)
@documented(
    "Cancel an unpaid or paid order (stock returns, the waitlist is served)",
    response=AdminOrderOut,
    errors=(404, 409),
    tags=("admin",),
    auth="admin",
)
def cancel(order_id: str, body: Cancel):
    order = lifecycle.cancel(order_id, sources=lifecycle.ADMIN_CANCELLABLE, reason=body.reason)
    return ok(admin_order_json(order))
