"""The shop-wide settings: shipping fee, bank-transfer details, notice banner.

One row, id 'system', created on first use. A changed notice is broadcast after commit."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import money_str, utcnow
from dorami_api.extensions import db
from dorami_api.realtime import broadcast
from dorami_api.settings.models import SYSTEM_CONFIG_ID, SystemConfig
from dorami_api.web.responses import iso


def _insert_if_missing() -> None:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(SystemConfig).values(id=SYSTEM_CONFIG_ID).on_conflict_do_nothing())


def _unsaved_defaults() -> SystemConfig:
    """The settings of a shop that never saved any: the columns' defaults, in an object the
    session does not hold (nothing is written)."""
    values = {
        column.key: column.default.arg
        for column in SystemConfig.__table__.columns
        if column.default is not None and column.default.is_scalar
    }
    return SystemConfig(**values, updated_at=utcnow())


def system_config(for_update: bool = False) -> SystemConfig:
    """The settings row. A read of a shop that has none yet gets the defaults without writing:
    inside a read's transaction the row would be rolled back at the end of the request and
    inserted again by every read (a cart, an order page, the shipping terms of each order). The
    row is created, with its defaults, when the settings are first changed."""
    query = sa.select(SystemConfig).where(SystemConfig.id == SYSTEM_CONFIG_ID)
    if for_update:
        query = query.with_for_update()
    config = db.session.scalar(query)
    if config is None:
        if not for_update:
            return _unsaved_defaults()
        _insert_if_missing()
        config = db.session.scalar(query)
    return config


def notice_json(config: SystemConfig) -> dict:
    return {"text": config.notice_text, "fontSize": config.notice_font_size, "fontFamily": config.notice_font_family}


def bank_transfer_json(config: SystemConfig) -> dict:
    return {
        "bankName": config.bank_name,
        "accountNumber": config.bank_account_number,
        "accountHolder": config.bank_account_holder,
    }


def public_config_json(config: SystemConfig) -> dict:
    return {
        "defaultShippingFee": money_str(config.default_shipping_fee),
        "bankTransfer": bank_transfer_json(config),
        "notice": notice_json(config),
    }


def admin_config_json(config: SystemConfig) -> dict:
    return {**public_config_json(config), "updatedAt": iso(config.updated_at)}


# API field → column.
FIELDS = {
    "defaultShippingFee": "default_shipping_fee",
    "bankName": "bank_name",
    "bankAccountNumber": "bank_account_number",
    "bankAccountHolder": "bank_account_holder",
    "noticeText": "notice_text",
    "noticeFontSize": "notice_font_size",
    "noticeFontFamily": "notice_font_family",
}
NOTICE_COLUMNS = {"notice_text", "notice_font_size", "notice_font_family"}


def update_config(changes: dict) -> SystemConfig:
    """Apply the given fields; broadcast the notice if it changed."""
    config = system_config(for_update=True)
    notice_changed = False
    for field, value in changes.items():
        column = FIELDS[field]
        if column == "default_shipping_fee":
            value = Decimal(value)
        if getattr(config, column) != value:
            setattr(config, column, value)
            notice_changed |= column in NOTICE_COLUMNS
    config.updated_at = utcnow()
    if notice_changed:
        after_commit(broadcast.notice_updated, notice_json(config))
    db.session.commit()
    return config
