"""products.max_per_buyer: the most units one user may hold and buy of a product

Revision ID: 0003_max_per_buyer
Revises: 0001
Create Date: 2026-12-01 21:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_max_per_buyer'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_per_buyer', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_products_max_per_buyer_positive'), 'max_per_buyer IS NULL OR max_per_buyer > 0'
        )


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_products_max_per_buyer_positive'), type_='check')
        batch_op.drop_column('max_per_buyer')
