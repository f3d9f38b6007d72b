"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 07:45:49.802762

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('order_day_counters',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_value >= 0', name=op.f('ck_order_day_counters_last_value_non_negative')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_order_day_counters'))
    )
    op.create_table('system_config',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('default_shipping_fee', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('bank_name', sa.String(length=100), nullable=False),
    sa.Column('bank_account_number', sa.String(length=100), nullable=False),
    sa.Column('bank_account_holder', sa.String(length=100), nullable=False),
    sa.Column('notice_text', sa.Text(), nullable=True),
    sa.Column('notice_font_size', sa.Integer(), nullable=False),
    sa.Column('notice_font_family', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("id = 'system'", name=op.f('ck_system_config_singleton')),
    sa.CheckConstraint('default_shipping_fee >= 0', name=op.f('ck_system_config_shipping_fee_non_negative')),
    sa.CheckConstraint('notice_font_size BETWEEN 10 AND 24', name=op.f('ck_system_config_notice_font_size_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_system_config'))
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('kakao_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.Enum('USER', 'ADMIN', name='user_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('ACTIVE', 'SUSPENDED', name='user_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('instagram_id', sa.String(length=64), nullable=True),
    sa.Column('depositor_name', sa.String(length=100), nullable=True),
    sa.Column('shipping_address_enc', sa.JSON(), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspension_reason', sa.String(length=500), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('instagram_id', name=op.f('uq_users_instagram_id')),
    sa.UniqueConstraint('kakao_id', name=op.f('uq_users_kakao_id'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('auth_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('refresh_token_hash', sa.String(length=64), nullable=False),
    sa.Column('previous_refresh_hash', sa.String(length=64), nullable=True),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_agent', sa.String(length=400), nullable=True),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_sessions')),
    sa.UniqueConstraint('refresh_token_hash', name=op.f('uq_auth_sessions_refresh_token_hash'))
    )
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_auth_sessions_previous_refresh_hash'), ['previous_refresh_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_auth_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('chat_moderations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('stream_key', sa.String(length=64), nullable=False),
    sa.Column('action', sa.Enum('MUTE', 'BAN', 'DELETE_MESSAGE', name='moderation_action', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('target_user_id', sa.Uuid(), nullable=True),
    sa.Column('message_id', sa.String(length=64), nullable=True),
    sa.Column('moderator_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_chat_moderations_moderator_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_user_id'], ['users.id'], name=op.f('fk_chat_moderations_target_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_moderations'))
    )
    with op.batch_alter_table('chat_moderations', schema=None) as batch_op:
        batch_op.create_index('ix_chat_moderations_stream_key_target_user_id', ['stream_key', 'target_user_id'], unique=False)

    op.create_table('live_streams',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('stream_key', sa.String(length=64), nullable=False),
    sa.Column('publish_key', sa.String(length=32), nullable=False),
    sa.Column('host_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('thumbnail_url', sa.String(length=2048), nullable=True),
    sa.Column('status', sa.Enum('SCHEDULED', 'LIVE', 'ENDED', name='stream_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('peak_viewers', sa.Integer(), nullable=False),
    sa.Column('free_shipping_mode', sa.Enum('DISABLED', 'UNCONDITIONAL', 'THRESHOLD', name='free_shipping_mode', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('free_shipping_threshold', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('featured_product_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('free_shipping_threshold IS NULL OR free_shipping_threshold >= 0', name=op.f('ck_live_streams_free_shipping_threshold_non_negative')),
    sa.CheckConstraint('peak_viewers >= 0', name=op.f('ck_live_streams_peak_viewers_non_negative')),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_live_streams_host_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_streams')),
    sa.UniqueConstraint('publish_key', name=op.f('uq_live_streams_publish_key')),
    sa.UniqueConstraint('stream_key', name=op.f('uq_live_streams_stream_key'))
    )
    with op.batch_alter_table('live_streams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_streams_host_id'), ['host_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_streams_status'), ['status'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('PENDING_PAYMENT', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED', name='order_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('shipping_fee', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('user_email', sa.String(length=320), nullable=True),
    sa.Column('depositor_name', sa.String(length=100), nullable=False),
    sa.Column('instagram_id', sa.String(length=64), nullable=True),
    sa.Column('shipping_address', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('subtotal >= 0 AND shipping_fee >= 0', name=op.f('ck_orders_amounts_non_negative')),
    sa.CheckConstraint('total = subtotal + shipping_fee', name=op.f('ck_orders_total_is_sum')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_orders_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('user_id', 'idempotency_key', name='uq_orders_user_id_idempotency_key')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_orders_user_id_created_at', ['user_id', 'created_at'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('stream_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('original_price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('image_url', sa.String(length=2048), nullable=True),
    sa.Column('images', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('AVAILABLE', 'SOLD_OUT', 'HIDDEN', name='product_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('hold_minutes', sa.Integer(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('hold_minutes >= 0', name=op.f('ck_products_hold_minutes_non_negative')),
    sa.CheckConstraint('original_price IS NULL OR original_price >= 0', name=op.f('ck_products_original_price_non_negative')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_products_price_non_negative')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_products_stock_non_negative')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_products_version_positive')),
    sa.ForeignKeyConstraint(['stream_id'], ['live_streams.id'], name=op.f('fk_products_stream_id_live_streams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_stream_id'), ['stream_id'], unique=False)
        batch_op.create_index('ix_products_stream_id_status', ['stream_id', 'status'], unique=False)

    # live_streams and products reference each other: the featured-product key is added once
    # both tables exist (batch mode, so that SQLite can do it too).
    with op.batch_alter_table('live_streams', schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f('fk_live_streams_featured_product_id_products'), 'products',
            ['featured_product_id'], ['id'], ondelete='SET NULL')

    op.create_table('product_variants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('color', sa.String(length=50), nullable=True),
    sa.Column('size', sa.String(length=50), nullable=True),
    sa.Column('label', sa.String(length=100), nullable=True),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price >= 0', name=op.f('ck_product_variants_price_non_negative')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_product_variants_stock_non_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_variants_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_variants')),
    sa.UniqueConstraint('product_id', 'color', 'size', 'label', name='uq_product_variants_options')
    )
    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_variants_product_id'), ['product_id'], unique=False)

    op.create_table('cart_holds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('ACTIVE', 'EXPIRED', 'ORDERED', 'RELEASED', name='hold_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source', sa.Enum('CART', 'WAITLIST', name='hold_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_cart_holds_quantity_positive')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_cart_holds_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cart_holds_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_cart_holds_variant_id_product_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_holds'))
    )
    with op.batch_alter_table('cart_holds', schema=None) as batch_op:
        batch_op.create_index('ix_cart_holds_product_id_status_expires_at', ['product_id', 'status', 'expires_at'], unique=False)
        batch_op.create_index('ix_cart_holds_status_expires_at', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_cart_holds_user_id_status', ['user_id', 'status'], unique=False)

    op.create_table('order_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('variant_id', sa.Uuid(), nullable=True),
    sa.Column('stream_id', sa.Uuid(), nullable=True),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('variant_label', sa.String(length=200), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_items_quantity_positive')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_order_items_unit_price_non_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_order_items_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stream_id'], ['live_streams.id'], name=op.f('fk_order_items_stream_id_live_streams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_order_items_variant_id_product_variants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items'))
    )
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_items_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_items_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_items_stream_id'), ['stream_id'], unique=False)

    op.create_table('waitlist_entries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('WAITING', 'PROMOTED', 'COMPLETED', 'CANCELLED', 'EXPIRED', name='waitlist_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('hold_id', sa.Uuid(), nullable=True),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_waitlist_entries_quantity_positive')),
    sa.ForeignKeyConstraint(['hold_id'], ['cart_holds.id'], name=op.f('fk_waitlist_entries_hold_id_cart_holds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_waitlist_entries_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_waitlist_entries_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_waitlist_entries_variant_id_product_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries'))
    )
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_entries_product_id_status_created_at', ['product_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_waitlist_entries_user_id_status', ['user_id', 'status'], unique=False)



def downgrade():
    with op.batch_alter_table('live_streams', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_live_streams_featured_product_id_products'), type_='foreignkey')

    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_entries_user_id_status')
        batch_op.drop_index('ix_waitlist_entries_product_id_status_created_at')

    op.drop_table('waitlist_entries')
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_items_stream_id'))
        batch_op.drop_index(batch_op.f('ix_order_items_product_id'))
        batch_op.drop_index(batch_op.f('ix_order_items_order_id'))

    op.drop_table('order_items')
    with op.batch_alter_table('cart_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_cart_holds_user_id_status')
        batch_op.drop_index('ix_cart_holds_status_expires_at')
        batch_op.drop_index('ix_cart_holds_product_id_status_expires_at')

    op.drop_table('cart_holds')
    with op.batch_alter_table('product_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_variants_product_id'))

    op.drop_table('product_variants')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('ix_products_stream_id_status')
        batch_op.drop_index(batch_op.f('ix_products_stream_id'))
        batch_op.drop_index('ix_products_status_created_at')

    op.drop_table('products')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_user_id_created_at')
        batch_op.drop_index('ix_orders_status_created_at')

    op.drop_table('orders')
    with op.batch_alter_table('live_streams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_streams_status'))
        batch_op.drop_index(batch_op.f('ix_live_streams_host_id'))

    op.drop_table('live_streams')
    with op.batch_alter_table('chat_moderations', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_moderations_stream_key_target_user_id')

    op.drop_table('chat_moderations')
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_auth_sessions_previous_refresh_hash'))
        batch_op.drop_index(batch_op.f('ix_auth_sessions_expires_at'))

    op.drop_table('auth_sessions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_status_created_at')

    op.drop_table('users')
    op.drop_table('system_config')
    op.drop_table('order_day_counters')
