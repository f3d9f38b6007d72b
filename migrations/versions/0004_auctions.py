"""auctions and their bids: the auction row (the lock every bid takes) and every answer given

Revision ID: 0004_auctions
Revises: 0003_max_per_buyer
Create Date: 2026-12-01 23:40:25.848466

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_auctions'
down_revision = '0003_max_per_buyer'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('auctions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('variant_id', sa.Uuid(), nullable=True),
    sa.Column('stream_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('starting_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('increment', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('anti_snipe_seconds', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('STANDARD', 'SUDDEN_DEATH', name='auction_mode', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('SCHEDULED', 'RUNNING', 'ENDED', 'CANCELLED', name='auction_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('current_price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('leader_id', sa.Uuid(), nullable=True),
    sa.Column('leader_ceiling', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('bid_count', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('winner_id', sa.Uuid(), nullable=True),
    sa.Column('final_price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.String(length=20), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('anti_snipe_seconds >= 0', name=op.f('ck_auctions_anti_snipe_non_negative')),
    sa.CheckConstraint('duration_seconds > 0', name=op.f('ck_auctions_duration_positive')),
    sa.CheckConstraint('increment > 0', name=op.f('ck_auctions_increment_positive')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_auctions_quantity_positive')),
    sa.CheckConstraint('starting_price >= 0', name=op.f('ck_auctions_starting_price_non_negative')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_auctions_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['leader_id'], ['users.id'], name=op.f('fk_auctions_leader_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_auctions_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_auctions_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stream_id'], ['live_streams.id'], name=op.f('fk_auctions_stream_id_live_streams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['product_variants.id'], name=op.f('fk_auctions_variant_id_product_variants'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['winner_id'], ['users.id'], name=op.f('fk_auctions_winner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auctions')),
    sa.UniqueConstraint('order_id', name=op.f('uq_auctions_order_id'))
    )
    with op.batch_alter_table('auctions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auctions_product_id'), ['product_id'], unique=False)
        batch_op.create_index('ix_auctions_status_ends_at', ['status', 'ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_auctions_stream_id'), ['stream_id'], unique=False)

    op.create_table('auction_bids',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('auction_id', sa.Uuid(), nullable=False),
    sa.Column('bidder_id', sa.Uuid(), nullable=False),
    sa.Column('bid_id', sa.String(length=64), nullable=True),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('proxy', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('max_amount', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['auction_id'], ['auctions.id'], name=op.f('fk_auction_bids_auction_id_auctions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['bidder_id'], ['users.id'], name=op.f('fk_auction_bids_bidder_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auction_bids')),
    sa.UniqueConstraint('auction_id', 'bidder_id', 'bid_id', name='uq_auction_bids_auction_bidder_bid'),
    sa.UniqueConstraint('auction_id', 'seq', name='uq_auction_bids_auction_seq')
    )


def downgrade():
    op.drop_table('auction_bids')
    with op.batch_alter_table('auctions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auctions_stream_id'))
        batch_op.drop_index('ix_auctions_status_ends_at')
        batch_op.drop_index(batch_op.f('ix_auctions_product_id'))

    op.drop_table('auctions')
