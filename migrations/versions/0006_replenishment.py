"""replenishment rules, purchase orders

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('purchase_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('receipt_task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['receipt_task_id'], ['tasks.id'], name=op.f('fk_purchase_orders_receipt_task_id_tasks')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_purchase_orders_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_orders'))
    )
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_orders_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_orders_warehouse_id'), ['warehouse_id'], unique=False)

    op.create_table('replenishment_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('location_key', sa.Integer(), nullable=False),
    sa.Column('minimum', sa.Integer(), nullable=False),
    sa.Column('maximum', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=120), nullable=True),
    sa.Column('low', sa.Boolean(), nullable=False),
    sa.Column('open_task_id', sa.Integer(), nullable=True),
    sa.Column('open_purchase_order_id', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('minimum >= 0 AND maximum >= minimum AND maximum > 0', name=op.f('ck_replenishment_rules_levels_ordered')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_replenishment_rules_item_id_items')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_replenishment_rules_location_id_locations')),
    sa.ForeignKeyConstraint(['open_purchase_order_id'], ['purchase_orders.id'], name=op.f('fk_replenishment_rules_open_purchase_order_id_purchase_orders')),
    sa.ForeignKeyConstraint(['open_task_id'], ['tasks.id'], name=op.f('fk_replenishment_rules_open_task_id_tasks')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_replenishment_rules_updated_by_users')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_replenishment_rules_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replenishment_rules')),
    sa.UniqueConstraint('item_id', 'warehouse_id', 'location_key', name=op.f('uq_replenishment_rules_item_id_warehouse_id_location_key'))
    )
    with op.batch_alter_table('replenishment_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replenishment_rules_item_id'), ['item_id'], unique=False)

    op.create_table('purchase_order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_order_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_purchase_order_lines_item_id_items')),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_orders.id'], name=op.f('fk_purchase_order_lines_purchase_order_id_purchase_orders')),
    sa.ForeignKeyConstraint(['rule_id'], ['replenishment_rules.id'], name=op.f('fk_purchase_order_lines_rule_id_replenishment_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order_lines'))
    )
    with op.batch_alter_table('purchase_order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_order_lines_purchase_order_id'), ['purchase_order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('purchase_order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_order_lines_purchase_order_id'))

    op.drop_table('purchase_order_lines')
    with op.batch_alter_table('replenishment_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replenishment_rules_item_id'))

    op.drop_table('replenishment_rules')
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_orders_warehouse_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_orders_status'))

    op.drop_table('purchase_orders')
