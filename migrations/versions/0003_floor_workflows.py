"""floor workflows: tasks, lines, confirmations, discrepancies, policies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 01:58:28.002564
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow', sa.String(length=20), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('policy', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('parent_task_id', sa.Integer(), nullable=True),
    sa.Column('start_seq', sa.BigInteger(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_tasks_created_by_users')),
    sa.ForeignKeyConstraint(['parent_task_id'], ['tasks.id'], name=op.f('fk_tasks_parent_task_id_tasks')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_tasks_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_warehouse_id'), ['warehouse_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_workflow'), ['workflow'], unique=False)

    op.create_table('verification_policies',
    sa.Column('workflow', sa.String(length=20), nullable=False),
    sa.Column('policy', sa.String(length=20), nullable=False),
    sa.Column('sample_percent', sa.Integer(), nullable=False),
    sa.Column('two_person_from_value_minor', sa.Integer(), nullable=True),
    sa.Column('tolerance_units', sa.Integer(), nullable=False),
    sa.Column('tolerance_percent', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('sample_percent BETWEEN 0 AND 100', name=op.f('ck_verification_policies_sample_percent_range')),
    sa.CheckConstraint('tolerance_percent >= 0 AND tolerance_units >= 0', name=op.f('ck_verification_policies_tolerance_non_negative')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_verification_policies_updated_by_users')),
    sa.PrimaryKeyConstraint('workflow', name=op.f('pk_verification_policies'))
    )
    op.create_table('task_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('to_location_id', sa.Integer(), nullable=True),
    sa.Column('expected_quantity', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('needs_second_person', sa.Boolean(), nullable=False),
    sa.Column('confirmed_quantity', sa.Integer(), nullable=True),
    sa.Column('posted_seq', sa.BigInteger(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint('expected_quantity IS NULL OR expected_quantity >= 0', name=op.f('ck_task_lines_expected_non_negative')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_task_lines_item_id_items')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_task_lines_location_id_locations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_task_lines_lot_id_lots')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_lines_task_id_tasks')),
    sa.ForeignKeyConstraint(['to_location_id'], ['locations.id'], name=op.f('fk_task_lines_to_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_lines')),
    sa.UniqueConstraint('task_id', 'line_no', name=op.f('uq_task_lines_task_id_line_no'))
    )
    with op.batch_alter_table('task_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_lines_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_lines_task_id'), ['task_id'], unique=False)

    op.create_table('confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('lot_code', sa.String(length=64), nullable=True),
    sa.Column('expiry', sa.String(length=10), nullable=True),
    sa.Column('scanned_location', sa.String(length=64), nullable=True),
    sa.Column('scanned_item', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('device', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_confirmations_quantity_non_negative')),
    sa.ForeignKeyConstraint(['line_id'], ['task_lines.id'], name=op.f('fk_confirmations_line_id_task_lines')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_confirmations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_confirmations')),
    sa.UniqueConstraint('line_id', 'round', 'stage', name=op.f('uq_confirmations_line_id_round_stage'))
    )
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_confirmations_line_id'), ['line_id'], unique=False)

    op.create_table('discrepancies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('expected_quantity', sa.Integer(), nullable=True),
    sa.Column('counted_quantity', sa.Integer(), nullable=True),
    sa.Column('stock_moved_since_start', sa.Boolean(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.String(length=200), nullable=True),
    sa.Column('reason_code', sa.String(length=40), nullable=True),
    sa.Column('posted_seq', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_discrepancies_decided_by_users')),
    sa.ForeignKeyConstraint(['line_id'], ['task_lines.id'], name=op.f('fk_discrepancies_line_id_task_lines')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_discrepancies_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discrepancies'))
    )
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discrepancies_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_discrepancies_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_discrepancies_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discrepancies_task_id'))
        batch_op.drop_index(batch_op.f('ix_discrepancies_status'))
        batch_op.drop_index(batch_op.f('ix_discrepancies_line_id'))

    op.drop_table('discrepancies')
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_confirmations_line_id'))

    op.drop_table('confirmations')
    with op.batch_alter_table('task_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_lines_task_id'))
        batch_op.drop_index(batch_op.f('ix_task_lines_status'))

    op.drop_table('task_lines')
    op.drop_table('verification_policies')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_workflow'))
        batch_op.drop_index(batch_op.f('ix_tasks_warehouse_id'))

    op.drop_table('tasks')
